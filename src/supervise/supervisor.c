/* supervisor.c — role instances' lifecycles on one uv loop: the dispatch of lifecycle.h's table
 * and its entry actions, dependencies and reconciling, ordered shutdown, reload, operator
 * actions, posted work and the observers. Output pipes are output.c's. */
#include "supervise/supervisor.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/exitstatus.h"
#include "base/redact.h"
#include "base/units.h"
#include "os/lazylib.h"
#include "os/pty.h"
#include "os/sys.h"
#include "plan/libs.h"
#include "supervise/input.h"
#include "supervise/observer.h"
#include "supervise/output.h"

#define GROUP_POLL_MS    50
#define STREAM_PIPE_SIZE (256u << 10) /* a chatty child blocks less often */
#define MEM_SAMPLE_MS    1000
#define MEM_SAMPLE_MAX_MS 10000
#define MEM_COST_SHARE   1000
/* As PID 1, what is left of the namespace at the end gets this long after SIGTERM. */
#define NAMESPACE_GRACE_MS 2000

static void dispatch(struct instance *in, enum inst_event ev, const char *why);
static void post_reconcile(struct sup *s);
static void reload_abandon(struct sup *s);
static void release_instance(struct instance *in);

/* ---- the real process backend ------------------------------------------------------------ */

static int os_spawn(void *ud, const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen)
{
    (void)ud;
    return proc_spawn(o, pid, err, errlen);
}

static int os_signal_group(void *ud, pid_t pgid, int sig)
{
    (void)ud;
    return proc_signal_group(pgid, sig);
}

static bool os_group_alive(void *ud, pid_t pgid)
{
    (void)ud;
    return proc_group_alive(pgid);
}

static pid_t os_wait_any(void *ud, int *status)
{
    (void)ud;
    pid_t pid;
    do
        pid = waitpid(-1, status, WNOHANG);
    while (pid < 0 && errno == EINTR);
    return pid > 0 ? pid : 0;
}

static void os_scan(void *ud, struct proc_scan *sc)
{
    (void)ud;
    proc_scan(sc);
}

const struct proc_backend proc_backend_os = {
    .spawn = os_spawn,
    .signal_group = os_signal_group,
    .group_alive = os_group_alive,
    .wait_any = os_wait_any,
    .scan = os_scan,
    .uses_sigchld = true,
};

/* ---- small helpers ----------------------------------------------------------------------- */

const struct role_config *role_cfg(const struct role *r)
{
    return r->plan->roles[r->pidx].cfg;
}

const struct plan_role *role_plan(const struct role *r)
{
    return &r->plan->roles[r->pidx];
}

