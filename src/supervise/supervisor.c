/* supervisor.c — role instances' lifecycles on one uv loop: spawn, output, reaping, restarts
 * with backoff, dependencies, ordered shutdown and reload. */
#include "supervise/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve/health.h"
#include "supervise/hooks.h"
#include "os/proc.h"
#include "base/units.h"

#define GROUP_POLL_MS    50
#define STREAM_PIPE_SIZE (256u << 10) /* a chatty child blocks less often */
#define STREAM_READ_SIZE (64u << 10)  /* the most one wakeup reads: keeps loop turns short */
#define MEM_SAMPLE_MS    1000

static void reconcile(struct sup *s);
static void spawn_instance(struct instance *in);
static void finalize_exit(struct instance *in);
static void stop_instance(struct instance *in, enum after_stop next, const char *why);
static void release_instance(struct instance *in);

const char *inst_state_name(enum inst_state s)
{
    switch (s) {
    case ST_STOPPED: return "stopped";
    case ST_STARTING: return "starting";
    case ST_RUNNING: return "running";
    case ST_READY: return "ready";
    case ST_STOPPING: return "stopping";
    case ST_BACKOFF: return "backoff";
    case ST_EXITED: return "exited";
    case ST_GIVEN_UP: return "given_up";
    }
    return "?";
}

const struct role_config *role_cfg(const struct role *r)
{
    return r->plan->roles[r->pidx].cfg;
}

static const struct plan_role *role_plan(const struct role *r)
{
    return &r->plan->roles[r->pidx];
}

void role_spawn_opts(const struct role *r, struct spawn_opts *so)
{
    const struct plan_role *pr = role_plan(r);
    memset(so, 0, sizeof *so);
    so->cwd = pr->cfg->cwd;
    so->set_user = pr->has_user;
    so->uid = pr->uid;
    so->gid = pr->gid;
    so->groups = pr->groups;
    so->ngroups = pr->ngroups;
    so->stdin_fd = -1;
    so->new_group = true;
}

bool sup_role_selected(const struct role *r)
{
    return role_plan(r)->selected;
}

bool inst_alive(const struct instance *in)
{
    return in->pgid > 0; /* a process group that has not been seen empty yet */
}

static bool is_oneshot(const struct role *r)
{
    return role_cfg(r)->kind == ROLE_ONESHOT;
}

/* ---- output ---------------------------------------------------------------------------- */

static void on_line(void *ud, const char *line, size_t len, int kind)
{
    struct stream *st = ud;
    struct instance *in = st->inst;
    struct sup *s = in->role->sup;
    (void)kind;
    in->lines[st->which]++;
    logmux_line(&s->log, &in->src, st->which, line, len);
    hooks_line(in, line, len);
}

/* Reads what the pipe holds now: one read per wakeup, so a flooding child cannot hold the loop
 * (and the health server) for long. With drain, reads until the pipe is empty regardless of
 * pressure (bounded by the pipe's size): used once the process group is gone. */
static void stream_read(struct stream *st, bool drain)
{
    struct sup *s = st->inst->role->sup;
    for (int rounds = 0; rounds < (drain ? 64 : 1); rounds++) {
        size_t avail;
        char *p = linebuf_space(&st->lb, &avail);
        ssize_t n = read(st->fd, p, avail);
        if (n > 0) {
            linebuf_commit(&st->lb, (size_t)n, on_line, st);
            if (!drain && s->log.paused) break;
            continue;
        }
        if (n == 0) {
            st->eof = true;
            break;
        }
        if (errno == EINTR) continue;
        break; /* EAGAIN, or an error: nothing more now */
    }
    if (st->eof) linebuf_flush(&st->lb, on_line, st);
}

static void stream_closed(uv_handle_t *h)
{
    struct stream *st = h->data;
    struct instance *in = st->inst;
    linebuf_free(&st->lb);
    free(st);
    in->handles--;
    if (in->released && in->handles == 0) release_instance(in);
}

static void stream_close(struct stream *st)
{
    if (!st) return;
    struct instance *in = st->inst;
    in->streams[st->which] = NULL;
    if (st->polling) uv_poll_stop(&st->poll);
    st->polling = false;
    close(st->fd);
    uv_close((uv_handle_t *)&st->poll, stream_closed);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct stream *st = h->data;
    (void)events;
    if (status < 0) {
        st->eof = true;
    } else {
        stream_read(st, false);
    }
    if (st->eof) {
        linebuf_flush(&st->lb, on_line, st);
        stream_close(st);
    }
}

static void stream_poll(struct stream *st, bool on)
{
    if (on && !st->polling && !st->eof) {
        uv_poll_start(&st->poll, UV_READABLE | UV_DISCONNECT, on_readable);
        st->polling = true;
    } else if (!on && st->polling) {
        uv_poll_stop(&st->poll);
        st->polling = false;
    }
}

struct instance *sup_next_instance(struct inst_iter *it)
{
    struct sup *s = it->s;
    for (; it->list < 2; it->list++, it->role = 0, it->k = 0) {
        struct role **roles = it->list == 0 ? s->roles : s->retiring;
        size_t n = it->list == 0 ? s->nroles : s->nretiring;
        for (; it->role < n; it->role++, it->k = 0)
            if (it->k < roles[it->role]->ninst) return roles[it->role]->inst[it->k++];
    }
    return NULL;
}

static void each_stream(struct sup *s, bool on)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        for (int w = 0; w < 2; w++)
            if (in->streams[w]) stream_poll(in->streams[w], on);
}

static void on_pressure(void *ud, bool paused)
{
    each_stream(ud, !paused);
}

static struct stream *stream_new(struct instance *in, int which, int fd)
{
    struct sup *s = in->role->sup;
    struct stream *st = xcalloc(1, sizeof *st);
    st->inst = in;
    st->which = which;
    st->fd = fd;
    linebuf_init(&st->lb, LINEBUF_MAX_LINE, STREAM_READ_SIZE);
    uv_poll_init(s->loop, &st->poll, fd);
    st->poll.data = st;
    in->handles++;
    if (!s->log.paused) stream_poll(st, true);
    return st;
}

