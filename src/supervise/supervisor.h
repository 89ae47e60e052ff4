/* supervisor.h — the running side of roster: one uv loop that spawns, reaps, restarts and stops
 * the roles of a plan, frames their output into logmux, and answers reloads. Health, metrics
 * and control only read this state (and call the few operations below).
 *
 * Each role instance has one lifecycle (enum inst_state) changed in one place, set_state():
 *
 *   stopped ──deps met──> starting ──gates open──> running ──ready──> ready
 *      ^                     │                       │                  │
 *      │                     └─────────────┬─────────┴──────────────────┘
 *      │                          exit, stop or failed probe
 *      │                                   v
 *      └──── stopped <── stopping ──(group empty)──> backoff ──timer──> running
 *                                                 └> exited | given_up
 */
#ifndef ROSTER_SUPERVISOR_H
#define ROSTER_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "base/backoff.h"
#include "config/config.h"
#include "log/linebuf.h"
#include "log/logfmt.h"
#include "log/logmux.h"
#include "plan/plan.h"

enum inst_state {
    ST_STOPPED,  /* not running and not about to: before its start, or stopped on purpose */
    ST_STARTING, /* dependencies met; waiting on gates (services, budget, lock) to spawn */
    ST_RUNNING,  /* process alive, not (yet) ready */
    ST_READY,    /* process alive and ready */
    ST_STOPPING, /* stop signal sent; waiting for the process group to empty */
    ST_BACKOFF,  /* crashed; a restart is scheduled */
    ST_EXITED,   /* ended and will not be restarted (a oneshot's normal end) */
    ST_GIVEN_UP, /* crashed too often; left down */
};

const char *inst_state_name(enum inst_state s);

struct sup;
struct role;
struct instance;
struct probe;
struct notify_sock;
struct pglock;
struct services;

/* One of a running child's output pipes. Heap-allocated per spawn: its poll handle may still be
 * closing when the next process of the instance starts. */
struct stream {
    struct instance *inst;
    int which; /* LOG_STDOUT or LOG_STDERR */
    int fd;
    uv_poll_t poll;
    bool polling;
    bool eof;
    struct linebuf lb;
};

enum after_stop { AFTER_DEFAULT, AFTER_STOP, AFTER_RESTART };

struct instance {
    struct role *role;
    int index;
    char *label;
    enum inst_state state;
    pid_t pid;  /* main process, 0 when none */
    pid_t pgid; /* its group, kept until the group is empty */
    bool main_reaped;
    char *spawn_error; /* why the last exec failed, if it did */
    struct stream *streams[2];
    struct log_source src;
    uv_timer_t timer;    /* backoff, or SIGKILL after stop.timeout */
    uint64_t spawned_at; /* monotonic ms */
    double spawned_wall;
    unsigned consecutive; /* consecutive crash restarts, for backoff */
    struct restart_window window;
    unsigned restarts; /* all restarts, for status and metrics */
    double last_restart_wall;
    bool has_exit;
    int last_code; /* -1 when killed by a signal */
    int last_signal;
    double last_exit_wall;
    bool failed; /* ended unsuccessfully (exited or given up) */
    enum after_stop after_stop;
    bool crash_stop; /* this stop is a failure (liveness, memory, readiness timeout) */
    bool kill_sent;
    uint64_t memory;   /* last sampled RSS of the group */
    uint64_t lines[2]; /* output lines per stream */
    /* probes and sd_notify */
    struct probe *ready_probe;
    struct probe *live_probe;
    struct notify_sock *notify;
    char *status_text;  /* last STATUS= */
    char *probe_result; /* last probe outcome, for /health */
    /* gates: wait_for, the budget, lock: postgres */
    struct pglock *lock;
    bool lock_held;
    char *gate_wait; /* what a starting instance waits for, for status */
    int handles;     /* open uv handles; freed when 0 after release */
    bool released;
};

struct role {
    struct sup *sup;
    struct plan *plan; /* reference held */
    size_t pidx;       /* index in plan->roles */
    struct instance **inst;
    int ninst;
    bool want; /* false after `roster stop ROLE` */
    bool blocked_logged;
    struct role *predecessor; /* reload: the old definition still stopping */
    size_t color;
};