void role_spawn_opts(const struct role *r, struct spawn_opts *so)
{
    const struct plan_role *pr = role_plan(r);
    memset(so, 0, sizeof *so);
    /* a builtin role starts where roster runs, so that -c FILE reads the same file; it applies
     * cwd to what it runs itself */
    so->cwd = pr->cfg->builtin == BUILTIN_NONE ? pr->cfg->cwd : NULL;
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

bool inst_has_exit(const struct instance *in)
{
    return in->exit.wall != 0;
}

static bool is_oneshot(const struct role *r)
{
    return role_cfg(r)->kind == ROLE_ONESHOT;
}

struct instance *sup_next_instance(struct inst_iter *it)
{
    const struct sup *s = it->s;
    for (; it->list < 2; it->list++, it->role = 0, it->k = 0) {
        struct role **roles = it->list == 0 ? s->roles : s->retiring;
        size_t n = it->list == 0 ? s->nroles : s->nretiring;
        for (; it->role < n; it->role++, it->k = 0)
            if (it->k < roles[it->role]->ninst) return roles[it->role]->inst[it->k++];
    }
    return NULL;
}

/* ---- observers --------------------------------------------------------------------------- */

#define EMIT(s, cb, ...)                                                                           \
    do {                                                                                           \
        for (int i_ = 0; i_ < (s)->nobs; i_++)                                                     \
            if ((s)->obs[i_].ops->cb) (s)->obs[i_].ops->cb((s)->obs[i_].ud, __VA_ARGS__);          \
    } while (0)

int sup_attach(struct sup *s, const struct sup_observer *ops, void *ud)
{
    if (s->nobs >= SUP_MAX_OBSERVERS) return -1;
    s->obs[s->nobs] = (struct sup_obs_slot){ops, ud};
    return s->nobs++;
}

static bool gates_open(struct instance *in)
{
    struct sup *s = in->role->sup;
    for (int i = 0; i < s->nobs; i++)
        if (s->obs[i].ops->gate && !s->obs[i].ops->gate(s->obs[i].ud, in)) return false;
    return true;
}

void sup_changed(struct sup *s)
{
    s->state_version++;
}

/* ---- posted work: what observers ask for runs on the next loop turn ---------------------- */

enum post_kind { POST_READY, POST_FAIL, POST_GATES, POST_RECONCILE, POST_OP };
enum op_kind { OP_RESTART, OP_STOP, OP_START };

struct post {
    struct post *next;
    enum post_kind kind;
    struct instance *in; /* POST_READY, POST_FAIL */
    char *text;          /* how, why, or the role's name */
    enum op_kind op;
};

static void run_posts(uv_idle_t *h);

static void post(struct sup *s, enum post_kind kind, struct instance *in, const char *text,
                 enum op_kind op)
{
    if (s->stopped) return;
    if (kind == POST_RECONCILE || kind == POST_GATES)
        for (struct post *p = s->posts; p; p = p->next)
            if (p->kind == kind) return; /* one is enough */
    struct post *p = xcalloc(1, sizeof *p);
    p->kind = kind;
    p->in = in;
    p->text = text ? xstrdup(text) : NULL;
    p->op = op;
    *s->posts_tail = p;
    s->posts_tail = &p->next;
    /* An idle handle, not a 0 ms timer: libuv before 1.45 runs a 0 ms timer started from its
     * own callback again in the same pass, so a run of immediate retries would never let the
     * loop poll (signals, the control socket, the children's pipes). */
    if (!uv_is_active((uv_handle_t *)&s->post_idle)) uv_idle_start(&s->post_idle, run_posts);
}

static void post_reconcile(struct sup *s)
{
    post(s, POST_RECONCILE, NULL, NULL, 0);
}

void sup_post_ready(struct instance *in, const char *how)
{
    post(in->role->sup, POST_READY, in, how, 0);
}

void sup_post_fail(struct instance *in, const char *why)
{
    post(in->role->sup, POST_FAIL, in, why, 0);
}

void sup_post_gates_changed(struct sup *s)
{
    post(s, POST_GATES, NULL, NULL, 0);
}

/* An instance being freed takes its posts with it. */
static void drop_posts(struct sup *s, const struct instance *in)
{
    struct post **pp = &s->posts;
    s->posts_tail = &s->posts;
    while (*pp) {
        struct post *p = *pp;
        if (p->in == in) {
            *pp = p->next;
            free(p->text);
            free(p);
            continue;
        }
        pp = &p->next;
        s->posts_tail = pp;
    }
}

static void free_posts(struct sup *s)
{
    while (s->posts) {
        struct post *p = s->posts;
        s->posts = p->next;
        free(p->text);
        free(p);
    }
    s->posts_tail = &s->posts;
}

static void reconcile(struct sup *s);
static void run_op(struct sup *s, enum op_kind op, const char *name);

static void run_posts(uv_idle_t *h)
{
    struct sup *s = h->data;
    /* Only what was posted before this turn: work posted while running waits for the next. */
    struct post *batch = s->posts;
    s->posts = NULL;
    s->posts_tail = &s->posts;
    while (batch) {
        struct post *p = batch;
        batch = p->next;
        switch (p->kind) {
        case POST_READY:
            if (p->in->state == ST_RUNNING) {
                dispatch(p->in, EV_READY, p->text);
                if (p->text)
                    logmux_event(&s->log, "ready", role_cfg(p->in->role)->name, p->in->index, NULL,
                                 "%s is ready (%s)", p->in->label, p->text);
            }
            break;
        case POST_FAIL: dispatch(p->in, EV_FAIL, p->text); break;
        case POST_GATES: {
            struct inst_iter it = {.s = s};
            for (struct instance *in; (in = sup_next_instance(&it));)
                if (in->state == ST_STARTING && !s->shutting_down && gates_open(in))
                    dispatch(in, EV_GATES_OPEN, NULL);
            break;
        }
        case POST_RECONCILE: reconcile(s); break;
        case POST_OP: run_op(s, p->op, p->text); break;
        }
        free(p->text);
        free(p);
    }
    if (!s->posts) uv_idle_stop(h); /* else what was posted meanwhile runs on the next turn */
}

/* ---- the lifecycle's dispatch and entry actions ------------------------------------------ */

static void enter(struct instance *in, enum inst_state st)
{
    if (in->state == st) return;
    struct sup *s = in->role->sup;
    enum inst_state old = in->state;
    in->state = st;
    s->state_version++;
    EMIT(s, state, in, old, st);
    /* Every change may start, stop or end something else: one reconcile on the next turn
     * looks at the whole picture (so a restart passes the same dependency gate as a start,
     * and no chain of immediate retries grows the stack). */
    post_reconcile(s);
}

static void on_timer(uv_timer_t *t)
{
    dispatch(t->data, EV_TIMER, NULL);
}

static void record_exit(struct instance *in, int code, int sig)
{
    in->exit.code = code;
    in->exit.signal = sig;
    in->exit.wall = wall_time();
}

/* A built-in role's line on behalf of one of its tasks (log/taskmark.h): the mark is read
 * here, on built-in roles' lines only, and the task shown with the line; a continued piece
 * (the line reader cut a longer line) keeps its line's task. */
static void builtin_line(struct instance *in, int which, const char *line, size_t len, bool cont)
{
    struct stream *st = in->streams[which];
    const char *name = NULL, *text = line;
    size_t name_len = 0, text_len = len;
    if (cont && st && st->task_len) {
        name = st->task;
        name_len = st->task_len;
    } else if (!cont && taskmark_split(line, len, &name, &name_len, &text, &text_len)) {
        if (st) {
            memcpy(st->task, name, name_len);
            st->task_len = name_len;
            name = st->task;
        }
    } else if (st) {
        st->task_len = 0;
    }
    in->src.task = name;
    in->src.task_len = name_len;
    crashlog_line(in, which, text, text_len, cont);
    in->src.task = NULL;
    in->src.task_len = 0;
    EMIT(in->role->sup, line, in, text, text_len);
}

static void sink_line(struct instance *in, int which, const char *line, size_t len, bool cont)
{
    struct sup *s = in->role->sup;
    in->lines[which]++;
    if (role_cfg(in->role)->builtin != BUILTIN_NONE) {
        builtin_line(in, which, line, len, cont);
        return;
    }
    crashlog_line(in, which, line, len, cont);
    EMIT(s, line, in, line, len);
}

static void stream_closed(struct instance *in)
{
    in->handles--;
    if (in->released && in->handles == 0) release_instance(in);
}

/* concurrently's look: its LogError lines. */
static void look_spawn_failed(struct instance *in, const char *msg)
{
    struct sup *s = in->role->sup;
    if (!s->log.style.look) return;
    logmux_note(&s->log, &in->src, "Error occurred when executing command: %s", in->src.command);
    logmux_note(&s->log, &in->src, "%s", msg);
}

/* A spawn that failed in roster (not in the child): the process ended at once with 127. */
static void spawn_failed_now(struct instance *in, const char *msg)
{
    struct sup *s = in->role->sup;
    logmux_event(&s->log, "spawn_failed", role_cfg(in->role)->name, in->index, NULL,
                 "%s failed to start: %s", in->label, msg);
    look_spawn_failed(in, msg);
    free(in->spawn_error);
    in->spawn_error = xstrdup(msg);
    record_exit(in, 127, 0);
    in->spawned_at = now_ms();
    in->pid = 0;
    in->pgid = 0;
    dispatch(in, EV_GROUP_GONE, NULL);
}

static void act_spawn(struct instance *in)
{
    struct role *r = in->role;
    struct sup *s = r->sup;
    const struct plan_role *pr = role_plan(r);
    const struct role_config *c = pr->cfg;

    if (c->user && !pr->has_user && geteuid() != 0) {
        spawn_failed_now(in, "user: needs roster to run as root");
        return;
    }
    envmap env = {0};
    plan_instance_env(r->plan, r->pidx, in->index, &env);
    /* Children write into roster's pipes, not a terminal: when roster colors its own output,
     * FORCE_COLOR tells them to color theirs too (as concurrently does), unless it is set. */
    if (s->log.style.color)
        envmap_set_default(&env, "FORCE_COLOR",
                           logfmt_color_level(envmap_get(&r->plan->vars, "TERM"),
                                              envmap_get(&r->plan->vars, "COLORTERM")));
    EMIT(s, env, in, &env);
    char **envp = envmap_to_envp(&env);
    envmap_free(&env);
    int fd3 = -1; /* the child's fd 3, which an observer may hand over (observer.h) */
    for (int i = 0; i < s->nobs && fd3 < 0; i++)
        if (s->obs[i].ops->child_fd) fd3 = s->obs[i].ops->child_fd(s->obs[i].ud, in);

    char *const *argv = pr->argv.v;
    /* concurrently says so before it starts a command again */
    if (s->log.style.look && in->spawned_wall != 0)
        logmux_note(&s->log, &in->src, "%s restarted", in->src.command);

    /* Bigger pipes: a chatty child blocks less often, and each read takes more lines. A tty
     * role has one pseudo-terminal instead: out[0] its master, out[1] its slave (stdin, stdout
     * and stderr alike). */
    int out[2] = {-1, -1}, err[2] = {-1, -1}, inp[2] = {-1, -1};
    int prc;
    if (c->tty) {
        prc = pty_open(&out[0], &out[1], pty_term_size());
    } else {
        prc = os_pipe(out, STREAM_PIPE_SIZE);
        if (prc == 0) prc = os_pipe(err, STREAM_PIPE_SIZE);
        if (prc == 0 && c->stdin_pipe) prc = os_pipe(inp, 0);
    }
    if (prc < 0) {
        int e = -prc;
        if (out[0] >= 0) close(out[0]), close(out[1]);
        if (err[0] >= 0) close(err[0]), close(err[1]);
        if (fd3 >= 0) close(fd3);
        envp_free(envp);
        spawn_failed_now(in, strerror(e));
        return;
    }
    struct spawn_opts so;
    role_spawn_opts(r, &so);
    so.argv = argv;
    so.envp = envp;
    so.stdout_fd = out[1];
    so.stderr_fd = c->tty ? out[1] : err[1];
    if (inp[0] >= 0) so.stdin_fd = inp[0];
    if (c->tty) so.stdin_fd = out[1];
    so.ctty = c->tty;
    if (fd3 > 0) so.fd3 = fd3;
    pid_t pid = 0;
    char msg[256];
    int rc = s->be->spawn(s->be->ud, &so, &pid, msg, sizeof msg);
    if (fd3 >= 0) close(fd3);
    close(out[1]);
    if (err[1] >= 0) close(err[1]);
    /* a tty role's input goes to its master: a descriptor of its own, closed with stdin's */
    if (c->tty && (rc == 0 || pid > 0) && (in->stdin_fd = fcntl(out[0], F_DUPFD_CLOEXEC, 3)) < 0)
        logmux_event(&s->log, "warning", c->name, in->index, NULL,
                     "%s: no descriptor for its terminal's input (%s): input and window size "
                     "changes do not reach it",
                     in->label, strerror(errno));
    if (inp[0] >= 0) {
        close(inp[0]);
        /* a child that does not read must not block the loop: what does not fit is refused */
        fcntl(inp[1], F_SETFL, O_NONBLOCK);
        if (rc < 0 && pid <= 0)
            close(inp[1]);
        else
            in->stdin_fd = inp[1];
    }
    envp_free(envp);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    if (err[0] >= 0) fcntl(err[0], F_SETFL, O_NONBLOCK);

    free(in->spawn_error);
    in->spawn_error = NULL;
    if (rc < 0 && pid <= 0) {
        close(out[0]);
        if (err[0] >= 0) close(err[0]);
        spawn_failed_now(in, msg);
        return;
    }
    in->pid = pid;
    in->pgid = pid;
    in->spawned_at = now_ms();
    in->spawned_wall = wall_time();
    in->src.pid = pid;
    logfmt_prepare(&s->log.style, &in->src);
    crashlog_start(in);
    if (c->tty) {
        output_open_pty(in, out[0], s->log.paused, sink_line, stream_closed);
    } else {
        output_open(in, LOG_STDOUT, out[0], s->log.paused, sink_line, stream_closed);
        output_open(in, LOG_STDERR, err[0], s->log.paused, sink_line, stream_closed);
    }
    dispatch(in, EV_SPAWNED, NULL);
    if (rc < 0) {
        /* exec failed in the child, which exits 127; the reaper finishes the story */
        in->spawn_error = xstrdup(msg);
        logmux_event(&s->log, "spawn_failed", c->name, in->index, NULL, "%s failed to start: %s",
                     in->label, msg);
        look_spawn_failed(in, msg);
        return;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "\"pid\":%d", (int)pid);
    logmux_event(&s->log, "started", c->name, in->index, extra, "%s started (pid %d)", in->label,
                 (int)pid);
    EMIT(s, spawned, in);
    /* Without a ready check a started process is ready at once. */
    if (c->ready.kind == PROBE_NONE) dispatch(in, EV_READY, NULL);
}

/* The role's stop signal to its whole group (and SIGCONT, in case it was stopped), then SIGKILL
 * after stop.timeout unless the group is empty by then. */
static void act_signal_stop(struct instance *in, enum inst_event ev, const char *why)
{
    struct sup *s = in->role->sup;
    const struct role_config *c = role_cfg(in->role);
    crashlog_release(in);
    if (ev == EV_LEADER_GONE)
        logmux_event(&s->log, "stopping_group", c->name, in->index, NULL,
                     "%s: main process ended but its process group lives on; stopping the group",
                     in->label);
    else
        logmux_event(&s->log, "stopping", c->name, in->index, NULL, "%s stopping (%s): sending %s",
                     in->label, why ? why : "stop", signal_name(c->stop_signal));
    s->be->signal_group(s->be->ud, in->pgid, c->stop_signal);
    s->be->signal_group(s->be->ud, in->pgid, SIGCONT);
    uv_timer_start(&in->timer, on_timer, c->stop_timeout_ms, 0);
}

static void act_kill(struct instance *in)
{
    struct sup *s = in->role->sup;
    if (in->pgid <= 0) return;
    char tmo[32];
    units_format_duration(role_cfg(in->role)->stop_timeout_ms, tmo, sizeof tmo);
    logmux_event(&s->log, "killing", role_cfg(in->role)->name, in->index, NULL,
                 "%s did not stop within %s; sending SIGKILL to its process group", in->label, tmo);
    s->be->signal_group(s->be->ud, in->pgid, SIGKILL);
}

/* The process group is gone: decide what comes next (restart_decide) and enter it. */
static void act_decide(struct instance *in)
{
    struct role *r = in->role;
    struct sup *s = r->sup;
    const struct role_config *c = role_cfg(r);

    output_finish(in);
    uv_timer_stop(&in->timer);
    if (in->stdin_fd >= 0) close(in->stdin_fd);
    in->stdin_fd = -1;
    EMIT(s, exited, in);
    in->pid = 0;
    in->pgid = 0;

    uint64_t now = now_ms();
    struct restart_input ri = {
        .from = in->state,
        .oneshot = is_oneshot(r),
        .policy = c->restart,
        .success = in->exit.code == 0,
        .shutting_down = s->shutting_down,
        .uptime_ms = now - in->spawned_at,
        .consecutive = in->consecutive,
        .give_up_after = c->give_up_after < 0 ? 0 : (unsigned)c->give_up_after,
        .backoff_initial_ms = c->backoff_initial_ms,
        .backoff_max_ms = c->backoff_max_ms,
        .backoff_reset_ms = c->backoff_reset_ms,
        .r01 = (double)random() / ((double)RAND_MAX + 1.0),
    };
    bool crashable = !s->shutting_down && in->state != ST_STOPPING && in->state != ST_RESTARTING;
    if (crashable) {
        size_t with = restart_window_add(&in->window, now, c->give_up_within_ms,
                                         (size_t)c->give_up_after + 1);
        ri.recent = with ? (unsigned)(with - 1) : 0;
    }
    struct restart_output ro = restart_decide(&ri);

    /* Stopped by roster (a shutdown, an operator stop or restart) is no end of its own. */
    in->end_seq = ++s->ends;
    in->end_own = ro.verdict != RV_DOWN && ro.verdict != RV_RESTART;
    in->end_status = exitstatus_shell(in->exit.code, in->exit.signal);
    /* a failure that exited 0 (stopped for a failed check) is still one */
    if (in->end_status == 0 && (!ri.success || in->state == ST_FAILING)) in->end_status = 1;

    /* the dev profile: a crash that repeated the last one's output exactly is said in a line */
    unsigned same = crashlog_end(in, crashable && in->end_status != 0, in->end_status);

    char how[64], extra[96];
    exitstatus_describe(in->exit.code, in->exit.signal, EXITSTATUS_EVENT, how, sizeof how);
    exitstatus_json(in->exit.code, in->exit.signal, extra, sizeof extra);
    if (s->log.style.look) {
        /* concurrently's words: the code, or the signal's name */
        char code[32];
        if (in->exit.signal)
            snprintf(code, sizeof code, "%s", signal_name(in->exit.signal));
        else
            snprintf(code, sizeof code, "%d", in->exit.code);
        logmux_note(&s->log, &in->src, "%s exited with code %s", in->src.command, code);
    }
    if (ro.verdict == RV_DOWN) {
        logmux_event(&s->log, "stopped", c->name, in->index, extra, "%s stopped (%s)", in->label,
                     how);
        enter(in, ST_DOWN);
        return;
    }
    if (same >= 2) {
        char last[48] = "the last crash";
        if (same > 2) snprintf(last, sizeof last, "the last %u crashes", same - 1);
        logmux_event(&s->log, "exited", c->name, in->index, extra,
                     "%s exited (%s) again — same output as %s (×%u)", in->label, how, last, same);
    } else
        logmux_event(&s->log, "exited", c->name, in->index, extra, "%s exited (%s)", in->label,
                     how);
    in->consecutive = ro.consecutive;
    switch (ro.verdict) {
    case RV_RESTART:
    case RV_RESTART_NOW:
    case RV_RESTART_LATER: {
        in->restarts++;
        in->last_restart_wall = wall_time();
        if (ro.verdict == RV_RESTART) break;
        char ex[64];
        snprintf(ex, sizeof ex, "\"delay_ms\":%llu", (unsigned long long)ro.delay_ms);
        if (ro.verdict == RV_RESTART_NOW)
            logmux_event(&s->log, "restarting", c->name, in->index, ex, "%s restarting now",
                         in->label);
        else
            logmux_event(&s->log, "restarting", c->name, in->index, ex,
                         "%s restarting in %llu ms", in->label, (unsigned long long)ro.delay_ms);
        break;
    }
    case RV_GIVE_UP: {
        char within[32];
        units_format_duration(c->give_up_within_ms, within, sizeof within);
        logmux_event(&s->log, "gave_up", c->name, in->index, NULL,
                     "%s gave up: %d restarts within %s (give_up.then: %s)", in->label,
                     c->give_up_after, within, give_up_then_name(c->give_up_then));
        break;
    }
    case RV_FAILED:
        if (c->give_up_then == GIVEUP_EXIT)
            logmux_event(&s->log, "failed", c->name, in->index, NULL,
                         "%s failed and is not restarted (restart: %s); stopping (give_up.then: "
                         "exit)",
                         in->label, restart_policy_name(c->restart));
        break;
    default: break;
    }
    if ((ro.verdict == RV_GIVE_UP || ro.verdict == RV_FAILED) && c->give_up_then == GIVEUP_STAY &&
        !s->shutting_down)
        logmux_event(&s->log, "staying_down", c->name, in->index, NULL,
                     "%s stays down and the other roles run on; `roster restart %s`%s starts it "
                     "again",
                     in->label, in->label, c->watch.n ? " or a change to a watched file" : "");
    enter(in, restart_verdict_state(ro.verdict));
    if (ro.verdict == RV_RESTART_LATER) uv_timer_start(&in->timer, on_timer, ro.delay_ms, 0);
    /* The dev profile is never turned on by a terminal (what roster does in production must
     * not depend on where its output goes), but a terminal is where it is wanted: said once. */
    if (c->give_up_then == GIVEUP_EXIT && ro.verdict == RV_GIVE_UP && !s->shutting_down &&
        !s->plan->cfg.dev && !s->log.style.look && s->nroles > 1 && isatty(1))
        logmux_event(&s->log, "hint", NULL, 0, NULL,
                     "hint: `roster --dev` (or ROSTER_DEV=1) keeps the other roles running when "
                     "one gives up, and shows a repeated crash once");
    if (c->give_up_then == GIVEUP_EXIT && ro.verdict == RV_GIVE_UP)
        sup_shutdown(s, 0, "a role gave up");
    if (c->give_up_then == GIVEUP_EXIT && ro.verdict == RV_FAILED)
        sup_shutdown(s, 0, is_oneshot(r) ? "a oneshot failed" : "a role failed");
    /* exit_on_end: its end for good (no restart follows) stops the others; those are stopped by
     * the shutdown, so their backoffs and pending restarts are dropped too (concurrently #579,
     * #496). */
    bool for_good = ro.verdict == RV_EXITED || ro.verdict == RV_FAILED || ro.verdict == RV_GIVE_UP;
    if (for_good && (c->exit_on_end == EXIT_ON_END_ALWAYS ||
                     (c->exit_on_end == EXIT_ON_END_FAILURE && ro.verdict != RV_EXITED))) {
        char why[128];
        snprintf(why, sizeof why, "%s ended (exit_on_end: %s)", in->label,
                 exit_on_end_name(c->exit_on_end));
        bool others = false;
        struct inst_iter it = {.s = s};
        for (struct instance *o; (o = sup_next_instance(&it));)
            others |= o != in && inst_alive(o);
        if (s->log.style.look && others && !s->shutting_down)
            logmux_note(&s->log, NULL, "Sending %s to other processes..",
                        signal_name(c->stop_signal));
        sup_shutdown(s, 0, why);
    }
}

/* The one place an instance changes state: looks the event up in the table, runs the
 * transition's action, enters the next state. */
static void dispatch(struct instance *in, enum inst_event ev, const char *why)
{
    struct inst_transition t = lifecycle_step(in->state, ev);
    switch (t.action) {
    case ACT_IGNORE: return;
    case ACT_NONE: enter(in, t.next); return;
    case ACT_CHECK_GATES:
        enter(in, t.next);
        if (gates_open(in)) dispatch(in, EV_GATES_OPEN, NULL);
        return;
    case ACT_SPAWN: act_spawn(in); return;
    case ACT_SIGNAL_STOP:
        enter(in, t.next);
        act_signal_stop(in, ev, why);
        return;
    case ACT_KILL: act_kill(in); return;
    case ACT_CANCEL:
        uv_timer_stop(&in->timer);
        enter(in, t.next);
        return;
    case ACT_DECIDE: act_decide(in); return;
    }
}

/* ---- reaping ----------------------------------------------------------------------------- */

static struct instance *find_by_pid(struct sup *s, pid_t pid)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        if (in->pid == pid) return in;
    return NULL;
}