/* ---- events ------------------------------------------------------------------------------ */

static void set_state(struct instance *in, enum inst_state st)
{
    if (in->state == st) return;
    enum inst_state old = in->state;
    in->state = st;
    in->role->sup->state_version++;
    hooks_state(in, old, st);
}

static void describe_exit(const struct instance *in, char *buf, size_t n)
{
    if (in->last_code >= 0)
        snprintf(buf, n, "code %d", in->last_code);
    else
        snprintf(buf, n, "signal %s", signal_name(in->last_signal));
}

/* ---- spawning ---------------------------------------------------------------------------- */

static void on_timer_backoff(uv_timer_t *t)
{
    struct instance *in = t->data;
    if (in->state != ST_BACKOFF) return;
    set_state(in, ST_STOPPED);
    reconcile(in->role->sup);
}

static void begin_start(struct instance *in)
{
    /* Gates (wait_for, the Postgres budget, lock: postgres) may hold the spawn back. */
    set_state(in, ST_STARTING);
    if (hooks_gates_open(in)) spawn_instance(in);
}

void sup_gates_changed(struct sup *s)
{
    for (size_t i = 0; i < s->nroles; i++)
        for (int k = 0; k < s->roles[i]->ninst; k++) {
            struct instance *in = s->roles[i]->inst[k];
            if (in->state == ST_STARTING && !s->shutting_down && hooks_gates_open(in))
                spawn_instance(in);
        }
}

static void spawn_failed_now(struct instance *in, int err, const char *msg)
{
    struct sup *s = in->role->sup;
    logmux_event(&s->log, "spawn_failed", role_cfg(in->role)->name, in->index, NULL,
                 "%s failed to start: %s", in->label, msg);
    (void)err;
    in->has_exit = true;
    in->last_code = 127;
    in->last_signal = 0;
    in->last_exit_wall = wall_time();
    in->spawned_at = now_ms();
    in->pid = 0;
    in->pgid = 0;
    finalize_exit(in);
}

static void spawn_instance(struct instance *in)
{
    struct role *r = in->role;
    struct sup *s = r->sup;
    const struct plan_role *pr = role_plan(r);
    const struct role_config *c = pr->cfg;

    if (c->user && !pr->has_user && geteuid() != 0) {
        spawn_failed_now(in, EPERM, "user: needs roster to run as root");
        return;
    }
    envmap env = {0};
    plan_instance_env(r->plan, r->pidx, in->index, &env);
    hooks_env(in, &env);
    char **envp = envmap_to_envp(&env);
    envmap_free(&env);

    char *shell_argv[4] = {"/bin/sh", "-c", c->shell, NULL};
    char *const *argv = c->shell ? shell_argv : c->argv.v;

    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        int e = errno;
        if (out[0] >= 0) close(out[0]), close(out[1]);
        envp_free(envp);
        spawn_failed_now(in, e, strerror(e));
        return;
    }
    struct spawn_opts so;
    role_spawn_opts(r, &so);
    so.argv = argv;
    so.envp = envp;
    so.stdout_fd = out[1];
    so.stderr_fd = err[1];
    pid_t pid = 0;
    char msg[256];
    int rc = proc_spawn(&so, &pid, msg, sizeof msg);
    close(out[1]);
    close(err[1]);
    envp_free(envp);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    /* Bigger pipes: a chatty child blocks less often, and each read takes more lines. */
    fcntl(out[0], F_SETPIPE_SZ, STREAM_PIPE_SIZE);
    fcntl(err[0], F_SETPIPE_SZ, STREAM_PIPE_SIZE);

    free(in->spawn_error);
    in->spawn_error = NULL;
    if (rc < 0 && pid <= 0) {
        close(out[0]);
        close(err[0]);
        spawn_failed_now(in, -rc, msg);
        return;
    }
    in->pid = pid;
    in->pgid = pid;
    in->main_reaped = false;
    in->kill_sent = false;
    in->crash_stop = false;
    in->after_stop = AFTER_DEFAULT;
    in->spawned_at = now_ms();
    in->spawned_wall = wall_time();
    in->src.pid = pid;
    logfmt_prepare(&s->log.style, &in->src);
    in->streams[LOG_STDOUT] = stream_new(in, LOG_STDOUT, out[0]);
    in->streams[LOG_STDERR] = stream_new(in, LOG_STDERR, err[0]);
    set_state(in, ST_RUNNING);
    if (rc < 0) {
        /* exec failed in the child, which exits 127; the reaper finishes the story */
        in->spawn_error = xstrdup(msg);
        logmux_event(&s->log, "spawn_failed", c->name, in->index, NULL, "%s failed to start: %s",
                     in->label, msg);
        return;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "\"pid\":%d", (int)pid);
    logmux_event(&s->log, "started", c->name, in->index, extra, "%s started (pid %d)", in->label,
                 (int)pid);
    hooks_spawned(in);
}

/* ---- exits ------------------------------------------------------------------------------- */

