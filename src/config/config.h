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
/* What a role's failure for good (given up, or failed and not restarted) does to the run: exit
 * stops every role and ends it; stay keeps the role down and roster up (/health failing) even
 * when nothing else runs; continue lets the others carry on, and the run ends once every role has
 * ended (concurrently's way, and process-compose's). */
enum give_up_then { GIVEUP_EXIT, GIVEUP_STAY, GIVEUP_CONTINUE };
/* exit_on_end: whether a role's end for good (no restart follows) stops the others and ends the
 * run: never; always (concurrently's --kill-others, process-compose's exit_on_end); only when it
 * ended unsuccessfully (--kill-others-on-fail). */
enum exit_on_end { EXIT_ON_END_NEVER, EXIT_ON_END_ALWAYS, EXIT_ON_END_FAILURE };
/* exit.success: whose ends make the run's exit code (concurrently's --success). */
enum exit_success {
    EXIT_SUCCESS_ALL,   /* every role that ended on its own ended well; else the first failure's */
    EXIT_SUCCESS_FIRST, /* the first role to end on its own: its status */
    EXIT_SUCCESS_LAST,  /* the last one to end on its own */
    EXIT_SUCCESS_ROLE,  /* the named role: its status (it must have ended) */
    EXIT_SUCCESS_NOT_ROLE, /* every role but the named one ended well */
};
/* exit.interrupted: what a run stopped by Ctrl-C (SIGINT) exits with: the roles' status as
 * exit.success reads it (a crash loop interrupted exits with the crash's code, as foreman does),
 * or success whatever happened (concurrently's way). SIGTERM and SIGQUIT, a platform stopping
 * roster, exit 0 either way. */
enum exit_interrupted { EXIT_INTERRUPTED_STATUS, EXIT_INTERRUPTED_SUCCESS };
enum dep_cond { DEP_STARTED, DEP_READY, DEP_COMPLETED };
enum log_format { LOG_TEXT, LOG_JSON };
/* log.max_line: a written line's bytes, prefix included (App Platform forwards 2 KiB) */
#define LOG_MAX_LINE_DEFAULT (64L << 10)
#define LOG_MAX_LINE_MIN     256L
#define LOG_MAX_LINE_MAX     (1L << 20)
enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
enum watch_restart { WATCH_RESTART_ROLE, WATCH_RESTART_DEPENDENTS };
enum probe_kind { PROBE_NONE, PROBE_HTTP, PROBE_TCP, PROBE_EXEC, PROBE_LOG, PROBE_NOTIFY };
/* builtin: a role that is roster's own program rather than a command (SPEC §9) */
enum role_builtin { BUILTIN_NONE, BUILTIN_SCHEDULER, BUILTIN_WORKER, BUILTIN_API };
/* history.keep's default: 30 days */
#define CONFIG_HISTORY_KEEP_DEFAULT_MS (30ULL * 24 * 3600 * 1000)

/* One entry of a scheduler role's schedules: when (cron in tz) and what (a command, or an http
 * request "METHOD URL"). Read and checked here; roles/scheduler.c runs them. */
/* overlap: an occurrence that comes while the previous run still goes is skipped, or runs too */
enum schedule_overlap { OVERLAP_SKIP, OVERLAP_ALLOW };
#define SCHEDULE_MAX_HEADERS 32          /* an http action's headers */
#define SCHEDULE_MAX_EXPECT  16          /* an http action's expected statuses */
#define SCHEDULE_MAX_BODY    (64u << 10) /* an http action's body, in bytes */
/* http: as a mapping ({method, url, headers, body, expect}); method and url end up in http. */
struct schedule_http {
    char *method, *url;              /* as read (the loader's scratch; http holds both) */
    strvec headers;                  /* "Name: value", each checked (a token, no CR or LF) */
    char *body;                      /* NULL: none (a POST, PUT or PATCH then sends an empty one) */
    int expect[SCHEDULE_MAX_EXPECT]; /* the statuses that are success; none: any 2xx */
    size_t nexpect;
};
/* enqueue: {queue, type, payload}: a job put on the app's queue in Redis (the job store the
 * worker role runs from). */
struct schedule_enqueue {
    char *queue, *type; /* [A-Za-z0-9_.:-]{1,64}, as the job store spells names */
    char *payload;      /* JSON text (a YAML value made JSON, or a string that is JSON) */
    src_pos pos;        /* where enqueue: is written; line 0: no enqueue action */
};
/* catch_up: after downtime, the most recent missed occurrence runs once at start (last), or not */
enum schedule_catch_up { CATCH_UP_NONE, CATCH_UP_LAST };
/* redis_down: with Redis configured but unreachable at fire time, an occurrence is skipped (no
 * replica can claim it) or run here (perhaps on several replicas) */