struct sup_opts {
    struct config_opts copts; /* to re-read the config on reload */
    const char *roles;        /* --role */
    char **environ_;
    bool force_color, no_color;
    int log_format; /* -1: from config */
    int timestamps; /* -1: from config */
};

struct sup {
    uv_loop_t *loop;
    struct sup_opts opts;
    struct plan *plan;
    struct role **roles; /* parallel to plan->roles */
    size_t nroles;
    struct role **retiring; /* roles of an older plan still stopping after a reload */
    size_t nretiring;
    struct logmux log;
    uv_signal_t sig_chld, sig_term, sig_int, sig_hup, sig_quit;
    uv_timer_t group_timer; /* polls groups whose leader is gone */
    uv_timer_t shutdown_timer;
    uv_timer_t mem_timer; /* samples group memory each second */
    uv_timer_t gc_timer;  /* frees retired roles outside of any walk over the roles */
    bool shutting_down;
    bool force_killed;
    bool finished;
    int exit_code;
    double started_wall;
    uint64_t orphans_reaped;
    /* health, control, probes, sd_notify */
    struct httpd *health;
    int health_port;
    uint64_t state_version; /* bumped by every change /health reports; keys its cache */
    struct health_cache *health_cache;
    struct control *control;
    struct curlm *curl;
    bool self_ready_sent;
    char *self_notify; /* NOTIFY_SOCKET roster itself was given */
    uint64_t self_watchdog_usec;
    uv_timer_t self_watchdog;
    bool self_watchdog_on;
    uint64_t reloads;
    /* Postgres and Redis (services.c) */
    struct services *svc;
};

/* Sets up the loop side (signals, logs) for plan, which the supervisor takes over. */
int sup_init(struct sup *s, uv_loop_t *loop, struct plan *plan, const struct sup_opts *opts);
/* Starts the roles and runs the loop until roster is done; returns the exit code. */
int sup_run(struct sup *s);
void sup_free(struct sup *s);

/* Begins the ordered shutdown; exit_code is what roster will return. */
void sup_shutdown(struct sup *s, int exit_code, const char *why);
/* Re-reads the config; returns 0, or -1 with the errors logged and written to err. */
int sup_reload(struct sup *s, sbuf *err);

/* Operator actions on a role (all its instances). 0, or -1 with a message in err. */
int sup_role_restart(struct sup *s, const char *name, sbuf *err);
int sup_role_stop(struct sup *s, const char *name, sbuf *err);
int sup_role_start(struct sup *s, const char *name, sbuf *err);
struct role *sup_find_role(struct sup *s, const char *name);

/* Walks every instance of the current roles, then of roles still stopping after a reload:
 *   struct inst_iter it = {.s = s};
 *   for (struct instance *in; (in = sup_next_instance(&it));) ... */
struct inst_iter {
    struct sup *s;
    size_t list, role;
    int k;
};
struct instance *sup_next_instance(struct inst_iter *it);

/* Helpers for the modules that watch instances. */
const struct role_config *role_cfg(const struct role *r);
struct spawn_opts;
/* How the role's processes start (cwd, user, its own process group, stdin from /dev/null); the
 * caller sets argv, envp and the output descriptors. */
void role_spawn_opts(const struct role *r, struct spawn_opts *so);
bool inst_alive(const struct instance *in);
bool sup_role_selected(const struct role *r);
/* Marks an instance ready (a probe passed, READY=1 arrived). */
void inst_became_ready(struct instance *in, const char *how);
/* Restarts an instance gracefully because it failed (liveness, watchdog, memory, readiness
 * timeout): counts as a crash for backoff and give_up. */
void inst_fail(struct instance *in, const char *why);
/* Re-evaluates what should start, stop or end; call after any state change. */
void sup_reconcile(struct sup *s);
/* Spawns starting instances whose gates have opened (a service answered, a lock came). */
void sup_gates_changed(struct sup *s);
/* True when every selected service is ready and every selected oneshot has succeeded. */
bool sup_all_ready(struct sup *s, sbuf *not_ready);

#endif