static void decide_after_crash(struct instance *in)
{
    struct role *r = in->role;
    struct sup *s = r->sup;
    const struct role_config *c = role_cfg(r);
    uint64_t now = now_ms();
    uint64_t uptime = now - in->spawned_at;
    if (uptime >= c->backoff_reset_ms) in->consecutive = 0;
    in->consecutive++;
    size_t recent =
        restart_window_add(&in->window, now, c->give_up_within_ms, (size_t)c->give_up_after + 1);
    if ((int)recent > c->give_up_after) {
        char within[32];
        units_format_duration(c->give_up_within_ms, within, sizeof within);
        in->failed = true;
        set_state(in, ST_GIVEN_UP);
        logmux_event(&s->log, "gave_up", c->name, in->index, NULL,
                     "%s gave up: %d restarts within %s (give_up.then: %s)", in->label,
                     c->give_up_after, within, c->give_up_then == GIVEUP_EXIT ? "exit" : "stay");
        if (c->give_up_then == GIVEUP_EXIT) sup_shutdown(s, 1, "a role gave up");
        return;
    }
    double r01 = (double)random() / ((double)RAND_MAX + 1.0);
    uint64_t delay =
        backoff_delay_ms(c->backoff_initial_ms, c->backoff_max_ms, in->consecutive, r01);
    in->restarts++;
    in->last_restart_wall = wall_time();
    char extra[64];
    snprintf(extra, sizeof extra, "\"delay_ms\":%llu", (unsigned long long)delay);
    if (delay == 0) {
        logmux_event(&s->log, "restarting", c->name, in->index, extra, "%s restarting now",
                     in->label);
        set_state(in, ST_STOPPED);
        /* straight back up, unless its dependencies say otherwise */
        if (r->want) begin_start(in);
        return;
    }
    logmux_event(&s->log, "restarting", c->name, in->index, extra, "%s restarting in %llu ms",
                 in->label, (unsigned long long)delay);
    set_state(in, ST_BACKOFF);
    uv_timer_start(&in->timer, on_timer_backoff, delay, 0);
}

static void finalize_exit(struct instance *in)
{
    struct role *r = in->role;
    struct sup *s = r->sup;
    const struct role_config *c = role_cfg(r);

    for (int w = 0; w < 2; w++) {
        struct stream *st = in->streams[w];
        if (!st) continue;
        stream_read(st, true);
        linebuf_flush(&st->lb, on_line, st);
        stream_close(st);
    }
    uv_timer_stop(&in->timer);
    hooks_exited(in);
    in->pid = 0;
    in->pgid = 0;
    in->main_reaped = false;

    char how[64];
    describe_exit(in, how, sizeof how);
    char extra[96];
    if (in->last_code >= 0)
        snprintf(extra, sizeof extra, "\"code\":%d", in->last_code);
    else
        snprintf(extra, sizeof extra, "\"signal\":\"%s\"", signal_name(in->last_signal));
    bool success = in->last_code == 0 && !in->crash_stop;
    enum after_stop next = in->after_stop;
    in->after_stop = AFTER_DEFAULT;
    bool crash_stop = in->crash_stop;
    in->crash_stop = false;

    if (s->shutting_down || next == AFTER_STOP) {
        logmux_event(&s->log, "stopped", c->name, in->index, extra, "%s stopped (%s)", in->label,
                     how);
        set_state(in, ST_STOPPED);
        reconcile(s);
        return;
    }
    logmux_event(&s->log, "exited", c->name, in->index, extra, "%s exited (%s)", in->label, how);
    if (next == AFTER_RESTART && !crash_stop) {
        in->restarts++;
        in->last_restart_wall = wall_time();
        in->consecutive = 0;
        set_state(in, ST_STOPPED);
        if (r->want) begin_start(in);
        reconcile(s);
        return;
    }
    bool restart = c->restart == RESTART_ALWAYS || (c->restart == RESTART_ON_FAILURE && !success);
    if (is_oneshot(r) && success) restart = false;
    if (restart) {
        decide_after_crash(in);
    } else {
        in->failed = !success;
        set_state(in, ST_EXITED);
        if (!success && c->give_up_then == GIVEUP_EXIT) {
            logmux_event(&s->log, "failed", c->name, in->index, NULL,
                         "%s failed and is not restarted (restart: %s); stopping (give_up.then: "
                         "exit)",
                         in->label, restart_policy_name(c->restart));
            sup_shutdown(s, 1, is_oneshot(r) ? "a oneshot failed" : "a role failed");
        }
    }
    reconcile(s);
}

static void on_kill_timer(uv_timer_t *t);
static void signal_stop(struct instance *in);

/* The leader is gone but others of its group remain: they get the stop signal too. */
static void leader_gone(struct instance *in)
{
    struct sup *s = in->role->sup;
    if (in->state != ST_STOPPING) {
        const struct role_config *c = role_cfg(in->role);
        logmux_event(&s->log, "stopping_group", c->name, in->index, NULL,
                     "%s: main process ended but its process group lives on; stopping the group",
                     in->label);
        signal_stop(in);
        set_state(in, ST_STOPPING);
    }
}

static void on_group_timer(uv_timer_t *t);

/* After a reap: an instance whose leader is gone is finished when its group is empty too. */
static void check_groups(struct sup *s)
{
    bool waiting = false;
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        if (!in->main_reaped) continue;
        if (proc_group_alive(in->pgid)) {
            leader_gone(in);
            waiting = true;
            continue;
        }
        finalize_exit(in);
    }
    if (waiting && !uv_is_active((uv_handle_t *)&s->group_timer))
        uv_timer_start(&s->group_timer, on_group_timer, GROUP_POLL_MS, GROUP_POLL_MS);
    else if (!waiting)
        uv_timer_stop(&s->group_timer);
}

static void on_group_timer(uv_timer_t *t)
{
    check_groups(t->data);
}

static void on_kill_timer(uv_timer_t *t)
{
    struct instance *in = t->data;
    struct sup *s = in->role->sup;
    if (in->pgid <= 0) return;
    char tmo[32];
    units_format_duration(role_cfg(in->role)->stop_timeout_ms, tmo, sizeof tmo);
    logmux_event(&s->log, "killing", role_cfg(in->role)->name, in->index, NULL,
                 "%s did not stop within %s; sending SIGKILL to its process group", in->label, tmo);
    proc_signal_group(in->pgid, SIGKILL);
    in->kill_sent = true;
}

/* The role's stop signal to its whole group (and SIGCONT, in case it was stopped), then SIGKILL
 * after stop.timeout unless the group is empty by then. */
static void signal_stop(struct instance *in)
{
    const struct role_config *c = role_cfg(in->role);
    proc_signal_group(in->pgid, c->stop_signal);
    proc_signal_group(in->pgid, SIGCONT);
    uv_timer_start(&in->timer, on_kill_timer, c->stop_timeout_ms, 0);
}