static void on_group_timer(uv_timer_t *t);

/* After a reap: an instance whose main process is gone (pid 0, group kept) ends when its group
 * is empty too; until then the group is stopped and polled. */
static void check_groups(struct sup *s)
{
    bool waiting = false;
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        if (in->pid != 0 || in->pgid <= 0) continue;
        if (s->be->group_alive(s->be->ud, in->pgid)) {
            dispatch(in, EV_LEADER_GONE, NULL);
            waiting = true;
            continue;
        }
        dispatch(in, EV_GROUP_GONE, NULL);
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

void sup_reap(struct sup *s)
{
    for (;;) {
        int status = 0;
        pid_t pid = s->be->wait_any(s->be->ud, &status);
        if (pid <= 0) break;
        bool owned = false;
        for (int i = 0; i < s->nobs && !owned; i++)
            if (s->obs[i].ops->reaped) owned = s->obs[i].ops->reaped(s->obs[i].ud, s, pid, status);
        if (owned) continue;
        struct instance *in = find_by_pid(s, pid);
        if (!in) {
            s->orphans_reaped++;
            orphans_gone(s, pid);
            continue;
        }
        in->pid = 0;
        int code, sig;
        exitstatus_decode(status, &code, &sig);
        record_exit(in, code, sig);
    }
    /* Group checks come after the whole batch: members killed together are all reaped now. */
    check_groups(s);
}

static void on_sigchld(uv_signal_t *h, int sig)
{
    (void)sig;
    sup_reap(h->data);
}

/* ---- shutdown ---------------------------------------------------------------------------- */

static bool role_alive(const struct role *r)
{
    for (int k = 0; k < r->ninst; k++)
        if (inst_alive(r->inst[k])) return true;
    return false;
}

static void signal_all(struct sup *s, int sig)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        if (in->pgid > 0) s->be->signal_group(s->be->ud, in->pgid, sig);
}

