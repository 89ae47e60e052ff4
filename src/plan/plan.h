/* plan.h — the validated plan: which roles run, in which dependency order, with which
 * environment. Built from a config (which it then owns) and the process environment; pure but
 * for user lookups. The supervisor runs a plan; reload builds a new one and swaps it in. */
#ifndef ROSTER_PLAN_H
#define ROSTER_PLAN_H

#include <stdbool.h>
#include <sys/types.h>

#include "plan/budget.h"
#include "config/config.h"
#include "base/diag.h"
#include "base/envmap.h"

struct plan_dep {
    size_t role; /* index into plan->roles */
    enum dep_cond cond;
};

struct plan_role {
    struct role_config *cfg; /* points into plan->cfg */
    bool selected;
    struct plan_dep *deps; /* only dependencies on selected roles */
    size_t ndeps;
    envmap env; /* the environment every instance starts from */
    bool has_user;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    int ngroups;
    int pool_size;     /* Postgres connections per copy; 0: none handed out */
    int copies;        /* fleet-wide copies for the budget */
    char *db_url;      /* the URL for url_env, rewritten when url_param is set */
    char *fingerprint; /* everything that makes a restart necessary when it changes */
};

struct plan {
    int refs;
    struct roster_config cfg;
    struct plan_role *roles; /* same order as cfg.roles */
    size_t nroles;
    size_t *order; /* selected role indices in start order */
    size_t norder;
    strvec notes; /* things worth one log line at startup */
    struct budget_plan budget;
    bool budget_known; /* false when budget: auto waits for the server */
    char *pg_own_url;  /* the URL roster itself connects with (foreign params stripped) */
    char *redis_url;   /* normalized REDIS_URL, or NULL */
};

#define PG_DEFAULT_SUPERUSER_RESERVED 3

struct plan_opts {
    const char *roles; /* comma list from --role or ROSTER_ROLES; NULL: all */
    char **environ_;
    int max_connections; /* budget: auto with a known server max_connections (0: unknown) */
};

/* Builds a plan from cfg, which it takes over (cfg is zeroed). Returns NULL with d filled. */
struct plan *plan_build(struct roster_config *cfg, const struct plan_opts *opts, diags *d);
/* Recomputes the budget part once the server's usable connections are known; 0 or -1 with d. */
int plan_apply_budget(struct plan *p, int usable, diags *d);
struct plan *plan_ref(struct plan *p);
void plan_unref(struct plan *p);

/* The complete environment of one copy of a role (caller frees with envmap_free). */
void plan_instance_env(const struct plan *p, size_t role, int instance, envmap *out);
/* "api" or "worker.1" (instance suffix only when the role has several). Caller frees. */
char *plan_instance_label(const struct plan *p, size_t role, int instance);
ssize_t plan_find_role(const struct plan *p, const char *name);
/* True when the role takes a share of the Postgres budget (and so waits for it). */
bool plan_role_in_budget(const struct plan *p, size_t role);
/* Prints the resolved plan, secrets redacted, as `roster check` shows it. */
void plan_print(const struct plan *p, FILE *out);

#endif