static struct instance *find_by_pid(struct sup *s, pid_t pid)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        if (in->pid == pid) return in;
    return NULL;
}

static void reap(struct sup *s)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        if (hooks_reaped(s, pid, status)) continue;
        struct instance *in = find_by_pid(s, pid);
        if (!in) {
            s->orphans_reaped++;
            continue;
        }
        in->pid = 0;
        in->main_reaped = true;
        in->has_exit = true;
        in->last_exit_wall = wall_time();
        if (WIFEXITED(status)) {
            in->last_code = WEXITSTATUS(status);
            in->last_signal = 0;
        } else {
            in->last_code = -1;
            in->last_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        }
    }
    /* Group checks come after the whole batch: members killed together are all reaped now. */
    check_groups(s);
}

static void on_sigchld(uv_signal_t *h, int sig)
{
    (void)sig;
    reap(h->data);
}

/* ---- stopping ---------------------------------------------------------------------------- */

static void stop_instance(struct instance *in, enum after_stop next, const char *why)
{
    struct sup *s = in->role->sup;
    const struct role_config *c = role_cfg(in->role);
    switch (in->state) {
    case ST_BACKOFF:
    case ST_STARTING:
        uv_timer_stop(&in->timer);
        hooks_cancel_start(in);
        set_state(in, ST_STOPPED);
        if (next == AFTER_RESTART && in->role->want && !s->shutting_down) begin_start(in);
        return;
    case ST_RUNNING:
    case ST_READY: break;
    case ST_STOPPING:
        if (next != AFTER_DEFAULT) in->after_stop = next;
        return;
    default: return;
    }
    in->after_stop = next;
    logmux_event(&s->log, "stopping", c->name, in->index, NULL, "%s stopping (%s): sending %s",
                 in->label, why, signal_name(c->stop_signal));
    set_state(in, ST_STOPPING);
    hooks_stopping(in);
    signal_stop(in);
}

void inst_fail(struct instance *in, const char *why)
{
    if (in->state != ST_RUNNING && in->state != ST_READY) return;
    stop_instance(in, AFTER_DEFAULT, why);
    in->crash_stop = true;
}

void inst_became_ready(struct instance *in, const char *how)
{
    struct sup *s = in->role->sup;
    if (in->state != ST_RUNNING) return;
    set_state(in, ST_READY);
    if (how)
        logmux_event(&s->log, "ready", role_cfg(in->role)->name, in->index, NULL,
                     "%s is ready (%s)", in->label, how);
    reconcile(s);
}

static bool role_alive(const struct role *r)
{
    for (int k = 0; k < r->ninst; k++)
        if (inst_alive(r->inst[k])) return true;
    return false;
}

static void kill_all(struct sup *s)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        if (in->pgid > 0) {
            proc_signal_group(in->pgid, SIGKILL);
            in->kill_sent = true;
        }
    }
    hooks_kill_all(s);
}

static void on_shutdown_timer(uv_timer_t *t)
{
    struct sup *s = t->data;
    if (!s->force_killed) {
        char tmo[32];
        units_format_duration(s->plan->cfg.shutdown_timeout_ms, tmo, sizeof tmo);
        logmux_event(&s->log, "shutdown_timeout", NULL, 0, NULL,
                     "shutdown took longer than %s; killing what is left", tmo);
        s->force_killed = true;
        kill_all(s);
        /* SIGKILL is prompt; give the reaper a moment, then leave regardless. */
        uv_timer_start(&s->shutdown_timer, on_shutdown_timer, 2000, 0);
        return;
    }
    logmux_event(&s->log, "shutdown_abandoned", NULL, 0, NULL,
                 "processes did not go away after SIGKILL; exiting anyway");
    s->finished = true;
    uv_stop(s->loop);
}

void sup_shutdown(struct sup *s, int exit_code, const char *why)
{
    if (s->shutting_down) {
        if (exit_code > s->exit_code) s->exit_code = exit_code;
        return;
    }
    s->shutting_down = true;
    s->exit_code = exit_code;
    logmux_event(&s->log, "shutdown", NULL, 0, NULL, "shutting down (%s)", why);
    hooks_shutdown(s);
    uv_timer_start(&s->shutdown_timer, on_shutdown_timer, s->plan->cfg.shutdown_timeout_ms, 0);
    reconcile(s);
}

static void on_stop_signal(uv_signal_t *h, int sig)
{
    struct sup *s = h->data;
    if (!s->shutting_down) {
        char why[64];
        snprintf(why, sizeof why, "%s received", signal_name(sig));
        sup_shutdown(s, 0, why);
        return;
    }
    if (!s->force_killed) {
        logmux_event(&s->log, "kill", NULL, 0, NULL, "second %s: killing every role now",
                     signal_name(sig));
        s->force_killed = true;
        kill_all(s);
        uv_timer_start(&s->shutdown_timer, on_shutdown_timer, 2000, 0);
    }
}

static void on_sighup(uv_signal_t *h, int sig)
{
    (void)sig;
    sbuf err;
    sbuf_init(&err);
    sup_reload(h->data, &err);
    sbuf_free(&err);
}

/* ---- dependencies and the big picture ---------------------------------------------------- */

enum dep_verdict { DEP_MET, DEP_WAIT, DEP_BLOCKED };

static enum dep_verdict dep_check(struct sup *s, const struct plan_dep *d, const char **which)
{
    struct role *dr = s->roles[d->role];
    *which = role_cfg(dr)->name;
    enum dep_verdict v = DEP_MET;
    for (int k = 0; k < dr->ninst; k++) {
        struct instance *di = dr->inst[k];
        bool done_ok = di->state == ST_EXITED && !di->failed;
        if ((di->state == ST_EXITED && di->failed) || di->state == ST_GIVEN_UP) return DEP_BLOCKED;
        bool ok;
        switch (d->cond) {
        case DEP_STARTED: ok = di->state == ST_RUNNING || di->state == ST_READY || done_ok; break;
        case DEP_READY: ok = di->state == ST_READY || done_ok; break;
        default: ok = done_ok;
        }
        if (!ok) v = DEP_WAIT;
    }
    return v;
}