static void kill_all(struct sup *s)
{
    signal_all(s, SIGKILL);
    orphans_kill(s);
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
    reload_abandon(s);
    EMIT(s, shutdown, s);
    uv_timer_start(&s->shutdown_timer, on_shutdown_timer, s->plan->cfg.shutdown_timeout_ms, 0);
    /* posted: this may run under a walk over the instances (a role gave up) */
    post_reconcile(s);
}

/* The first stop signal begins the ordered shutdown; cause, when given, says why. */
static void stop_on_signal(struct sup *s, int sig, const char *cause)
{
    s->stop_signal = sig;
    char why[96];
    snprintf(why, sizeof why, "%s received%s%s", signal_name(sig), cause ? ": " : "",
             cause ? cause : "");
    sup_shutdown(s, 0, why);
}

/* A signal whose default action would end roster at once, leaving its roles unsupervised.
 * SIGPWR (a UPS's power-failure warning, as init treats it) stops the run in order; the others
 * (USR1, USR2, ALRM, VTALRM, PROF, IO, STKFLT, XCPU, XFSZ and the real-time signals) mean
 * nothing to roster and are ignored, said in the log at most once a second per signal. */
static void on_other_signal(uv_signal_t *h, int sig)
{
    struct sup *s = h->data;
    if (sig == SIGPWR) {
        if (!s->shutting_down) stop_on_signal(s, sig, "power failure");
        return;
    }
    size_t slot = (size_t)(h - s->sig_other);
    uint64_t now = now_ms();
    if (slot < s->nsig_other && s->sig_other_said_ms[slot] && now - s->sig_other_said_ms[slot] < 1000)
        return;
    if (slot < s->nsig_other) s->sig_other_said_ms[slot] = now;
    logmux_event(&s->log, "signal", NULL, 0, NULL,
                 "%s received: ignored (TERM, INT, QUIT and PWR stop roster; HUP reloads)",
                 signal_name(sig));
}

static void start_other_signals(struct sup *s, uv_loop_t *loop)
{
    static const int fixed[] = {SIGUSR1, SIGUSR2, SIGALRM,   SIGVTALRM, SIGPROF,
                                SIGIO,   SIGPWR,  SIGSTKFLT, SIGXCPU,   SIGXFSZ};
    int sigs[SUP_MAX_OTHER_SIGNALS];
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
        sigs[n++] = fixed[i];
    for (int sig = SIGRTMIN; sig <= SIGRTMAX && n < SUP_MAX_OTHER_SIGNALS; sig++)
        sigs[n++] = sig;
    for (size_t i = 0; i < n; i++) {
        uv_signal_init(loop, &s->sig_other[i]);
        s->sig_other[i].data = s;
        s->sig_other_said_ms[i] = 0;
        uv_signal_start(&s->sig_other[i], on_other_signal, sigs[i]);
    }
    s->nsig_other = n;
}

static void on_stop_signal(uv_signal_t *h, int sig)
{
    struct sup *s = h->data;
    if (!s->shutting_down) {
        stop_on_signal(s, sig, NULL);
        return;
    }
    /* A second Ctrl-C is someone who will not wait: kill at once, and the run has not ended
     * well whatever exit.interrupted says (128 + the signal, as a shell reports it). */
    if (s->exit_code < 128 + sig) s->exit_code = 128 + sig;
    if (!s->force_killed) {
        logmux_event(&s->log, "kill", NULL, 0, NULL, "second %s: killing every role now",
                     signal_name(sig));
        s->force_killed = true;
        kill_all(s);
        uv_timer_start(&s->shutdown_timer, on_shutdown_timer, 2000, 0);
    }
}

/* True while roster has a controlling terminal. A hangup takes it from the whole session
 * before anyone gets the SIGHUP, so this is false by the time a closed terminal's SIGHUP
 * arrives, and still true for a `kill -HUP` beside a live one. */
static bool has_ctty(void)
{
    int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return false;
    close(fd);
    return true;
}

static bool hup_stops(const struct sup *s)
{
    switch (s->hup) {
    case SUP_HUP_STOP: return true;
    case SUP_HUP_RELOAD: return false;
    default: return s->had_tty && !has_ctty();
    }
}

/* SIGHUP: a reload, coalesced with one in flight (see sup_reload); or, when the terminal went
 * away (see hup_stops), the ordered shutdown. It never escalates: a closed terminal sends it
 * more than once (the shell forwards its own, the kernel sends one to the foreground group
 * when the shell exits). */
static void on_sighup(uv_signal_t *h, int sig)
{
    struct sup *s = h->data;
    if (s->shutting_down) return;
    if (s->opts.no_reload || hup_stops(s)) {
        stop_on_signal(s, sig, s->had_tty && !has_ctty() ? "the terminal went away" : NULL);
        return;
    }
    sup_reload(s, NULL, NULL);
}

/* Ctrl-Z: the children run in process groups of their own, so the terminal's SIGTSTP reaches
 * roster alone. Stop every group (SIGSTOP: a child cannot ignore it), stop roster, and once the
 * shell continues roster (fg, bg), continue every group. */
static void on_sigtstp(uv_signal_t *h, int sig)
{
    struct sup *s = h->data;
    (void)sig;
    logmux_event(&s->log, "suspend", NULL, 0, NULL, "suspended (SIGTSTP): every role stopped");
    logmux_flush_sync(&s->log, 200); /* said before the shell says "Stopped" */
    signal_all(s, SIGSTOP);
    raise(SIGSTOP); /* returns when roster is continued */
    signal_all(s, SIGCONT);
    input_resized(s);
    logmux_event(&s->log, "resume", NULL, 0, NULL, "resumed (SIGCONT): every role continued");
}

/* ROSTER_SIGHUP from the environment roster was given. */
static enum sup_hup hup_mode(char **env)
{
    static const char key[] = "ROSTER_SIGHUP=";
    for (size_t i = 0; env && env[i]; i++) {
        if (strncmp(env[i], key, sizeof key - 1)) continue;
        const char *v = env[i] + sizeof key - 1;
        if (!strcmp(v, "reload")) return SUP_HUP_RELOAD;
        if (!strcmp(v, "stop")) return SUP_HUP_STOP;
    }
    return SUP_HUP_AUTO;
}

/* roster's stdout went away. Run from a terminal (`roster | head`, a closed terminal), nobody
 * sees the roles any more: stop them in order and exit rather than run on unseen. Without a
 * terminal (a container, a service), the log's reader went away, not the user: the app keeps
 * running, and what roster cannot write is counted and said at exit. */
static void on_stdout_gone(void *ud)
{
    struct sup *s = ud;
    if (s->shutting_down) return;
    if (s->had_tty) {
        sup_shutdown(s, 0, "stdout closed");
        return;
    }
    static const char msg[] = "roster: stdout closed: the roles keep running (no terminal); "
                              "their lines are dropped and counted\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
}

/* ---- dependencies and the big picture ---------------------------------------------------- */

enum dep_verdict { DEP_MET, DEP_WAIT, DEP_BLOCKED };