enum sched_redis_down { REDIS_DOWN_SKIP, REDIS_DOWN_RUN };
struct schedule_config {
    char *name;
    src_pos pos;
    char *cron; /* as written; cron_parse accepted it */
    char *tz;   /* an IANA zone tz_load found; NULL: TZ of roster's environment, else UTC */
    char *shell;  /* command: as a string */
    strvec argv;  /* command: as a list */
    char *http;   /* "METHOD URL": as written, or the mapping form's method and url */
    struct schedule_http req; /* the mapping form's rest (empty for the string form) */
    struct schedule_enqueue enq; /* enqueue: a job on the app's queue in Redis */
    uint64_t timeout_ms; /* 0: none */
    enum schedule_overlap overlap;
    enum schedule_catch_up catch_up;
};

/* A worker role's handler of one job type (issue 13): a command run once per job in a process
 * group of its own, or an http request to the app. Read and checked here; roles/worker.c runs
 * them. */
struct handler_config {
    char *type;
    src_pos pos;
    char *shell;         /* command: as a string */
    strvec argv;         /* command: as a list */
    char *method, *url;  /* http: method (default POST) and URL */
    strvec headers;      /* http: extra "Name: value" lines */
    char *secret;        /* http: signs each request (Roster-Signature); NULL: none */
    uint64_t timeout_ms; /* 0: the default (none for a command; WORKER_HTTP_TIMEOUT_MS) */
    uint64_t max_memory; /* command: the group's RSS limit in bytes; 0: none */
};
/* A queue a worker fetches from, and its share of the fetches. */
struct queue_weight {
    char *name;
    int weight;
};
#define WORKER_MAX_QUEUES      64
#define WORKER_MAX_HANDLERS    1000
#define WORKER_MAX_CONCURRENCY 1024
#define WORKER_HTTP_TIMEOUT_MS (5 * 60 * 1000)
/* builtin: worker — the queues it takes jobs from, how many at once, its handlers, retries and
 * the dead list. Zeros are filled with the defaults by the loader. */
struct worker_config {
    struct queue_weight *queues; /* default: default, weight 1 */
    size_t nqueues;
    int concurrency; /* default 1 */
    struct handler_config *handlers;
    size_t nhandlers;
    int max_attempts;                            /* default 10 */
    uint64_t backoff_initial_ms, backoff_max_ms; /* default 5s and 1h */
    uint64_t dead_keep_ms;                       /* default 7d */
    int dead_max;                                /* default 10000 */
};

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
    src_pos cwd_pos;
    char *user;
    src_pos user_pos;
    envmap env;      /* the role's env: block, interpolated */
    envmap file_env; /* variables from the role's env_file entries */
    strvec env_files;
    int port; /* -1: none */
    src_pos port_pos; /* where port: is written (a Procfile's: the line) */
    int instances;
    struct dep *deps;
    size_t ndeps;
    enum restart_policy restart;
    uint64_t backoff_initial_ms, backoff_max_ms, backoff_reset_ms;
    int give_up_after;
    uint64_t give_up_within_ms;
    enum give_up_then give_up_then;
    enum exit_on_end exit_on_end;
    int stop_signal;
    uint64_t stop_timeout_ms;
    uint64_t max_memory; /* bytes; 0: no limit */
    struct probe_config ready;
    struct probe_config live;
    struct role_pg_config pg;
    bool lock_postgres;
    bool wait_postgres, wait_redis;
    /* How the role's lines look: the command's name in concurrently's prefix ("" for none;
     * NULL: the role's name), its prefix color as a chalk style ("red", "bgBlue.bold",
     * "#23de43"; "" or NULL for the default: none in concurrently's look, the palette's in
     * roster's), and hide: (--hide) its lines are not shown */
    char *look_name;
    char *look_color;
    bool look_hidden;
    /* concurrently's -i: the role's stdin is a pipe roster writes to (struct instance's
     * stdin_fd), not /dev/null; every role has one when the config has input: */
    bool stdin_pipe;
    /* tty: true: the role runs under a pseudo-terminal of its own (its stdin, stdout and stderr,
     * and its controlling terminal); its output is one stream, read from the pty's master */
    bool tty;
    /* watch: paths and globs whose changes restart the role, made absolute against its cwd (or
     * the config's directory); watch_ignore: patterns whose matches never do (node_modules and
     * .git are ignored besides, by the watcher). */
    strvec watch;
    strvec watch_ignore;
    uint64_t watch_debounce_ms;
    enum watch_restart watch_restart;
    enum role_builtin builtin;
    struct schedule_config *schedules; /* builtin: scheduler */
    size_t nschedules;
    /* history.keep (builtin roles): how long the run history kept in Postgres goes back; 0: the
     * default, CONFIG_HISTORY_KEEP_DEFAULT_MS */
    uint64_t history_keep_ms;
    struct worker_config worker; /* builtin: worker */
    enum sched_redis_down redis_down; /* builtin: scheduler */
    /* builtin: api — reads (GET) without the bearer token; the request body cap in bytes (0:
     * CONFIG_API_MAX_BODY) */
    bool api_public_reads;
    uint64_t api_max_body;
};