/* True when a running role depends on role i, directly or transitively. */
static bool dependents_alive(struct sup *s, size_t i)
{
    bool *seen = xcalloc(s->nroles, sizeof *seen);
    size_t *stack = xcalloc(s->nroles + 1, sizeof *stack);
    size_t top = 0;
    bool alive = false;
    stack[top++] = i;
    seen[i] = true;
    while (top && !alive) {
        size_t cur = stack[--top];
        for (size_t j = 0; j < s->nroles && !alive; j++) {
            const struct plan_role *pj = role_plan(s->roles[j]);
            if (seen[j] || !pj->selected) continue;
            for (size_t d = 0; d < pj->ndeps; d++) {
                if (pj->deps[d].role != cur) continue;
                if (role_alive(s->roles[j])) alive = true;
                seen[j] = true;
                stack[top++] = j;
                break;
            }
        }
    }
    free(seen);
    free(stack);
    return alive;
}

static void shutdown_step(struct sup *s)
{
    bool any = false;
    for (size_t i = 0; i < s->nretiring; i++) {
        struct role *r = s->retiring[i];
        for (int k = 0; k < r->ninst; k++)
            stop_instance(r->inst[k], AFTER_STOP, "shutdown");
        any |= role_alive(r);
    }
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        if (!role_alive(r)) {
            for (int k = 0; k < r->ninst; k++)
                if (r->inst[k]->state == ST_BACKOFF || r->inst[k]->state == ST_STARTING)
                    stop_instance(r->inst[k], AFTER_STOP, "shutdown");
            continue;
        }
        any = true;
        /* Reverse dependency order: wait while a role that depends on this one, directly or
         * through others (api -> migrate -> postgres), still runs. */
        if (dependents_alive(s, i)) continue;
        for (int k = 0; k < r->ninst; k++)
            stop_instance(r->inst[k], AFTER_STOP, "shutdown");
    }
    if (!any && !s->finished) {
        s->finished = true;
        logmux_event(&s->log, "exit", NULL, 0, NULL, "all roles stopped; exiting with code %d",
                     s->exit_code);
        uv_stop(s->loop);
    }
}

static int oneshot_status(const struct instance *in)
{
    if (in->last_code >= 0) return in->last_code;
    return 128 + in->last_signal;
}

/* A run of one oneshot (a PRE_DEPLOY job) exits with that command's own status. */
static bool lone_oneshot_status(struct sup *s, int *code)
{
    struct role *only = NULL;
    for (size_t i = 0; i < s->nroles; i++) {
        if (!sup_role_selected(s->roles[i])) continue;
        if (only) return false;
        only = s->roles[i];
    }
    if (!only || !is_oneshot(only) || only->ninst != 1) return false;
    struct instance *in = only->inst[0];
    if (in->state != ST_EXITED || !in->has_exit) return false;
    *code = oneshot_status(in);
    return true;
}

static void check_done(struct sup *s)
{
    size_t selected = 0;
    bool any_failed = false;
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        if (!sup_role_selected(r)) continue;
        selected++;
        for (int k = 0; k < r->ninst; k++) {
            if (r->inst[k]->state != ST_EXITED) return;
            /* give_up.then: stay keeps a failed role down and roster up, /health failing */
            if (r->inst[k]->failed && role_cfg(r)->give_up_then == GIVEUP_STAY) return;
            any_failed |= r->inst[k]->failed;
        }
    }
    if (s->nretiring || selected == 0) return;
    int code = any_failed ? 1 : 0;
    lone_oneshot_status(s, &code);
    s->exit_code = code;
    s->finished = true;
    logmux_event(&s->log, "exit", NULL, 0, NULL, "every role has ended; exiting with code %d",
                 code);
    uv_stop(s->loop);
}

static void on_gc_timer(uv_timer_t *t)
{
    struct sup *s = t->data;
    for (size_t i = 0; i < s->nretiring;) {
        struct role *r = s->retiring[i];
        if (role_alive(r)) {
            i++;
            continue;
        }
        for (int k = 0; k < r->ninst; k++) {
            r->inst[k]->released = true;
            release_instance(r->inst[k]);
        }
        free(r->inst);
        plan_unref(r->plan);
        free(r);
        s->retiring[i] = s->retiring[--s->nretiring];
    }
    reconcile(s);
}

static void reconcile(struct sup *s)
{
    if (s->finished) return;
    if (s->shutting_down) {
        shutdown_step(s);
        return;
    }
    /* Retired roles (reload) stop; once gone, their successors may start. They are freed from
     * a timer callback, never under a caller that may be walking the role lists. */
    for (size_t i = 0; i < s->nretiring; i++) {
        struct role *r = s->retiring[i];
        for (int k = 0; k < r->ninst; k++)
            stop_instance(r->inst[k], AFTER_STOP, "reload");
        if (!role_alive(r)) {
            for (size_t j = 0; j < s->nroles; j++)
                if (s->roles[j]->predecessor == r) s->roles[j]->predecessor = NULL;
            if (!uv_is_active((uv_handle_t *)&s->gc_timer))
                uv_timer_start(&s->gc_timer, on_gc_timer, 0, 0);
        }
    }
    for (size_t oi = 0; oi < s->plan->norder; oi++) {
        size_t i = s->plan->order[oi];
        struct role *r = s->roles[i];
        if (!r->want || r->predecessor) continue;
        bool any_stopped = false;
        for (int k = 0; k < r->ninst; k++)
            any_stopped |= r->inst[k]->state == ST_STOPPED;
        if (!any_stopped) continue;
        const struct plan_role *pr = role_plan(r);
        enum dep_verdict v = DEP_MET;
        const char *dep_name = NULL;
        for (size_t d = 0; d < pr->ndeps && v != DEP_BLOCKED; d++) {
            const char *name;
            enum dep_verdict dv = dep_check(s, &pr->deps[d], &name);
            if (dv > v) {
                v = dv;
                dep_name = name;
            }
        }
        if (v == DEP_BLOCKED) {
            if (!r->blocked_logged) {
                r->blocked_logged = true;
                logmux_event(&s->log, "blocked", pr->cfg->name, 0, NULL,
                             "%s will not start: its dependency %s failed", pr->cfg->name,
                             dep_name);
            }
            continue;
        }
        if (v == DEP_WAIT) continue;
        for (int k = 0; k < r->ninst; k++)
            if (r->inst[k]->state == ST_STOPPED) begin_start(r->inst[k]);
    }
    if (s->shutting_down) {
        shutdown_step(s);
        return;
    }
    check_done(s);
    hooks_reconciled(s);
}