static enum dep_verdict dep_check(struct sup *s, const struct plan_dep *d, const char **which)
{
    struct role *dr = s->roles[d->role];
    *which = role_cfg(dr)->name;
    enum dep_verdict v = DEP_MET;
    for (int k = 0; k < dr->ninst; k++) {
        enum inst_state st = dr->inst[k]->state;
        if (st == ST_FAILED || st == ST_GIVEN_UP) return DEP_BLOCKED;
        bool ok;
        switch (d->cond) {
        case DEP_STARTED: ok = st == ST_RUNNING || st == ST_READY || st == ST_EXITED; break;
        case DEP_READY: ok = st == ST_READY || st == ST_EXITED; break;
        default: ok = st == ST_EXITED;
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

static void stop_role(struct role *r, const char *why)
{
    for (int k = 0; k < r->ninst; k++)
        dispatch(r->inst[k], EV_STOP, why);
}

/* The run's exit code: a failure of roster's own (s->exit_code), else 0 after SIGTERM, else
 * what exit.success makes of each instance's last end of its own (run_exit_code), unless
 * exit.interrupted says a run interrupted by Ctrl-C succeeds. */
static bool lone_oneshot_status(struct sup *s, int *code);

static int run_code(struct sup *s)
{
    const struct exit_config *rule = &s->plan->cfg.exit;
    if (s->exit_code) return s->exit_code;
    /* SIGTERM is how a platform stops a container: a clean end whatever ran. Ctrl-C is someone
     * interrupting a run, which exit.interrupted decides. */
    if (s->stop_signal && s->stop_signal != SIGINT) return 0;
    if (s->stop_signal == SIGINT && rule->interrupted == EXIT_INTERRUPTED_SUCCESS) return 0;
    size_t n = 0, cap = 0;
    struct run_end *ends = NULL;
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        for (int k = 0; k < r->ninst; k++) {
            struct instance *in = r->inst[k];
            if (!in->end_seq || !in->end_own) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                ends = xrealloc(ends, cap * sizeof *ends);
            }
            ends[n++] = (struct run_end){role_cfg(r)->name, in->end_status, in->end_seq};
        }
    }
    int code = run_exit_code(ends, n, rule);
    free(ends);
    return code;
}

static void shutdown_step(struct sup *s)
{
    bool any = false;
    for (size_t i = 0; i < s->nretiring; i++) {
        stop_role(s->retiring[i], "shutdown");
        any |= role_alive(s->retiring[i]);
    }
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        if (!role_alive(r)) {
            stop_role(r, "shutdown"); /* pending starts and backoffs are dropped */
            continue;
        }
        any = true;
        /* Reverse dependency order: wait while a role that depends on this one, directly or
         * through others (api -> migrate -> postgres), still runs. */
        if (dependents_alive(s, i)) continue;
        stop_role(r, "shutdown");
    }
    /* the roles have stopped; what left their groups is stopped next (orphans.h) */
    if (!any && !s->finished && orphans_sweep(s)) {
        s->finished = true;
        s->exit_code = run_code(s);
        lone_oneshot_status(s, &s->exit_code);
        logmux_event(&s->log, "exit", NULL, 0, NULL, "all roles stopped; exiting with code %d",
                     s->exit_code);
        uv_stop(s->loop);
    }
}

/* A run of one oneshot (a PRE_DEPLOY job) exits with that command's own status, also when it
 * was stopped by roster's shutdown (143 for SIGTERM). */
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
    if (inst_alive(in) || !inst_has_exit(in)) return false;
    *code = exitstatus_shell(in->exit.code, in->exit.signal);
    return true;
}

static void check_done(struct sup *s)
{
    size_t selected = 0;
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        if (!sup_role_selected(r)) continue;
        selected++;
        for (int k = 0; k < r->ninst; k++) {
            enum inst_state st = r->inst[k]->state;
            if (st != ST_EXITED && st != ST_FAILED && st != ST_GIVEN_UP) return;
            /* give_up.then: stay keeps a failed role down and roster up, /health failing */
            if (st != ST_EXITED && role_cfg(r)->give_up_then == GIVEUP_STAY) return;
        }
    }
    if (s->nretiring || selected == 0) return;
    if (!orphans_sweep(s)) return; /* what left the roles' groups is stopped first */
    int code = run_code(s);
    lone_oneshot_status(s, &code);
    s->exit_code = code;
    s->finished = true;
    logmux_event(&s->log, "exit", NULL, 0, NULL, "every role has ended; exiting with code %d",
                 code);
    uv_stop(s->loop);
}

static void free_role(struct role *r)
{
    for (int k = 0; k < r->ninst; k++) {
        r->inst[k]->released = true;
        release_instance(r->inst[k]);
    }
    free(r->inst);
    plan_unref(r->plan);
    free(r);
}

/* Retired roles (reload) are freed here, once gone, never under a walk over the role lists. */
static void collect_retired(struct sup *s)
{
    for (size_t i = 0; i < s->nretiring;) {
        struct role *r = s->retiring[i];
        if (role_alive(r)) {
            i++;
            continue;
        }
        for (size_t j = 0; j < s->nroles; j++)
            if (s->roles[j]->predecessor == r) s->roles[j]->predecessor = NULL;
        free_role(r);
        s->retiring[i] = s->retiring[--s->nretiring];
    }
}

static void start_role_if_due(struct sup *s, struct role *r)
{
    if (r->goal != GOAL_UP || r->predecessor) return;
    bool any_down = false;
    for (int k = 0; k < r->ninst; k++)
        any_down |= r->inst[k]->state == ST_DOWN;
    if (!any_down) return;
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
    if (v == DEP_BLOCKED && !r->blocked_logged) {
        r->blocked_logged = true;
        logmux_event(&s->log, "blocked", pr->cfg->name, 0, NULL,
                     "%s will not start: its dependency %s failed", pr->cfg->name, dep_name);
    }
    if (v != DEP_MET) return;
    for (int k = 0; k < r->ninst; k++)
        if (r->inst[k]->state == ST_DOWN) dispatch(r->inst[k], EV_START, NULL);
}

/* Looks at the whole picture after changes: what should start, stop or end. Runs as posted
 * work (once per loop turn at most), and once directly when the run begins. */
static void reconcile(struct sup *s)
{
    if (s->finished) return;
    for (size_t i = 0; i < s->nretiring; i++)
        stop_role(s->retiring[i], "reload");
    collect_retired(s);
    if (s->shutting_down) {
        shutdown_step(s);
    } else {
        for (size_t oi = 0; oi < s->plan->norder; oi++)
            start_role_if_due(s, s->roles[s->plan->order[oi]]);
        if (s->shutting_down)
            shutdown_step(s);
        else
            check_done(s);
    }
    if (!s->finished) EMIT(s, settled, s);
}