/* The output: mapping of roster.yaml (concurrently's -p, -l, --pad-prefix, -t, -r, -g and
 * --timings; its command line fills the same fields). prefix or raw switches on concurrently's
 * look (on): each line prefixed as -p says, its event lines ("[1] exit 1 exited with code 1"). */
struct look_config {
    bool on;
    char *prefix;       /* -p's template ({index} {pid} {time} {command} {name}); "" for none;
                           NULL: concurrently's default, {name} or else {index} */
    bool brackets;      /* [ ] around the prefix (-p's keywords, not its templates) */
    int command_length; /* -l: {command} shortened to this with ".." (default 10) */
    bool pad;           /* --pad-prefix */
    char *time_format;  /* -t: a Unicode date pattern for {time} and the timings (NULL: concurrently's
                           yyyy-MM-dd HH:mm:ss.SSS) */
    bool raw;           /* -r: output only */
    bool group;         /* -g: each instance's lines held until those before it have ended */
    bool timings;       /* --timings: start and stop lines, and a table at the end */
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

/* The top-level exit: mapping: how the run's exit code is decided. */
struct exit_config {
    enum exit_success success;
    char *role; /* EXIT_SUCCESS_ROLE and EXIT_SUCCESS_NOT_ROLE: the role's name */
    src_pos role_pos;
    enum exit_interrupted interrupted;
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
    uint64_t log_max_line; /* log.max_line: bytes of a written line of a child's output */
    enum color_mode color;
    /* The dev profile (roster --dev, ROSTER_DEV=1): each role's give_up defaults are
     * config_role_dev_defaults', and a repeated identical crash is shown once. */
    bool dev;
    uint64_t shutdown_timeout_ms;
    struct exit_config exit;
    /* input: the role (ROLE, or ROLE.N for one copy) that gets the lines roster reads from its
     * stdin, "TARGET:text" lines going to TARGET (concurrently's -i); NULL: stdin is not read */
    char *input;
    src_pos input_pos;
    struct look_config look;
    /* max_processes (concurrently's -m): how many instances run at once, 0 for all; a
     * percentage of the CPUs when max_processes_percent ("50%") */
    double max_processes;
    bool max_processes_percent;
    strvec teardown; /* commands run one after another once the run is over (--teardown) */
    char *health_listen;  /* "host:port", NULL: no health server */
    char *control_socket; /* path, at most CONFIG_SOCKET_PATH_MAX bytes; defaults per app; NULL
                             with control_off */
    /* No control socket at all (concurrently's command line without --socket): config_finish
     * leaves control_socket NULL, and libmicrohttpd is not loaded for it. */
    bool control_off;
    /* control_socket is the default one, in a directory of roster's own that the server makes
     * private (0700) and refuses when another user could have made it. */
    bool control_default;
    /* Set when a load that failed left control_socket in doubt: the file unreadable, not YAML,
     * or an error in app: or control.socket. The control client trusts control_socket after a
     * failed load (a ${VAR} it lacks elsewhere in the file) only when this is false. */
    bool socket_unsure;
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
    const char *formation; /* -m/--formation NAME=N,...: Procfile mode's copies (foreman's) */
    char **environ_;      /* the process environment (NULL: empty) */
    bool dev;             /* --dev: the dev profile's defaults (roster_config.dev) */
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

/* The defaults a loaded config takes from where it lives: app (its directory's name) and the
 * control socket (config_default_socket). config_load calls it; so does a config
 * built in memory (concurrently's command line). */
void config_finish(struct roster_config *cfg, char **environ_);
/* Settles what depends on several keys (restart by kind, url_env); both loaders call it. */
void config_finish_roles(struct roster_config *cfg);
/* Checks that the copies of all the roles together (instances) are at most CONFIG_MAX_COPIES;
 * returns 0, or -1 with an error at the role that passes the limit. Both loaders call it, and
 * config_apply_formation. */
int config_check_copies(const struct roster_config *cfg, diags *d);
/* Fills defaults for a role (shared by both loaders). */
void config_role_defaults(struct role_config *r);
/* The dev profile's defaults for a role, over config_role_defaults' and under what the config
 * says: a crash loop gives up sooner (5 restarts within 30 s) and then stays down while the
 * other roles run on (give_up.then: stay), instead of stopping them all. */
#define CONFIG_DEV_GIVE_UP_AFTER     5
#define CONFIG_DEV_GIVE_UP_WITHIN_MS 30000
void config_role_dev_defaults(struct role_config *r);
/* Sets the config's defaults (shared by both loaders). */
void config_defaults(struct roster_config *cfg);
struct role_config *config_find_role(const struct roster_config *cfg, const char *name);

/* What a config may ask of roster, so that a hostile or mistaken file fails fast with an error
 * naming the limit instead of taking seconds and hundreds of megabytes (issue 10): the file's
 * size, how deep its lists and mappings nest, how many nodes its aliases stand for (a
 * billion-laughs file is a few KB of anchors), its roles and their copies. */
#define CONFIG_MAX_FILE        (1u << 20)
#define CONFIG_MAX_DEPTH       64
#define CONFIG_MAX_ALIAS_NODES 100000
#define CONFIG_MAX_ROLES       1000
#define CONFIG_MAX_SCHEDULES   1000 /* a scheduler role's schedules */
#define CONFIG_API_MAX_BODY     (1024 * 1024)      /* an api role's max_body by default */
#define CONFIG_API_MAX_BODY_MAX (64 * 1024 * 1024) /* and at most */
#define CONFIG_MAX_COPIES      10000

/* The longest role name. */
#define CONFIG_ROLE_NAME_MAX 64
/* Whether s is a role name: letters, digits, '-' and '_', at most CONFIG_ROLE_NAME_MAX bytes,
 * starting with a letter or digit. Pure. */
bool config_role_name_valid(const char *s);
/* Reads what an operator names, ROLE or ROLE.N (one copy, numbered from 0 as roster's labels
 * are: worker.0, worker.1), into name and *instance (-1: every copy). Returns 0, or -1 when s
 * is neither. A role name has no '.', so the split is never ambiguous. Pure. */
int config_parse_target(const char *s, char name[CONFIG_ROLE_NAME_MAX + 1], int *instance);
/* Applies a foreman formation, "all=N,web=2,worker=1" (blanks ignored), to a Procfile's roles:
 * each named process gets that many copies, the others all's count, 0 without an all= (as
 * foreman runs only what -m names). Processes with no copies are dropped from cfg (their PORTs
 * stay as the Procfile's order gave them). Returns 0, or -1 with errors in d. */
int config_apply_formation(struct roster_config *cfg, const char *spec, diags *d);
/* The directory of default control sockets, one per user: $XDG_RUNTIME_DIR/roster when xdg is
 * an absolute path and xdg_private says it is ours and closed to others (mode 0700), else
 * ${TMPDIR:-/tmp}/roster-<uid>. Pure. Allocated. */
char *config_socket_dir(const char *xdg, bool xdg_private, const char *tmpdir, unsigned long uid);
/* The default control socket: <config_socket_dir>/<app>-<8 hex>.sock, the hex a hash of the
 * config directory's real path, so two checkouts both named app never share one; in
 * /tmp/roster-<uid> when the directory is too deep for a unix socket. The directory is checked
 * (for $XDG_RUNTIME_DIR), not made: the server makes it. Allocated. */
char *config_default_socket(const char *app, const char *dir, char **environ_);
void config_free(struct roster_config *cfg);
/* Frees what one role owns (config_free does it for every role). */
void config_role_free(struct role_config *r);

const char *dep_cond_name(enum dep_cond c);
const char *restart_policy_name(enum restart_policy p);
const char *probe_kind_name(enum probe_kind k);
const char *give_up_then_name(enum give_up_then t);
const char *exit_on_end_name(enum exit_on_end e);
/* "all", "first", "last", the role's name, or "!" and its name. Caller frees. */
char *exit_success_text(const struct exit_config *e);

#endif
