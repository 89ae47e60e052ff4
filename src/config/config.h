/* config.h — the configuration as the user wrote it, after interpolation and type checks:
 * a roster.yaml (config_yaml.c) or a Procfile (procfile.c). Cross-role validation (dependencies,
 * selection, the Postgres plan) happens in plan.c. Everything here is owned by the config and
 * freed by config_free. */
#ifndef ROSTER_CONFIG_H
#define ROSTER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "base/diag.h"
#include "base/envmap.h"
#include "base/util.h"

/* The longest path a unix socket binds (sun_path less its NUL): 107 bytes on Linux. */
#define CONFIG_SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

enum role_kind { ROLE_SERVICE, ROLE_ONESHOT };
enum restart_policy { RESTART_DEFAULT, RESTART_ALWAYS, RESTART_ON_FAILURE, RESTART_NEVER };
enum give_up_then { GIVEUP_EXIT, GIVEUP_STAY };
enum dep_cond { DEP_STARTED, DEP_READY, DEP_COMPLETED };
enum log_format { LOG_TEXT, LOG_JSON };
enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
enum watch_restart { WATCH_RESTART_ROLE, WATCH_RESTART_DEPENDENTS };
enum probe_kind { PROBE_NONE, PROBE_HTTP, PROBE_TCP, PROBE_EXEC, PROBE_LOG, PROBE_NOTIFY };

struct dep {
    char *role;
    enum dep_cond cond;
    src_pos pos;
};

/* A readiness (ready:) or liveness (live:) check. */
struct probe_config {
    enum probe_kind kind;
    char *target;                /* URL, host:port, shell command or regex */
    /* http and tcp targets are kept as written, ${VAR} unexpanded: each copy of a role expands
     * them with its own environment (plan_probe_target), so ${PORT} is the copy's port. */
    src_pos target_pos; /* http/tcp: where the target is written (its opening quote) */
    int target_col;     /* http/tcp: column of its first character; 0 when it spans lines */
    uint64_t every_ms;           /* how often to try */
    uint64_t timeout_ms;         /* ready: give up starting after this; live: one attempt's limit */
    uint64_t attempt_timeout_ms; /* ready: one attempt's limit */
    int failures;                /* live: consecutive failures that restart the role */
    uint64_t watchdog_ms;        /* live: sd_notify WATCHDOG=1 interval (0: off) */
    src_pos pos;
};

enum pg_mode { PGROLE_DEFAULT, PGROLE_WEIGHT, PGROLE_FIXED, PGROLE_OFF };

struct role_pg_config {
    enum pg_mode mode; /* DEFAULT: a weight of 1 when the app has postgres configured */
    int weight;
    int connections;
    strvec pool_env; /* extra names that receive the pool size */
    char *url_env;   /* default DATABASE_URL */
    char *url_param; /* e.g. connection_limit; NULL: the URL is left alone */
    src_pos pos;
};

struct role_config {
    char *name;
    src_pos pos;
    enum role_kind kind;
    char *shell; /* command as a string: run by /bin/sh -c */
    strvec argv; /* command as a list: exec'd as is */
    src_pos command_pos;
    char *cwd;
    char *user;
    src_pos user_pos;
    envmap env;      /* the role's env: block, interpolated */
    envmap file_env; /* variables from the role's env_file entries */
    strvec env_files;
    int port; /* -1: none */
    int instances;
    struct dep *deps;
    size_t ndeps;
    enum restart_policy restart;
    uint64_t backoff_initial_ms, backoff_max_ms, backoff_reset_ms;
    int give_up_after;
    uint64_t give_up_within_ms;
    enum give_up_then give_up_then;
    int stop_signal;
    uint64_t stop_timeout_ms;
    uint64_t max_memory; /* bytes; 0: no limit */
    struct probe_config ready;
    struct probe_config live;
    struct role_pg_config pg;
    bool lock_postgres;
    bool wait_postgres, wait_redis;
    /* watch: paths and globs whose changes restart the role, made absolute against its cwd (or
     * the config's directory); watch_ignore: patterns whose matches never do (node_modules and
     * .git are ignored besides, by the watcher). */
    strvec watch;
    strvec watch_ignore;
    uint64_t watch_debounce_ms;
    enum watch_restart watch_restart;
};

struct pg_instances {
    char *role;
    int copies;
    src_pos pos;
};

struct postgres_config {
    bool enabled;
    char *url;
    bool budget_auto;
    int budget;
    int headroom;
    struct pg_instances *instances;
    size_t ninstances;
    uint64_t sample_every_ms;
    bool required;
    src_pos pos, budget_pos;
};

struct redis_config {
    bool enabled;
    char *url; /* normalized: redis://[:password@]host:port[/db] */
    bool required;
    src_pos pos;
};

struct roster_config {
    char *path; /* the file that was loaded; positions point into it */
    char *dir;  /* its directory, for relative env_file and cwd */
    bool procfile;
    char *app;
    strvec env_files;
    envmap env;      /* the top-level env: block */
    envmap file_env; /* variables read from env files that the environment lacked */
    enum log_format log_format;
    bool timestamps;
    enum color_mode color;
    uint64_t shutdown_timeout_ms;
    char *health_listen;  /* "host:port", NULL: no health server */
    char *control_socket; /* path, at most CONFIG_SOCKET_PATH_MAX bytes; defaults per app */
    struct postgres_config pg;
    struct redis_config redis;
    struct role_config *roles;
    size_t nroles;
};

/* Options that come from the command line and change how a config is read. */
struct config_opts {
    const char *path;     /* -c; NULL: search */
    const char *procfile; /* --procfile */
    strvec env_files;     /* --env-file, read before the config's own env_file */
    char **environ_;      /* the process environment (NULL: empty) */
};

/* Finds the config file: -c, $ROSTER_CONFIG, ./roster.yaml, ./config/roster.yaml, ./Procfile.
 * Returns an allocated path and sets *procfile, or NULL with a message added to d. */
char *config_locate(const struct config_opts *opts, bool *procfile, diags *d);

/* Loads and checks the file opts names (or finds one). Returns 0, or -1 with d filled.
 * On success cfg is filled and owned by the caller (config_free). */
int config_load(const struct config_opts *opts, struct roster_config *cfg, diags *d);

/* Loads a roster.yaml from an in-memory text (used by config_load and by tests). */
int config_load_yaml(const char *path, const char *text, size_t len, const envmap *vars,
                     struct roster_config *cfg, diags *d);
/* Loads a Procfile from an in-memory text. */
int config_load_procfile(const char *path, const char *text, size_t len, const envmap *vars,
                         struct roster_config *cfg, diags *d);

/* Settles what depends on several keys (restart by kind, url_env); both loaders call it. */
void config_finish_roles(struct roster_config *cfg);
/* Fills defaults for a role (shared by both loaders). */
void config_role_defaults(struct role_config *r);
/* Sets the config's defaults (shared by both loaders). */
void config_defaults(struct roster_config *cfg);
struct role_config *config_find_role(const struct roster_config *cfg, const char *name);
void config_free(struct roster_config *cfg);

const char *dep_cond_name(enum dep_cond c);
const char *restart_policy_name(enum restart_policy p);
const char *probe_kind_name(enum probe_kind k);

#endif