bool sup_all_ready(const struct sup *s, sbuf *not_ready)
{
    bool all = true;
    for (size_t i = 0; i < s->nroles; i++) {
        const struct role *r = s->roles[i];
        if (!sup_role_selected(r)) continue;
        for (int k = 0; k < r->ninst; k++) {
            const struct instance *in = r->inst[k];
            bool ok = is_oneshot(r) ? in->state == ST_EXITED : in->state == ST_READY;
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
        /* close what is still open; the last close callback comes back here (by then the role
         * may be gone: in->role is not touched again) */
        if (!uv_is_closing((uv_handle_t *)&in->timer)) {
            struct sup *s = in->role->sup;
            EMIT(s, release, in);
            drop_posts(s, in);
            uv_close((uv_handle_t *)&in->timer, instance_handle_closed);
            crashlog_close(in, instance_handle_closed);
        }
        return;
    }
    if (in->stdin_fd >= 0) close(in->stdin_fd);
    restart_window_free(&in->window);
    crashlog_free(in);
    logfmt_source_free(&in->src);
    free(in->label);
    free(in->spawn_error);
    free(in);
}

/* concurrently's look for a role's lines (config's look_config): its prefix template, as
 * concurrently's Logger.getPrefixContent picks it, and what the template names. */
static void look_source(const struct role *r, struct log_source *src)
{
    const struct role_config *c = role_cfg(r);
    const struct look_config *lk = &r->plan->cfg.look;
    src->name = c->look_name ? c->look_name : c->name;
    src->command = c->shell ? c->shell : role_plan(r)->argv.v[0];
    src->chalk = c->look_color;
    src->hidden = c->look_hidden;
    src->look_index = (int)r->pidx;
    src->brackets = true;
    if (!lk->prefix)
        src->tmpl = *src->name ? "{name}" : "{index}";
    else if (!*lk->prefix)
        src->tmpl = NULL;
    else {
        src->tmpl = lk->prefix;
        src->brackets = lk->brackets;
    }
}

static struct instance *instance_new(struct role *r, int index)
{
    struct sup *s = r->sup;
    struct instance *in = xcalloc(1, sizeof *in);
    in->role = r;
    in->index = index;
    in->label = plan_instance_label(r->plan, r->pidx, index);
    in->state = ST_DOWN;
    in->exit.code = -1;
    in->stdin_fd = -1;
    uv_timer_init(s->loop, &in->timer);
    in->timer.data = in;
    in->handles = 1;
    crashlog_init(in);
    in->src.label = in->label;
    in->src.role = role_cfg(r)->name;
    in->src.instance = index;
    in->src.color = logfmt_color(r->color);
    look_source(r, &in->src);
    logfmt_prepare(&s->log.style, &in->src);
    return in;
}

static struct role *role_new(struct sup *s, struct plan *p, size_t idx)
{
    struct role *r = xcalloc(1, sizeof *r);
    r->sup = s;
    r->plan = plan_ref(p);
    r->pidx = idx;
    r->goal = GOAL_UP;
    r->color = idx;
    if (p->roles[idx].selected) {
        r->ninst = p->roles[idx].cfg->instances;
        r->inst = xcalloc((size_t)r->ninst, sizeof *r->inst);
        for (int k = 0; k < r->ninst; k++)
            r->inst[k] = instance_new(r, k);
    }
    return r;
}

struct role *sup_find_role(const struct sup *s, const char *name)
{
    for (size_t i = 0; i < s->nroles; i++)
        if (!strcmp(role_cfg(s->roles[i])->name, name)) return s->roles[i];
    return NULL;
}

/* ---- logs' look -------------------------------------------------------------------------- */

static void on_pressure(void *ud, bool paused)
{
    output_pause_all(ud, paused);
}

static void apply_style(struct sup *s)
{
    const struct roster_config *c = &s->plan->cfg;
    struct log_style *st = &s->log.style;
    st->format = s->opts.log_format >= 0 ? (enum log_format)s->opts.log_format : c->log_format;
    st->timestamps = s->opts.timestamps >= 0 ? s->opts.timestamps != 0 : c->timestamps;
    st->max_line = c->log_max_line;
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
    const struct look_config *lk = &c->look;
    st->look = lk->on;
    st->raw = lk->raw;
    st->command_length = lk->command_length;
    st->time_format = lk->time_format;
    st->look_pad = 0;
    int widest = 0;
    for (size_t i = 0; i < s->nroles; i++)
        for (int k = 0; k < s->roles[i]->ninst; k++) {
            look_source(s->roles[i], &s->roles[i]->inst[k]->src);
            int w = logfmt_look_width(st, &s->roles[i]->inst[k]->src);
            if (w > widest) widest = w;
        }
    if (lk->pad) st->look_pad = widest; /* --pad-prefix: as concurrently's LoggerPadding */
    for (size_t i = 0; i < s->nroles; i++)
        for (int k = 0; k < s->roles[i]->ninst; k++)
            logfmt_prepare(st, &s->roles[i]->inst[k]->src);
}

/* ---- reload ------------------------------------------------------------------------------ */

struct swap_counts {
    int unchanged, changed, added, removed;
};

/* Runs np instead of the current plan: roles whose fingerprint is unchanged carry on under it;
 * changed ones get a new role that starts once the old one (retiring) has stopped. */
static void swap_plan(struct sup *s, struct plan *np, struct swap_counts *n)
{
    struct role **nr = xcalloc(np->nroles ? np->nroles : 1, sizeof *nr);
    bool *taken = xcalloc(s->nroles ? s->nroles : 1, sizeof *taken);
    for (size_t j = 0; j < np->nroles; j++) {
        const struct plan_role *npr = &np->roles[j];
        /* s->roles is in the order of s->plan's roles, so its index finds the old role */
        ssize_t found = plan_find_role(s->plan, npr->cfg->name);
        struct role *old = found >= 0 ? s->roles[found] : NULL;
        size_t oi = found >= 0 ? (size_t)found : 0;
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
            if (npr->selected) n->unchanged++;
            continue;
        }
        nr[j] = role_new(s, np, j);
        if (old && sup_role_selected(old)) {
            nr[j]->predecessor = old;
            if (npr->selected) n->changed++;
        } else if (npr->selected) {
            n->added++;
        }
    }
    for (size_t i = 0; i < s->nroles; i++) {
        if (taken[i]) continue;
        struct role *old = s->roles[i];
        ssize_t j = plan_find_role(np, role_cfg(old)->name);
        bool replaced = j >= 0 && nr[j]->predecessor == old;
        if (!replaced && sup_role_selected(old)) n->removed++;
        old->goal = GOAL_DOWN;
        s->retiring = xrealloc(s->retiring, (s->nretiring + 1) * sizeof *s->retiring);
        s->retiring[s->nretiring++] = old;
    }
    free(taken);
    free(s->roles);
    s->roles = nr;
    s->nroles = np->nroles;
    const struct plan *old_plan = s->plan;
    s->plan = np;
    EMIT(s, plan_swapped, s, old_plan);
    plan_unref(old_plan);
    s->state_version++;
    apply_style(s);
    input_plan_changed(s);
    post_reconcile(s);
}

void sup_replace_plan(struct sup *s, struct plan *np)
{
    struct swap_counts n = {0};
    swap_plan(s, np, &n);
    if (n.changed || n.added || n.removed)
        logmux_event(&s->log, "replanned", NULL, 0, NULL,
                     "plan updated: %d changed, %d added, %d removed, %d unchanged", n.changed,
                     n.added, n.removed, n.unchanged);
}

/* A reload in flight: its inputs, copied on the loop so the pool thread shares nothing with it,
 * and what the thread made of them. */
struct reload_job {
    uv_work_t work;
    struct sup *s;
    struct config_opts copts; /* its strings, env_files and environ_ are the job's own */
    envmap env;               /* roster's environment, for plan_opts.env */
    struct plan_opts po;
    char *roles;
    struct reload_waiter *waiters; /* answered when this job ends */
    struct plan *np;               /* made on the thread, or NULL with d filled */
    diags d;
};

struct reload_waiter {
    sup_reload_cb cb;
    void *ud;
    struct reload_waiter *next;
};

static char *dup_or_null(const char *p)
{
    return p ? xstrdup(p) : NULL;
}

static struct reload_job *reload_job_new(struct sup *s)
{
    struct reload_job *j = xcalloc(1, sizeof *j);
    j->s = s;
    j->work.data = j;
    const struct config_opts *co = &s->opts.copts;
    j->copts.path = dup_or_null(co->path);
    j->copts.procfile = dup_or_null(co->procfile);
    strvec_copy(&j->copts.env_files, &co->env_files);
    envmap pe = {0};
    envmap_from_environ(&pe, co->environ_);
    j->copts.environ_ = envmap_to_envp(&pe);
    envmap_free(&pe);
    j->po = s->opts.plan_opts;
    if (j->po.env) envmap_copy(&j->env, j->po.env);
    j->po.env = &j->env;
    j->roles = dup_or_null(j->po.roles);
    j->po.roles = j->roles;
    return j;
}

static void reload_job_free(struct reload_job *j)
{
    free((char *)j->copts.path);
    free((char *)j->copts.procfile);
    strvec_free(&j->copts.env_files);
    envp_free(j->copts.environ_);
    envmap_free(&j->env);
    free(j->roles);
    if (j->np) plan_unref(j->np);
    diags_free(&j->d);
    free(j);
}

/* Calls and frees every waiter of the list. */
static void reload_answer(struct reload_waiter **list, int rc, const char *err)
{
    struct reload_waiter *w = *list;
    *list = NULL;
    while (w) {
        struct reload_waiter *next = w->next;
        w->cb(w->ud, rc, err);
        free(w);
        w = next;
    }
}

/* On a thread of libuv's pool: the blocking half (files, env files, user lookups, libpq's
 * keywords, the file system checks of cwd and commands, loading libraries). Touches only the
 * job. */
static void reload_work(uv_work_t *w)
{
    struct reload_job *j = w->data;
    struct roster_config cfg;
    if (config_load(&j->copts, &cfg, &j->d) == 0)
        j->np = plan_build(&cfg, &j->po, &j->d);
    else
        config_free(&cfg);
    /* A library the new config needs is loaded here too, or the reload fails (os/lazylib.h):
     * dlopen and resolving every function take a while, and the loop uses a library only once
     * a plan that needs it is swapped in, after this. */
    char lerr[640];
    if (j->np && lazylib_require(plan_libs(j->np), lerr, sizeof lerr) < 0)
        diags_add(&j->d, (src_pos){0}, "%s", lerr);
}

static void reload_begin(struct sup *s);