void sup_reconcile(struct sup *s)
{
    reconcile(s);
}

bool sup_all_ready(struct sup *s, sbuf *not_ready)
{
    bool all = true;
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        if (!sup_role_selected(r)) continue;
        for (int k = 0; k < r->ninst; k++) {
            struct instance *in = r->inst[k];
            bool ok =
                is_oneshot(r) ? (in->state == ST_EXITED && !in->failed) : in->state == ST_READY;
            if (!ok) {
                all = false;
                if (not_ready)
                    sbuf_printf(not_ready, "%s%s (%s)", not_ready->len ? ", " : "", in->label,
                                inst_state_name(in->state));
            }
        }
    }
    return all;
}

/* ---- roles and instances ----------------------------------------------------------------- */

static void instance_handle_closed(uv_handle_t *h)
{
    struct instance *in = h->data;
    in->handles--;
    if (in->released && in->handles == 0) release_instance(in);
}

static void release_instance(struct instance *in)
{
    if (!in->released) return;
    if (in->handles > 0) {
        /* close what is still open; the last close callback comes back here */
        if (!uv_is_closing((uv_handle_t *)&in->timer)) {
            hooks_release(in);
            uv_close((uv_handle_t *)&in->timer, instance_handle_closed);
        }
        return;
    }
    restart_window_free(&in->window);
    logfmt_source_free(&in->src);
    free(in->label);
    free(in->spawn_error);
    free(in->status_text);
    free(in->probe_result);
    free(in->gate_wait);
    free(in);
}

static struct instance *instance_new(struct role *r, int index)
{
    struct sup *s = r->sup;
    struct instance *in = xcalloc(1, sizeof *in);
    in->role = r;
    in->index = index;
    in->label = plan_instance_label(r->plan, r->pidx, index);
    in->state = ST_STOPPED;
    in->last_code = -1;
    uv_timer_init(s->loop, &in->timer);
    in->timer.data = in;
    in->handles = 1;
    in->src.label = in->label;
    in->src.role = role_cfg(r)->name;
    in->src.instance = index;
    in->src.color = logfmt_color(r->color);
    logfmt_prepare(&s->log.style, &in->src);
    return in;
}

static struct role *role_new(struct sup *s, struct plan *p, size_t idx)
{
    struct role *r = xcalloc(1, sizeof *r);
    r->sup = s;
    r->plan = plan_ref(p);
    r->pidx = idx;
    r->want = true;
    r->color = idx;
    if (p->roles[idx].selected) {
        r->ninst = p->roles[idx].cfg->instances;
        r->inst = xcalloc((size_t)r->ninst, sizeof *r->inst);
        for (int k = 0; k < r->ninst; k++)
            r->inst[k] = instance_new(r, k);
    }
    return r;
}

struct role *sup_find_role(struct sup *s, const char *name)
{
    for (size_t i = 0; i < s->nroles; i++)
        if (!strcmp(role_cfg(s->roles[i])->name, name)) return s->roles[i];
    return NULL;
}

/* ---- logs' look -------------------------------------------------------------------------- */

static void apply_style(struct sup *s)
{
    const struct roster_config *c = &s->plan->cfg;
    struct log_style *st = &s->log.style;
    st->format = s->opts.log_format >= 0 ? (enum log_format)s->opts.log_format : c->log_format;
    st->timestamps = s->opts.timestamps >= 0 ? s->opts.timestamps != 0 : c->timestamps;
    bool color;
    const char *nc = getenv("NO_COLOR"), *fc = getenv("FORCE_COLOR");
    if (s->opts.no_color || c->color == COLOR_NEVER)
        color = false;
    else if (s->opts.force_color || c->color == COLOR_ALWAYS)
        color = true;
    else if (nc && *nc)
        color = false;
    else if (fc && *fc)
        color = strcmp(fc, "0") != 0 && strcmp(fc, "false") != 0;
    else
        color = isatty(1);
    st->color = color && st->format == LOG_TEXT;
    int pad = 6; /* "roster" */
    for (size_t i = 0; i < s->plan->nroles; i++) {
        if (!s->plan->roles[i].selected) continue;
        char *label = plan_instance_label(s->plan, i, s->plan->roles[i].cfg->instances - 1);
        int len = (int)strlen(label);
        free(label);
        if (len > pad) pad = len;
    }
    st->pad = pad;
    for (size_t i = 0; i < s->nroles; i++)
        for (int k = 0; k < s->roles[i]->ninst; k++)
            logfmt_prepare(st, &s->roles[i]->inst[k]->src);
}

/* ---- reload ------------------------------------------------------------------------------ */

