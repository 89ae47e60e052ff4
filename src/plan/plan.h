/* plan.h — the validated plan: which roles run, in which dependency order, with which
 * environment. Built from a config (which it then owns) and what plan_opts passes in: roster's
 * environment, a user lookup and libpq's parameter list, so building is pure and tests give
 * fakes. A plan is never changed once built: the supervisor runs one, a reload builds a new one
 * and swaps it in, and a budget learnt at run time makes a new one (plan_with_budget). */
#ifndef ROSTER_PLAN_H
#define ROSTER_PLAN_H

#include <stdbool.h>
#include <sys/types.h>

#include "plan/budget.h"
#include "config/config.h"
#include "base/diag.h"
#include "base/envmap.h"
#include "base/strmap.h"

struct plan_dep {
    size_t role; /* index into plan->roles */
    enum dep_cond cond;
};

struct plan_role {
    const struct role_config *cfg; /* points into plan->cfg */
    bool selected;
    struct plan_dep *deps; /* only dependencies on selected roles */
    size_t ndeps;
    envmap env; /* the environment every instance starts from */
    /* What is exec'd: a list command as written; a string command split into its words when it
     * needs no shell (base/shellwords.h), else /bin/sh -c STRING. */
    strvec argv;
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

struct plan_config;

struct plan {
    int refs; /* the one field that changes after build (plan_ref, plan_unref) */
    /* The config as loaded, shared read-only by the plans made from one build (owned by
     * shared: a plan made by plan_with_budget holds the same pointers, not a copy). */
    struct roster_config cfg;
    struct plan_config *shared;
    struct plan_role *roles; /* same order as cfg.roles */
    size_t nroles;
    strmap role_index; /* role name -> index into roles (names borrowed from cfg) */
    size_t *order; /* selected role indices in start order */
    size_t norder;
    strvec notes; /* things worth one log line at startup */
    struct budget_plan budget;
    bool budget_known; /* false when budget: auto waits for the server */
    char *pg_own_url;  /* the URL roster itself connects with (foreign params stripped) */
    char *redis_url;   /* normalized REDIS_URL, or NULL */
    envmap vars;       /* what ${VAR} sees in the config: roster's environment, then env files */
};

#define PG_DEFAULT_SUPERUSER_RESERVED 3

/* A user a role runs as, as the system's user database knows it. */
struct plan_user {
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups (malloc'd; the plan takes them over) */
    int ngroups;
};

/* Looks up a user name or numeric uid: 0 with *out filled, -ENOENT when there is no such user,
 * another negative errno when the lookup failed. */
typedef int (*plan_user_lookup)(void *ctx, const char *name, struct plan_user *out);
/* libpq's connection keywords (what PQconndefaults lists): a NULL-terminated list that outlives
 * every plan, or NULL with err filled (libpq cannot be loaded). Asked for only when the config
 * has a postgres: section. */
typedef const char *const *(*plan_pq_keywords)(void *ctx, char *err, size_t errlen);

/* The file system as a role will see it: whether path is a directory (0, or a negative errno:
 * -ENOENT, -ENOTDIR...), and whether prog would be found and executable along path ($PATH's
 * syntax) from the directory cwd (NULL: roster's own), as the exec will look for it (0, -ENOENT,
 * -EACCES). */
typedef int (*plan_check_dir)(void *ctx, const char *path);
typedef int (*plan_find_program)(void *ctx, const char *prog, const char *path, const char *cwd);

/* Everything a plan is built from besides the config. The caller supplies the real ones
 * (cli/plan_inputs.h); tests pass fakes. */
struct plan_opts {
    const char *roles;   /* comma list from --role or ROSTER_ROLES; NULL: all */
    const envmap *env;   /* roster's environment (borrowed; NULL: empty) */
    int max_connections; /* budget: auto with a known server max_connections (0: unknown) */
    /* NULL: roster cannot switch users (it does not run as root), so user: is noted and
     * ignored */
    plan_user_lookup lookup_user;
    void *user_ctx;
    plan_pq_keywords pq_keywords;
    void *pq_ctx;
    /* NULL: the paths of selected roles are not checked (a test that needs no file system).
     * A cwd that is no directory is an error; a command not found is a note, since a role it
     * depends on (a build) may create it. Roles that are not selected run elsewhere, where
     * the paths may differ: they are not checked. */
    plan_check_dir check_dir;
    plan_find_program find_program;
    void *fs_ctx;
    /* A plan to print or count (check, budget, schedules), not to run. Nothing reads it since
     * builtin roles run (roles/scheduler.c); kept for the checks a run alone needs. */
    bool plan_only;
};

/* Builds a plan from cfg, which it takes over (cfg is zeroed). Returns NULL with d filled. */
struct plan *plan_build(struct roster_config *cfg, const struct plan_opts *opts, diags *d);
/* A new plan: p with the Postgres budget computed for usable connections (the server's limit,
 * once known). p is left as it was. Returns NULL with d filled when the budget cannot hold. */
struct plan *plan_with_budget(const struct plan *p, int usable, diags *d);
/* References: a plan is freed with its last plan_unref. They take const plans because the
 * count is the only thing that changes in a built plan. */
struct plan *plan_ref(const struct plan *p);
void plan_unref(const struct plan *p);

/* The complete environment of one copy of a role (caller frees with envmap_free). */
void plan_instance_env(const struct plan *p, size_t role, int instance, envmap *out);
/* The target of a role's http or tcp probe (ready when live is false) for one copy: the URL or
 * host:port as written, with ${VAR} expanded from that copy's environment (so ${PORT} is the
 * copy's port), then from the config's variables. Returns 0 with *out allocated (caller frees),
 * or -1 with err filled. */
int plan_probe_target(const struct plan *p, size_t role, int instance, bool live, char **out,
                      char *err, size_t errlen);
/* "api" or "worker.1" (instance suffix only when the role has several). Caller frees. */
char *plan_instance_label(const struct plan *p, size_t role, int instance);
ssize_t plan_find_role(const struct plan *p, const char *name);
/* True when the role takes a share of the Postgres budget (and so waits for it). */
bool plan_role_in_budget(const struct plan *p, size_t role);
/* Prints the resolved plan, secrets redacted, as `roster check` shows it. */
void plan_print(const struct plan *p, FILE *out);

/* In a builtin role's environment: roster's own PORT, which the role's process interpolates the
 * config with (roster's PORT is not passed on to roles). */
#define ROSTER_CONFIG_PORT_VAR "ROSTER_CONFIG_PORT"

#endif