/* Back on the loop: the rest of the reload, then the next one if it was asked for meanwhile. */
static void reload_done(uv_work_t *w, int status)
{
    struct reload_job *j = w->data;
    struct sup *s = j->s;
    s->reload = NULL;
    /* Cancelled, or ended after shutdown began: nothing is swapped in (the waiters were told
     * when the shutdown began, see reload_abandon). */
    if (status < 0 || s->shutting_down || s->stopped) {
        reload_answer(&j->waiters, -1, "roster is shutting down");
        reload_job_free(j);
        return;
    }
    struct plan *np = j->np;
    j->np = NULL;
    diags *d = &j->d;
    for (int i = 0; np && i < s->nobs; i++) {
        if (!s->obs[i].ops->plan_prepare) continue;
        struct plan *made = s->obs[i].ops->plan_prepare(s->obs[i].ud, s, np, d);
        if (made) {
            plan_unref(np);
            np = made;
        }
    }
    sbuf err;
    sbuf_init(&err);
    if (!np || diags_count(d)) {
        for (size_t i = 0; i < d->items.n; i++) {
            logmux_event(&s->log, "reload_failed", NULL, 0, NULL, "reload failed: %s",
                         d->items.v[i]);
            char *shown = redact_text(d->items.v[i]); /* an error may quote a URL */
            sbuf_printf(&err, "%s\n", shown);
            free(shown);
        }
        logmux_event(&s->log, "reload_failed", NULL, 0, NULL,
                     "reload failed; the running roles are kept as they are");
        if (np) plan_unref(np);
        reload_answer(&j->waiters, -1, err.data ? err.data : "reload failed");
    } else {
        struct swap_counts n = {0};
        swap_plan(s, np, &n);
        s->reloads++;
        logmux_event(&s->log, "reloaded", NULL, 0, NULL,
                     "config reloaded: %d changed, %d added, %d removed, %d unchanged",
                     n.changed, n.added, n.removed, n.unchanged);
        reload_answer(&j->waiters, 0, NULL);
    }
    sbuf_free(&err);
    reload_job_free(j);
    /* Asked for while this one read the config: the files may have changed after it read them,
     * so they are read again, once for all who asked. */
    if (s->reload_again || s->reload_next) reload_begin(s);
}

/* Starts a reload with the waiters of reload_next. */
static void reload_begin(struct sup *s)
{
    struct reload_job *j = reload_job_new(s);
    j->waiters = s->reload_next;
    s->reload_next = NULL;
    s->reload_again = false;
    /* fails only without a work callback: cb is never called before sup_reload returns */
    int rc = uv_queue_work(s->loop, &j->work, reload_work, reload_done);
    assert(rc == 0);
    (void)rc;
    s->reload = j;
}

int sup_reload(struct sup *s, sup_reload_cb cb, void *ud)
{
    if (s->opts.no_reload) return -EOPNOTSUPP;
    if (s->shutting_down || s->stopped) return -ESHUTDOWN;
    if (cb) {
        /* one per control connection at most, so the list is bounded by their limit */
        struct reload_waiter *w = xcalloc(1, sizeof *w);
        w->cb = cb;
        w->ud = ud;
        w->next = s->reload_next;
        s->reload_next = w;
    } else {
        s->reload_again = true;
    }
    if (!s->reload)
        reload_begin(s);
    else
        logmux_event(&s->log, "reload_pending", NULL, 0, NULL,
                     "a reload is in progress; another follows it");
    return 0;
}

/* Shutdown: whoever waits for a reload is answered now, while the control socket can still send
 * the answer; a reload not yet begun on its thread is cancelled, one reading is left to finish
 * and is then dropped (reload_done). */
static void reload_abandon(struct sup *s)
{
    s->reload_again = false;
    reload_answer(&s->reload_next, -1, "roster is shutting down");
    if (!s->reload) return;
    reload_answer(&s->reload->waiters, -1, "roster is shutting down");
    uv_cancel((uv_req_t *)&s->reload->work);
}

/* ---- operator actions -------------------------------------------------------------------- */

/* The role a target (ROLE or ROLE.N) names, and in *index the copy (-1: all), or NULL with a
 * message. One copy can be restarted; stop and start act on the whole role, since what the
 * operator wants (the goal) is kept per role. */
static struct role *role_for_action(struct sup *s, enum op_kind op, const char *target, int *index,
                                    sbuf *err)
{
    if (s->shutting_down) {
        sbuf_puts(err, "roster is shutting down");
        return NULL;
    }
    char name[CONFIG_ROLE_NAME_MAX + 1];
    if (config_parse_target(target, name, index) < 0) {
        sbuf_printf(err, "'%s' is not a role name", target);
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
    if (*index < 0) return r;
    if (*index >= r->ninst) {
        sbuf_printf(err, "role '%s' has %d cop%s, %s.0 to %s.%d", name, r->ninst,
                    r->ninst == 1 ? "y" : "ies", name, name, r->ninst - 1);
        return NULL;
    }
    if (op != OP_RESTART) {
        sbuf_printf(err,
                    "%s acts on the whole role: roster %s %s (roster restart %s restarts "
                    "one copy)",
                    op == OP_STOP ? "stop" : "start", op == OP_STOP ? "stop" : "start", name,
                    target);
        return NULL;
    }
    if (r->goal == GOAL_DOWN) {
        sbuf_printf(err, "role '%s' is stopped; roster start %s starts it", name, name);
        return NULL;
    }
    return r;
}

/* An operator start or restart forgets past failures: backoff and give_up count anew. */
static void start_afresh(struct instance *in)
{
    in->consecutive = 0;
    restart_window_clear(&in->window);
}

static void run_op(struct sup *s, enum op_kind op, const char *target)
{
    char name[CONFIG_ROLE_NAME_MAX + 1];
    int index;
    if (config_parse_target(target, name, &index) < 0) return; /* role_for_action said so */
    struct role *r = sup_find_role(s, name);
    if (!r || s->shutting_down || index >= r->ninst) return; /* gone meanwhile (a reload) */
    switch (op) {
    case OP_RESTART:
        r->goal = GOAL_UP;
        for (int k = 0; k < r->ninst; k++) {
            struct instance *in = r->inst[k];
            if (index >= 0 && k != index) continue;
            if (in->state == ST_DOWN || inst_state_ended(in->state)) start_afresh(in);
            dispatch(in, EV_RESTART, "restart requested");
        }
        r->blocked_logged = false;
        logmux_event(&s->log, "restart_requested", name, index < 0 ? 0 : index, NULL,
                     "%s: restart requested", target);
        break;
    case OP_STOP:
        r->goal = GOAL_DOWN;
        stop_role(r, "stop requested");
        logmux_event(&s->log, "stop_requested", name, 0, NULL, "%s: stop requested", name);
        break;
    case OP_START:
        r->goal = GOAL_UP;
        r->blocked_logged = false;
        for (int k = 0; k < r->ninst; k++) {
            struct instance *in = r->inst[k];
            if (!inst_state_ended(in->state)) continue;
            start_afresh(in);
            dispatch(in, EV_RESTART, "start requested");
        }
        logmux_event(&s->log, "start_requested", name, 0, NULL, "%s: start requested", name);
        break;
    }
    post_reconcile(s);
}

static int role_op(struct sup *s, enum op_kind op, const char *target, sbuf *err)
{
    int index;
    if (!role_for_action(s, op, target, &index, err)) return -1;
    post(s, POST_OP, NULL, target, op);
    return 0;
}

int sup_role_restart(struct sup *s, const char *name, sbuf *err)
{
    return role_op(s, OP_RESTART, name, err);
}

int sup_role_stop(struct sup *s, const char *name, sbuf *err)
{
    return role_op(s, OP_STOP, name, err);
}

int sup_role_start(struct sup *s, const char *name, sbuf *err)
{
    return role_op(s, OP_START, name, err);
}

/* ---- orphans: which of roster's children are its own (orphans.c tracks the others) ------- */

#define ORPHANS_PER_SCAN 64 /* new ones listed by one scan; the rest come with the next */

static int pid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* A scan lists roster's children but for the instances' main processes and the orphans
 * already tracked, so each is looked at (its environment read) once. */
static void orphans_scan_setup(struct sup *s, struct proc_scan *sc, size_t max)
{
    size_t cap = orphans_count(s) + 16;
    pid_t *known = xcalloc(cap, sizeof *known);
    size_t n = orphans_pids(s, known);
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        if (in->pid <= 0) continue;
        if (n == cap) {
            cap *= 2;
            known = xrealloc(known, cap * sizeof *known);
        }
        known[n++] = in->pid;
    }
    qsort(known, n, sizeof *known, pid_cmp);
    sc->parent = getpid();
    sc->known = known;
    sc->nknown = n;
    sc->kids = xcalloc(max, sizeof *sc->kids);
    sc->max = max;
}

/* True for a child roster itself stands behind: an instance's main process, a process still
 * in a live instance's group (stopping the instance stops it), or an observer's (an exec
 * probe). */
static bool child_is_own(struct sup *s, const struct proc_child *k)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        if (in->pid == k->pid || (in->pgid > 0 && in->pgid == k->pgrp)) return true;
    for (int i = 0; i < s->nobs; i++)
        if (s->obs[i].ops->owns && s->obs[i].ops->owns(s->obs[i].ud, s, k->pid)) return true;
    return false;
}

/* Whether a child the scan listed is still there as it was: a scan is read on the pool, and
 * meanwhile an exec probe it saw may have ended and been reaped (its pid then no longer an
 * observer's, and free for another process). Only the real backend's pids are in /proc. */
static bool child_still_there(struct sup *s, const struct proc_child *k)
{
    if (s->be != &proc_backend_os) return true;
    struct os_proc_stat st;
    return os_proc_stat(k->pid, &st) == 0 && st.ppid == getpid() && st.state != 'Z' &&
           st.start_ticks == k->start_ticks;
}

/* Keeps the children that are not roster's own, and still there, at the front of kids;
 * returns how many. */