int sup_reload(struct sup *s, sbuf *errout)
{
    if (s->shutting_down) {
        sbuf_puts(errout, "roster is shutting down");
        return -1;
    }
    struct roster_config cfg;
    diags d = {0};
    struct plan *np = NULL;
    if (config_load(&s->opts.copts, &cfg, &d) == 0) {
        struct plan_opts po = {.roles = s->opts.roles, .environ_ = s->opts.environ_};
        np = plan_build(&cfg, &po, &d);
    } else {
        config_free(&cfg);
    }
    if (np) hooks_plan_prepare(s, np, &d);
    if (!np || diags_count(&d)) {
        for (size_t i = 0; i < d.items.n; i++) {
            logmux_event(&s->log, "reload_failed", NULL, 0, NULL, "reload failed: %s",
                         d.items.v[i]);
            sbuf_printf(errout, "%s\n", d.items.v[i]);
        }
        logmux_event(&s->log, "reload_failed", NULL, 0, NULL,
                     "reload failed; the running roles are kept as they are");
        diags_free(&d);
        if (np) plan_unref(np);
        return -1;
    }
    diags_free(&d);

    struct role **nr = xcalloc(np->nroles ? np->nroles : 1, sizeof *nr);
    bool *taken = xcalloc(s->nroles ? s->nroles : 1, sizeof *taken);
    int unchanged = 0, changed = 0, added = 0, removed = 0;
    for (size_t j = 0; j < np->nroles; j++) {
        const struct plan_role *npr = &np->roles[j];
        struct role *old = NULL;
        size_t oi = 0;
        for (size_t i = 0; i < s->nroles; i++)
            if (!strcmp(role_cfg(s->roles[i])->name, npr->cfg->name)) {
                old = s->roles[i];
                oi = i;
            }
        if (old && !strcmp(role_plan(old)->fingerprint, npr->fingerprint) &&
            sup_role_selected(old) == npr->selected) {
            taken[oi] = true;
            plan_unref(old->plan);
            old->plan = plan_ref(np);
            old->pidx = j;
            old->color = j;
            for (int k = 0; k < old->ninst; k++) {
                old->inst[k]->src.role = npr->cfg->name;
                old->inst[k]->src.color = logfmt_color(j);
            }
            nr[j] = old;
            if (npr->selected) unchanged++;
            continue;
        }
        nr[j] = role_new(s, np, j);
        if (old && sup_role_selected(old)) {
            nr[j]->predecessor = old;
            if (npr->selected) changed++;
        } else if (npr->selected) {
            added++;
        }
    }
    for (size_t i = 0; i < s->nroles; i++) {
        if (taken[i]) continue;
        struct role *old = s->roles[i];
        bool replaced = false;
        for (size_t j = 0; j < np->nroles; j++)
            if (nr[j]->predecessor == old) replaced = true;
        if (!replaced && sup_role_selected(old)) removed++;
        old->want = false;
        s->retiring = xrealloc(s->retiring, (s->nretiring + 1) * sizeof *s->retiring);
        s->retiring[s->nretiring++] = old;
    }
    free(taken);
    free(s->roles);
    s->roles = nr;
    s->nroles = np->nroles;
    struct plan *old_plan = s->plan;
    s->plan = np;
    hooks_plan_swapped(s, old_plan);
    plan_unref(old_plan);
    s->reloads++;
    apply_style(s);
    logmux_event(&s->log, "reloaded", NULL, 0, NULL,
                 "config reloaded: %d changed, %d added, %d removed, %d unchanged", changed, added,
                 removed, unchanged);
    reconcile(s);
    return 0;
}

/* ---- operator actions -------------------------------------------------------------------- */

static struct role *role_for_action(struct sup *s, const char *name, sbuf *err)
{
    if (s->shutting_down) {
        sbuf_puts(err, "roster is shutting down");
        return NULL;
    }
    struct role *r = sup_find_role(s, name);
    if (!r) {
        sbuf_printf(err, "unknown role '%s'; known roles:", name);
        for (size_t i = 0; i < s->nroles; i++)
            sbuf_printf(err, "%s %s", i ? "," : "", role_cfg(s->roles[i])->name);
        return NULL;
    }
    if (!sup_role_selected(r)) {
        sbuf_printf(err, "role '%s' is not run by this roster (not selected)", name);
        return NULL;
    }
    return r;
}

/* An operator start or restart forgets past failures: backoff and give_up count anew. */
static void start_afresh(struct instance *in)
{
    in->failed = false;
    in->consecutive = 0;
    restart_window_clear(&in->window);
    set_state(in, ST_STOPPED);
}

int sup_role_restart(struct sup *s, const char *name, sbuf *err)
{
    struct role *r = role_for_action(s, name, err);
    if (!r) return -1;
    r->want = true;
    for (int k = 0; k < r->ninst; k++) {
        struct instance *in = r->inst[k];
        if (in->state == ST_RUNNING || in->state == ST_READY || in->state == ST_STOPPING ||
            in->state == ST_BACKOFF || in->state == ST_STARTING) {
            stop_instance(in, AFTER_RESTART, "restart requested");
        } else {
            /* exited, given up or stopped: start it afresh */
            start_afresh(in);
        }
    }
    r->blocked_logged = false;
    logmux_event(&s->log, "restart_requested", name, 0, NULL, "%s: restart requested", name);
    reconcile(s);
    return 0;
}

int sup_role_stop(struct sup *s, const char *name, sbuf *err)
{
    struct role *r = role_for_action(s, name, err);
    if (!r) return -1;
    r->want = false;
    for (int k = 0; k < r->ninst; k++)
        stop_instance(r->inst[k], AFTER_STOP, "stop requested");
    logmux_event(&s->log, "stop_requested", name, 0, NULL, "%s: stop requested", name);
    reconcile(s);
    return 0;
}

int sup_role_start(struct sup *s, const char *name, sbuf *err)
{
    struct role *r = role_for_action(s, name, err);
    if (!r) return -1;
    r->want = true;
    r->blocked_logged = false;
    for (int k = 0; k < r->ninst; k++) {
        struct instance *in = r->inst[k];
        if (in->state == ST_EXITED || in->state == ST_GIVEN_UP) start_afresh(in);
    }
    logmux_event(&s->log, "start_requested", name, 0, NULL, "%s: start requested", name);
    reconcile(s);
    return 0;
}

/* ---- memory ------------------------------------------------------------------------------ */

