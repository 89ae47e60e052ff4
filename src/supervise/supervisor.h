/* supervisor.h — the running side of roster: one uv loop that spawns, reaps, restarts and stops
 * the roles of a plan, frames their output into logmux, and answers reloads.
 *
 * Each instance's life is the table of lifecycle.h, driven by one function (dispatch in
 * supervisor.c). What watches or gates instances — probes, sd_notify, Postgres and Redis, the
 * health and control servers — attaches through struct sup_observer (observer.h): it gets
 * events, keeps its own per-instance context, and never writes these structs; what it asks of
 * the supervisor (ready, fail, gates changed, operator actions) is posted to the next loop turn.
 * Processes are started and signalled through struct proc_backend, so unit tests run the
 * lifecycle on a real loop with fake processes. */
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
#include "log/taskmark.h"
#include "os/proc.h"
#include "plan/plan.h"
#include "supervise/crashlog.h"
#include "supervise/lifecycle.h"
#include "supervise/orphans.h"

struct sup;
struct role;
struct instance;
struct sup_observer;
struct sup_input;
struct post;
struct reload_job;
struct reload_waiter;

#define SUP_MAX_OBSERVERS 8

/* How processes are started, signalled and collected. The real one (proc_backend_os) uses
 * fork/exec, kill(-pgid) and waitpid(-1); tests pass a fake. */
struct proc_backend {
    /* Starts a process as proc_spawn does: 0 with *pid, or -errno with err (pid may then still
     * be set: the exec failed in the child, which exits 127). */
    int (*spawn)(void *ud, const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen);
    /* Signals a process group; 0 or -errno. */
    int (*signal_group)(void *ud, pid_t pgid, int sig);
    /* True while any process of the group exists. */
    bool (*group_alive)(void *ud, pid_t pgid);
    /* Collects one ended child: its pid (> 0) and wait status, or 0 when there is none now. */
    pid_t (*wait_any)(void *ud, int *status);
    /* One look at the processes, as proc_scan: the resident memory of each group in bytes, and
     * roster's children that are not its instances (orphans come back to it). May be NULL: no
     * memory sampling, no orphans. Runs on a thread of libuv's pool, and once on the loop at
     * shutdown for each sweep of the orphans. */
    void (*scan)(void *ud, struct proc_scan *sc);
    /* True when SIGCHLD announces ended children (the real backend); a fake calls sup_reap. */
    bool uses_sigchld;
    void *ud;
};

extern const struct proc_backend proc_backend_os;

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
    /* a built-in role's: the task of the line being read (log/taskmark.h), which its
     * continued pieces keep; task_len 0: the role's own */
    char task[TASKMARK_MAX_NAME];
    size_t task_len;
};

/* The last end of an instance's process. */
struct exit_info {
    int code;     /* exit code, or -1 when killed by a signal */
    int signal;   /* the signal that ended it, or 0 */
    double wall;  /* when; 0: it has not ended yet (no exit to report) */
};

struct instance {
    struct role *role;
    int index;
    char *label;
    enum inst_state state;
    pid_t pid;  /* main process, 0 when none (not started, or reaped) */
    pid_t pgid; /* its group, kept until the group is empty */
    char *spawn_error; /* why the last exec failed, if it did */
    struct stream *streams[2];
    int stdin_fd; /* the write end of its stdin (role_config.stdin_pipe), non-blocking, while its
                     process group lives; else -1. For a tty role: a descriptor of its pty's
                     master (input is written to it, and the window size set on it) */
    struct log_source src;
    uv_timer_t timer;    /* backoff, or SIGKILL after stop.timeout */
    uint64_t spawned_at; /* monotonic ms */
    double spawned_wall;
    unsigned consecutive; /* consecutive crash restarts, for backoff */
    struct restart_window window;
    unsigned restarts; /* all restarts, for status and metrics */
    double last_restart_wall;
    struct exit_info exit;
    /* For the run's exit code (lifecycle.h's run_end): when its process last ended (0: never),
     * and whether it ended on its own rather than stopped by roster. */
    uint64_t end_seq;
    bool end_own;
    int end_status;    /* shell-style (128 + signal); never 0 for a failure */
    uint64_t memory;   /* last sampled RSS of the group */
    uint64_t lines[2]; /* output lines per stream */
    struct crashlog crash;        /* the dev profile's crash dedupe (crashlog.h) */
    void *ctx[SUP_MAX_OBSERVERS]; /* each observer's own context (observer.h) */
    int handles;                  /* open uv handles; freed when 0 after release */
    bool released;
};