static size_t orphans_filter(struct sup *s, struct proc_child *kids, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!child_is_own(s, &kids[i]) && child_still_there(s, &kids[i])) kids[m++] = kids[i];
    return m;
}

static void orphans_found(struct sup *s, struct proc_child *kids, size_t n)
{
    orphans_seen(s, kids, orphans_filter(s, kids, n));
}

/* The sweep's fresh look at shutdown, on the loop: one /proc pass, a few milliseconds. */
static size_t orphans_rescan(struct sup *s, struct proc_child *kids, size_t max)
{
    struct proc_scan sc = {0};
    orphans_scan_setup(s, &sc, max);
    s->be->scan(s->be->ud, &sc);
    size_t n = sc.nkids < max ? sc.nkids : max;
    memcpy(kids, sc.kids, n * sizeof *kids);
    free((pid_t *)sc.known);
    free(sc.kids);
    return orphans_filter(s, kids, n);
}

/* ---- memory: sampled on libuv's thread pool, never on the loop --------------------------- */

struct mem_sample {
    struct sup *s;
    const struct proc_backend *be;
    struct proc_scan sc; /* its pgids, rss, known and kids are the sample's own */
    uint64_t cost_ns; /* CPU time the scan took, measured on the worker thread */
};

static void on_mem_timer(uv_timer_t *t);

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void mem_work(uv_work_t *w)
{
    struct mem_sample *m = w->data;
    uint64_t t0 = thread_cpu_ns();
    m->be->scan(m->be->ud, &m->sc);
    m->cost_ns = thread_cpu_ns() - t0;
}

/* The next sample comes after MEM_SAMPLE_MS, or later when a scan costs more: a scan reads
 * /proc/PID/stat of every process on the host, so with hundreds of roles it is spaced out until
 * it takes at most 1/MEM_COST_SHARE of a core (500 idle roles: ~5 ms a scan, one every 5 s). */
static void mem_schedule(struct sup *s, uint64_t cost_ns)
{
    uint64_t ms = cost_ns * MEM_COST_SHARE / 1000000u;
    if (ms < MEM_SAMPLE_MS) ms = MEM_SAMPLE_MS;
    if (ms > MEM_SAMPLE_MAX_MS) ms = MEM_SAMPLE_MAX_MS;
    if (!s->stopped) uv_timer_start(&s->mem_timer, on_mem_timer, ms, 0);
}

static void mem_free(struct mem_sample *m)
{
    if (!m) return;
    free((pid_t *)m->sc.pgids);
    free(m->sc.rss);
    free((pid_t *)m->sc.known);
    free(m->sc.kids);
    free(m);
}

static void mem_done(uv_work_t *w, int status)
{
    struct mem_sample *m = w->data;
    struct sup *s = m->s;
    s->mem_busy = false;
    s->mem = NULL;
    if (status < 0 || s->stopped) {
        mem_free(m);
        return;
    }
    mem_schedule(s, m->cost_ns);
    /* The instances may have changed meanwhile: results are matched by process group. */
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        in->memory = 0;
        if (in->state != ST_RUNNING && in->state != ST_READY) continue;
        for (size_t i = 0; i < m->sc.n; i++)
            if (m->sc.pgids[i] == in->pgid) in->memory = m->sc.rss[i];
        const struct role_config *c = role_cfg(in->role);
        if (c->max_memory && in->memory > c->max_memory) {
            char used[32], lim[32], why[96];
            snprintf(used, sizeof used, "%.1fMiB", (double)in->memory / 1048576.0);
            units_format_size(c->max_memory, lim, sizeof lim);
            snprintf(why, sizeof why, "memory %s over max_memory %s", used, lim);
            dispatch(in, EV_FAIL, why);
        }
    }
    orphans_found(s, m->sc.kids, m->sc.nkids < m->sc.max ? m->sc.nkids : m->sc.max);
    mem_free(m);
}

static void on_mem_timer(uv_timer_t *t)
{
    struct sup *s = t->data;
    if (s->mem_busy || !s->be->scan) return;
    struct mem_sample *m = xcalloc(1, sizeof *m);
    m->s = s;
    m->be = s->be;
    size_t cap = 0;
    pid_t *pgids = NULL;
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        if (in->state != ST_RUNNING && in->state != ST_READY) continue;
        if (m->sc.n == cap) {
            cap = cap ? cap * 2 : 16;
            pgids = xrealloc(pgids, cap * sizeof *pgids);
        }
        pgids[m->sc.n++] = in->pgid;
    }
    m->sc.pgids = pgids;
    m->sc.rss = xcalloc(m->sc.n ? m->sc.n : 1, sizeof *m->sc.rss);
    /* the same pass looks for orphans: roster's children that are not its instances */
    orphans_scan_setup(s, &m->sc, ORPHANS_PER_SCAN);
    s->mem_work.data = m;
    s->mem = m;
    if (uv_queue_work(s->loop, &s->mem_work, mem_work, mem_done) == 0)
        s->mem_busy = true;
    else {
        s->mem = NULL;
        mem_free(m);
        mem_schedule(s, 0);
    }
}

/* ---- setup and run ----------------------------------------------------------------------- */

int sup_init(struct sup *s, uv_loop_t *loop, struct plan *plan, const struct sup_opts *opts)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->opts = *opts;
    s->be = opts->backend ? opts->backend : &proc_backend_os;
    s->plan = plan;
    s->started_wall = wall_time();
    s->posts_tail = &s->posts;
    srandom((unsigned)(now_us() ^ (uint64_t)getpid()));
    logmux_init(&s->log, loop, 1);
    logmux_set_pressure_cb(&s->log, on_pressure, s);
    s->nroles = plan->nroles;
    s->roles = xcalloc(s->nroles ? s->nroles : 1, sizeof *s->roles);
    for (size_t i = 0; i < s->nroles; i++)
        s->roles[i] = role_new(s, plan, i);
    apply_style(s);

    signal(SIGPIPE, SIG_IGN);
    s->hup = hup_mode(opts->environ_);
    s->had_tty = has_ctty();
    logmux_set_gone_cb(&s->log, on_stdout_gone, s);
    uv_signal_t *sigs[] = {&s->sig_chld, &s->sig_term, &s->sig_int,
                           &s->sig_hup,  &s->sig_quit, &s->sig_tstp};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
        uv_signal_init(loop, sigs[i]);
        sigs[i]->data = s;
    }
    if (s->be->uses_sigchld) uv_signal_start(&s->sig_chld, on_sigchld, SIGCHLD);
    uv_signal_start(&s->sig_term, on_stop_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_stop_signal, SIGINT);
    uv_signal_start(&s->sig_quit, on_stop_signal, SIGQUIT);
    uv_signal_start(&s->sig_hup, on_sighup, SIGHUP);
    uv_signal_start(&s->sig_tstp, on_sigtstp, SIGTSTP);
    start_other_signals(s, loop);
    uv_timer_t *timers[] = {&s->group_timer, &s->shutdown_timer, &s->mem_timer};
    for (size_t i = 0; i < ARRAY_SIZE(timers); i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = s;
    }
    uv_idle_init(loop, &s->post_idle);
    s->post_idle.data = s;
    orphans_init(s, loop);
    if (s->be->scan) {
        s->orphans.rescan = orphans_rescan;
        s->orphans.done = post_reconcile;
    }
    if (s->be == &proc_backend_os && os_set_subreaper() < 0)
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
    int started = 0;
    for (; started < s->nobs; started++)
        if (s->obs[started].ops->start && s->obs[started].ops->start(s->obs[started].ud, s) < 0)
            break;
    if (started < s->nobs) {
        s->finished = true;
        s->exit_code = 1;
    } else {
        mem_schedule(s, 0);
        input_start(s);
        reconcile(s);
        if (!s->finished) uv_run(s->loop, UV_RUN_DEFAULT);
    }
    /* Done: whatever is left (after shutdown_timeout) is killed; close every handle. A reload's
     * waiters are answered before the observers (the control socket) stop. */
    kill_all(s);
    sup_reap(s);
    orphans_end_namespace(s, NAMESPACE_GRACE_MS);
    reload_abandon(s);
    for (int i = 0; i < started && i < s->nobs; i++)
        if (s->obs[i].ops->stop) s->obs[i].ops->stop(s->obs[i].ud, s);
    input_stop(s);
    s->stopped = true;
    free_posts(s);
    logmux_flush_sync(&s->log, 5000);
    logmux_stop(&s->log);
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        output_close_fds(in);
    uv_walk(s->loop, close_walk, NULL);
    /* A uv_stop() whose uv_run never happened leaves the stop flag set: the first run only
     * clears it. The second runs the close callbacks (and a memory sample or a reload still in
     * flight: a reload blocked reading the config, on a FIFO say, is waited for here). */
    uv_run(s->loop, UV_RUN_NOWAIT);
    uv_run(s->loop, UV_RUN_DEFAULT);
    s->exit_code = run_code(s);
    lone_oneshot_status(s, &s->exit_code);
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
                output_free(r->inst[k]);
                r->inst[k]->handles = 0;
            }
            free_role(r);
        }
    free(s->roles);
    free(s->retiring);
    free_posts(s);
    orphans_free(s);
    input_free(s);
    plan_unref(s->plan);
    logmux_close(&s->log);
}