static void on_mem_timer(uv_timer_t *t)
{
    struct sup *s = t->data;
    /* one pass over /proc for every running group */
    size_t n = 0, cap = 0;
    struct instance **ins = NULL;
    pid_t *pgids = NULL;
    for (size_t i = 0; i < s->nroles; i++)
        for (int k = 0; k < s->roles[i]->ninst; k++) {
            struct instance *in = s->roles[i]->inst[k];
            in->memory = 0;
            if (in->state != ST_RUNNING && in->state != ST_READY) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                ins = xrealloc(ins, cap * sizeof *ins);
                pgids = xrealloc(pgids, cap * sizeof *pgids);
            }
            ins[n] = in;
            pgids[n++] = in->pgid;
        }
    uint64_t *rss = xcalloc(n ? n : 1, sizeof *rss);
    proc_groups_rss(pgids, rss, n);
    for (size_t i = 0; i < n; i++) {
        struct instance *in = ins[i];
        const struct role_config *c = role_cfg(in->role);
        in->memory = rss[i];
        if (c->max_memory && in->memory > c->max_memory) {
            char used[32], lim[32];
            snprintf(used, sizeof used, "%.1fMiB", (double)in->memory / 1048576.0);
            units_format_size(c->max_memory, lim, sizeof lim);
            char why[96];
            snprintf(why, sizeof why, "memory %s over max_memory %s", used, lim);
            inst_fail(in, why);
        }
    }
    free(rss);
    free(ins);
    free(pgids);
}

/* ---- setup and run ----------------------------------------------------------------------- */

int sup_init(struct sup *s, uv_loop_t *loop, struct plan *plan, const struct sup_opts *opts)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->opts = *opts;
    s->plan = plan;
    s->started_wall = wall_time();
    srandom((unsigned)(now_us() ^ (uint64_t)getpid()));
    logmux_init(&s->log, loop, 1);
    logmux_set_pressure_cb(&s->log, on_pressure, s);
    s->nroles = plan->nroles;
    s->roles = xcalloc(s->nroles ? s->nroles : 1, sizeof *s->roles);
    for (size_t i = 0; i < s->nroles; i++)
        s->roles[i] = role_new(s, plan, i);
    apply_style(s);

    signal(SIGPIPE, SIG_IGN);
    uv_signal_t *sigs[] = {&s->sig_chld, &s->sig_term, &s->sig_int, &s->sig_hup, &s->sig_quit};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
        uv_signal_init(loop, sigs[i]);
        sigs[i]->data = s;
    }
    uv_signal_start(&s->sig_chld, on_sigchld, SIGCHLD);
    uv_signal_start(&s->sig_term, on_stop_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_stop_signal, SIGINT);
    uv_signal_start(&s->sig_quit, on_stop_signal, SIGQUIT);
    uv_signal_start(&s->sig_hup, on_sighup, SIGHUP);
    uv_timer_init(loop, &s->group_timer);
    s->group_timer.data = s;
    uv_timer_init(loop, &s->shutdown_timer);
    s->shutdown_timer.data = s;
    uv_timer_init(loop, &s->mem_timer);
    s->mem_timer.data = s;
    uv_timer_init(loop, &s->gc_timer);
    s->gc_timer.data = s;

    if (proc_become_subreaper() < 0)
        logmux_event(&s->log, "warning", NULL, 0, NULL,
                     "could not become a child subreaper; orphaned grandchildren are not reaped");
    return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

int sup_run(struct sup *s)
{
    const struct roster_config *c = &s->plan->cfg;
    sbuf sel;
    sbuf_init(&sel);
    for (size_t i = 0; i < s->plan->norder; i++)
        sbuf_printf(&sel, "%s%s", i ? ", " : "", s->plan->roles[s->plan->order[i]].cfg->name);
    logmux_event(&s->log, "starting", NULL, 0, NULL, "roster %s starting %s (pid %d): %s",
                 ROSTER_VERSION, c->app, (int)getpid(), sel.data ? sel.data : "");
    sbuf_free(&sel);
    for (size_t i = 0; i < s->plan->notes.n; i++)
        logmux_event(&s->log, "note", NULL, 0, NULL, "%s", s->plan->notes.v[i]);
    if (hooks_start(s) < 0) {
        s->finished = true;
        s->exit_code = 1;
    } else {
        uv_timer_start(&s->mem_timer, on_mem_timer, MEM_SAMPLE_MS, MEM_SAMPLE_MS);
        reconcile(s);
        /* A child that exited before the loop ran is reaped here. */
        reap(s);
        if (!s->finished) uv_run(s->loop, UV_RUN_DEFAULT);
    }
    /* Done: whatever is left (after shutdown_timeout) is killed; close every handle. */
    kill_all(s);
    reap(s);
    hooks_stop(s);
    logmux_flush_sync(&s->log, 5000);
    logmux_stop(&s->log);
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        for (int k = 0; k < r->ninst; k++)
            for (int w = 0; w < 2; w++)
                if (r->inst[k]->streams[w]) {
                    close(r->inst[k]->streams[w]->fd);
                    r->inst[k]->streams[w]->fd = -1;
                }
    }
    uv_walk(s->loop, close_walk, NULL);
    /* A uv_stop() whose uv_run never happened leaves the stop flag set: the first run only
     * clears it. The second runs the close callbacks. */
    uv_run(s->loop, UV_RUN_NOWAIT);
    uv_run(s->loop, UV_RUN_DEFAULT);
    int code;
    if (lone_oneshot_status(s, &code)) s->exit_code = code;
    return s->exit_code;
}

void sup_free(struct sup *s)
{
    struct role **lists[2] = {s->roles, s->retiring};
    size_t counts[2] = {s->nroles, s->nretiring};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            struct role *r = lists[l][i];
            for (int k = 0; k < r->ninst; k++) {
                struct instance *in = r->inst[k];
                for (int w = 0; w < 2; w++)
                    if (in->streams[w]) {
                        linebuf_free(&in->streams[w]->lb);
                        free(in->streams[w]);
                    }
                in->handles = 0;
                in->released = true;
                release_instance(in);
            }
            free(r->inst);
            plan_unref(r->plan);
            free(r);
        }
    free(s->roles);
    free(s->retiring);
    health_cache_free(s);
    plan_unref(s->plan);
    logmux_close(&s->log);
}