/* What the operator wants of a role. */
enum role_goal { GOAL_UP, GOAL_DOWN };

struct role {
    struct sup *sup;
    const struct plan *plan; /* reference held */
    size_t pidx;       /* index in plan->roles */
    struct instance **inst;
    int ninst;
    enum role_goal goal; /* GOAL_DOWN after `roster stop ROLE`, or when retired by a reload */
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
    struct plan_opts plan_opts; /* how a reload builds its plan (roles, environment, lookups) */
    /* No config to reload (concurrently's command line): SIGHUP stops the run, as it stops
     * concurrently's commands, and sup_reload is refused. */
    bool no_reload;
    const struct proc_backend *backend; /* NULL: proc_backend_os */
};

struct sup_obs_slot {
    const struct sup_observer *ops;
    void *ud;
};

#define SUP_MAX_OTHER_SIGNALS 48

struct sup {
    uv_loop_t *loop;
    struct sup_opts opts;
    const struct proc_backend *be;
    const struct plan *plan; /* reference held; never changed, replaced by sup_replace_plan */
    struct role **roles; /* parallel to plan->roles */
    size_t nroles;
    struct role **retiring; /* roles of an older plan still stopping after a reload */
    size_t nretiring;
    struct logmux log;
    uv_signal_t sig_chld, sig_term, sig_int, sig_hup, sig_quit, sig_tstp;
    /* every other signal whose default action would end roster: PWR stops in order, the rest
     * are ignored with a log line (at most one a second per signal) */
    uv_signal_t sig_other[SUP_MAX_OTHER_SIGNALS];
    uint64_t sig_other_said_ms[SUP_MAX_OTHER_SIGNALS];
    size_t nsig_other;
    uv_timer_t group_timer; /* polls groups whose leader is gone */
    uv_timer_t shutdown_timer;
    uv_timer_t mem_timer; /* samples group memory (each second or less often), off the loop */
    uv_work_t mem_work;
    bool mem_busy;
    struct mem_sample *mem;
    uv_idle_t post_idle; /* runs posted work on the next loop turn */
    struct post *posts, **posts_tail;
    bool shutting_down;
    bool force_killed;
    bool finished;
    int stop_signal; /* the signal the shutdown began with (SIGINT, SIGTERM, SIGQUIT), or 0 */
    /* What SIGHUP means: with SUP_HUP_AUTO, a stop when roster started with a controlling
     * terminal and has lost it (the terminal closed), else a reload (a container, systemd, or
     * `kill -HUP` beside a live terminal). ROSTER_SIGHUP=reload|stop|auto overrides. */
    enum sup_hup { SUP_HUP_AUTO, SUP_HUP_RELOAD, SUP_HUP_STOP } hup;
    bool had_tty;    /* roster had a controlling terminal at start */
    uint64_t ends;   /* processes ended so far: numbers end_seq */
    bool stopped; /* sup_run has returned: observers are detached, handles closed */
    int exit_code;
    double started_wall;
    uint64_t orphans_reaped;
    struct orphans orphans; /* processes that left their role's group (orphans.h) */
    uint64_t state_version; /* bumped by every change /health reports; keys its cache */
    uint64_t reloads;
    struct reload_job *reload;        /* the reload in flight, or NULL */
    struct reload_waiter *reload_next; /* waiting for the reload after it */
    bool reload_again;                 /* SIGHUP during a reload: one more follows it */
    struct sup_obs_slot obs[SUP_MAX_OBSERVERS];
    int nobs;
    struct sup_input *input; /* roster's stdin and terminal size towards roles (input.c) */
};

/* Sets up the loop side (signals, logs) for plan, which the supervisor takes over. */
int sup_init(struct sup *s, uv_loop_t *loop, struct plan *plan, const struct sup_opts *opts);
/* Starts the observers and the roles and runs the loop until roster is done; returns the exit
 * code. */
int sup_run(struct sup *s);
void sup_free(struct sup *s);

/* Begins the ordered shutdown. exit_code, when not 0, is what roster will return (a failure
 * of roster's own); 0 leaves it to the roles' ends and the config's exit: rules. */
void sup_shutdown(struct sup *s, int exit_code, const char *why);
/* How a reload ended: rc 0, or -1 with err (its errors, one a line, also logged). Called once,
 * on the loop. */
typedef void (*sup_reload_cb)(void *ud, int rc, const char *err);
/* Asks for a reload. The config is read and the plan built on a thread of libuv's pool (file
 * reads, env files, user lookups); the rest (optional libraries, the observers' plan_prepare, the
 * swap, the log lines) runs back on the loop, which keeps serving meanwhile. One reload runs at a
 * time: asked for while one is in flight, a reload follows it, once for every request made
 * meanwhile (the files may have changed after the first read them); cb hears of that one. cb may
 * be NULL (SIGHUP). A shutdown answers every waiting cb with "roster is shutting down" and drops
 * the reload. Returns 0, or -ESHUTDOWN (cb is not called); cb is never called before
 * sup_reload returns. With opts.no_reload it returns -EOPNOTSUPP. */
int sup_reload(struct sup *s, sup_reload_cb cb, void *ud);
/* Runs a new plan (the same config with a budget applied): roles whose fingerprint is unchanged
 * carry on under it, the others restart as on reload. Takes over np. */
void sup_replace_plan(struct sup *s, struct plan *np);

/* Operator actions on a role (all its instances), or for restart on one copy named ROLE.N (as
 * its label says, from 0): checked now, carried out on the next loop turn. 0, or -1 with a
 * message in err. */
int sup_role_restart(struct sup *s, const char *name, sbuf *err);
int sup_role_stop(struct sup *s, const char *name, sbuf *err);
int sup_role_start(struct sup *s, const char *name, sbuf *err);
struct role *sup_find_role(const struct sup *s, const char *name);

/* Walks every instance of the current roles, then of roles still stopping after a reload:
 *   struct inst_iter it = {.s = s};
 *   for (struct instance *in; (in = sup_next_instance(&it));) ... */
struct inst_iter {
    const struct sup *s;
    size_t list, role;
    int k;
};
struct instance *sup_next_instance(struct inst_iter *it);

/* Read-only helpers for the modules that watch instances. */
const struct role_config *role_cfg(const struct role *r);
const struct plan_role *role_plan(const struct role *r);
/* How the role's processes start (cwd, user, its own process group, stdin from /dev/null); the
 * caller sets argv, envp and the output descriptors (and stdin's, for stdin_pipe). */
void role_spawn_opts(const struct role *r, struct spawn_opts *so);
bool inst_alive(const struct instance *in);
bool inst_has_exit(const struct instance *in);
bool sup_role_selected(const struct role *r);
/* True when every selected service is ready and every selected oneshot has succeeded. */
bool sup_all_ready(const struct sup *s, sbuf *not_ready);

/* What observers ask of the supervisor. Each is posted: it runs on the next loop turn, never on
 * the caller's stack (a library callback's). An instance freed meanwhile drops its posts. */
/* The instance is ready (how: for the log line; NULL logs nothing). */
void sup_post_ready(struct instance *in, const char *how);
/* The instance failed (liveness, watchdog, memory, readiness timeout): it is restarted as a
 * crash, counting towards backoff and give_up. */
void sup_post_fail(struct instance *in, const char *why);
/* A start gate may have opened: starting instances ask their gates again. */
void sup_post_gates_changed(struct sup *s);
/* Something /health reports changed outside the supervisor (a service went up or down). */
void sup_changed(struct sup *s);

/* For the fake process backend of the unit tests: collect ended children now. */
void sup_reap(struct sup *s);

#endif
