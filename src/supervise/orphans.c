/* orphans.c — processes that left their role's group, tracked and stopped at shutdown. See
 * orphans.h. */
#include "supervise/orphans.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/units.h"
#include "supervise/supervisor.h"

#define SWEEP_POLL_MS   50
#define SWEEP_ROUNDS    8  /* fresh looks at shutdown: a stopped daemon's workers come back too */
#define PIDS_SAID       16 /* pids named in one log line; more are counted */
#define DEFAULT_STOP_MS 10000

struct orphan {
    pid_t pid, pgrp;
    uint64_t start_ticks;
    char comm[64];
    char role[64]; /* "" when its environment did not say */
    int instance;
    bool gone;       /* reaped */
    bool signalled;  /* TERM sent by the sweep */
    bool killed;     /* SIGKILL sent */
    bool swept;      /* alive when the sweep began a round: part of the summary */
    uint64_t deadline_ms;
};

static struct orphans *of(struct sup *s)
{
    return &s->orphans;
}

void orphans_init(struct sup *s, uv_loop_t *loop)
{
    uv_timer_init(loop, &of(s)->timer);
    of(s)->timer.data = s;
}

void orphans_free(struct sup *s)
{
    free(of(s)->v);
    of(s)->v = NULL;
    of(s)->n = of(s)->cap = 0;
}

static struct orphan *find(struct orphans *o, pid_t pid)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->v[i].pid == pid) return &o->v[i];
    return NULL;
}

/* The stop timeout of the role an orphan came from; for one of no known role, the longest. */
static uint64_t stop_timeout(struct sup *s, const struct orphan *o)
{
    struct role *r = o->role[0] ? sup_find_role(s, o->role) : NULL;
    if (r) return role_cfg(r)->stop_timeout_ms;
    uint64_t ms = 0;
    for (size_t i = 0; i < s->nroles; i++)
        if (role_cfg(s->roles[i])->stop_timeout_ms > ms) ms = role_cfg(s->roles[i])->stop_timeout_ms;
    return ms ? ms : DEFAULT_STOP_MS;
}

/* The orphan, and its group when that is its own: it leads it, or the group's leader is gone
 * (a daemon's second fork). A group led by a live other process is left alone: a child may
 * join any group of roster's session, which, run from a shell, holds the shell's jobs. */
static void orphan_signal(const struct orphan *o, int sig)
{
    if (o->gone) return; /* reaped: the pid may be anyone's now */
    kill(o->pid, sig);
    if (o->pgrp <= 1 || o->pgrp == getpgrp()) return;
    if (o->pgrp == o->pid || (kill(o->pgrp, 0) < 0 && errno == ESRCH)) kill(-o->pgrp, sig);
}

static void track(struct sup *s, const struct proc_child *k, bool say)
{
    struct orphans *o = of(s);
    struct orphan *e = find(o, k->pid);
    if (e && !e->gone) return; /* unreaped, so the same process */
    if (!e) {
        /* the sweep keeps what it stopped, for its summary: room for each of its rounds */
        size_t max = o->sweep == ORPHANS_IDLE ? ORPHANS_MAX : ORPHANS_MAX * (SWEEP_ROUNDS + 1);
        if (o->n >= max) return;
        if (o->n == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 16;
            o->v = xrealloc(o->v, o->cap * sizeof *o->v);
        }
        e = &o->v[o->n++];
    }
    memset(e, 0, sizeof *e);
    e->pid = k->pid;
    e->pgrp = k->pgrp;
    e->start_ticks = k->start_ticks;
    e->instance = k->instance;
    snprintf(e->comm, sizeof e->comm, "%s", k->comm);
    snprintf(e->role, sizeof e->role, "%s", k->role);
    if (!say) return;
    o->seen_total++;
    char extra[160];
    /* the command name is the process's own choice: said in the message, which is escaped */
    snprintf(extra, sizeof extra, "\"pid\":%d,\"pgid\":%d", (int)e->pid, (int)e->pgrp);
    struct role *r = e->role[0] ? sup_find_role(s, e->role) : NULL;
    if (r)
        logmux_event(&s->log, "orphan", e->role, e->instance < 0 ? 0 : e->instance, extra,
                     "%s: process %d (%s) left its group; roster will stop it at shutdown",
                     e->role, (int)e->pid, e->comm);
    else
        logmux_event(&s->log, "orphan", NULL, 0, extra,
                     "process %d (%s) left the group of a role roster cannot tell; roster will "
                     "stop it at shutdown",
                     (int)e->pid, e->comm);
}

void orphans_seen(struct sup *s, const struct proc_child *kids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        track(s, &kids[i], of(s)->sweep == ORPHANS_IDLE);
}

size_t orphans_count(const struct sup *s)
{
    return s->orphans.n;
}

size_t orphans_pids(const struct sup *s, pid_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->orphans.n; i++)
        if (!s->orphans.v[i].gone) out[n++] = s->orphans.v[i].pid;
    return n;
}

void orphans_gone(struct sup *s, pid_t pid)
{
    struct orphans *o = of(s);
    struct orphan *e = find(o, pid);
    if (!e) return;
    e->gone = true;
    if (o->sweep != ORPHANS_IDLE || e->swept) return;
    /* Gone on its own while roster runs: forgotten. */
    *e = o->v[--o->n];
}

/* One line per role: what it left behind, and how it ended. */
static void summarize(struct sup *s)
{
    struct orphans *o = of(s);
    for (size_t i = 0; i < o->n; i++) {
        if (!o->v[i].swept) continue;
        const char *role = o->v[i].role;
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = !(o->v[j].swept && !strcmp(o->v[j].role, role));
        if (!first) continue;
        sbuf pids;
        sbuf_init(&pids);
        size_t count = 0, killed = 0;
        uint64_t tmo = 0;
        for (size_t j = i; j < o->n; j++) {
            const struct orphan *e = &o->v[j];
            if (!e->swept || strcmp(e->role, role)) continue;
            if (count < PIDS_SAID) sbuf_printf(&pids, "%s%d", count ? " " : "", (int)e->pid);
            count++;
            killed += e->killed;
            tmo = stop_timeout(s, e);
        }
        if (count > PIDS_SAID) sbuf_printf(&pids, " and %zu more", count - PIDS_SAID);
        char how[96] = "stopped";
        if (killed) {
            char t[32];
            units_format_duration(tmo, t, sizeof t);
            snprintf(how, sizeof how, "stopped, %zu with SIGKILL after %s", killed, t);
        }
        char extra[64];
        snprintf(extra, sizeof extra, "\"count\":%zu,\"killed\":%zu", count, killed);
        bool known = role[0] && sup_find_role(s, role);
        logmux_event(&s->log, "orphans_stopped", known ? role : NULL, 0, extra,
                     "%s left %zu process%s behind (pids %s): %s",
                     known ? role : "a role roster cannot tell", count, count == 1 ? "" : "es",
                     pids.data ? pids.data : "", how);
        sbuf_free(&pids);
    }
}

static void sweep_end(struct sup *s)
{
    struct orphans *o = of(s);
    uv_timer_stop(&o->timer);
    o->sweep = ORPHANS_SWEPT;
    summarize(s);
    if (o->done) o->done(s);
}

static void on_sweep_timer(uv_timer_t *t);

/* A fresh look: whatever is alive now gets TERM, and a deadline for SIGKILL. */
static void sweep_round(struct sup *s)
{
    struct orphans *o = of(s);
    struct proc_child *kids = xcalloc(ORPHANS_MAX, sizeof *kids);
    size_t n = o->rescan ? o->rescan(s, kids, ORPHANS_MAX) : 0;
    if (n > ORPHANS_MAX) n = ORPHANS_MAX;
    for (size_t i = 0; i < n; i++)
        track(s, &kids[i], false);
    free(kids);
    o->rounds++;
    uint64_t now = now_ms();
    bool any = false;
    for (size_t i = 0; i < o->n; i++) {
        struct orphan *e = &o->v[i];
        if (e->gone || e->signalled) continue;
        e->swept = true;
        e->signalled = true;
        e->deadline_ms = now + stop_timeout(s, e);
        orphan_signal(e, SIGTERM);
        orphan_signal(e, SIGCONT);
        any = true;
    }
    bool alive = false;
    for (size_t i = 0; i < o->n; i++)
        alive |= !o->v[i].gone;
    if (!any && !alive) {
        sweep_end(s);
        return;
    }
    if (!uv_is_active((uv_handle_t *)&o->timer))
        uv_timer_start(&o->timer, on_sweep_timer, SWEEP_POLL_MS, SWEEP_POLL_MS);
}

/* Reaping marks them gone (SIGCHLD); this sends SIGKILL past a deadline, and looks again once
 * this round's processes are all gone. */
static void on_sweep_timer(uv_timer_t *t)
{
    struct sup *s = t->data;
    struct orphans *o = of(s);
    uint64_t now = now_ms();
    bool alive = false;
    for (size_t i = 0; i < o->n; i++) {
        struct orphan *e = &o->v[i];
        if (e->gone) continue;
        if (kill(e->pid, 0) < 0 && errno == ESRCH) {
            e->gone = true; /* not a child after all (another namespace's), or reaped elsewhere */
            continue;
        }
        alive = true;
        if (!e->killed && now >= e->deadline_ms) {
            e->killed = true;
            orphan_signal(e, SIGKILL);
        }
    }
    if (alive) return;
    if (o->rounds >= SWEEP_ROUNDS) {
        logmux_event(&s->log, "orphans_more", NULL, 0, NULL,
                     "processes kept appearing after %d rounds of stopping; leaving them",
                     SWEEP_ROUNDS);
        sweep_end(s);
        return;
    }
    sweep_round(s);
}

bool orphans_sweep(struct sup *s)
{
    struct orphans *o = of(s);
    if (o->sweep == ORPHANS_SWEPT || !o->rescan) return true;
    if (o->sweep == ORPHANS_IDLE) {
        o->sweep = ORPHANS_SWEEPING;
        /* what was found while running and has gone since is no longer news */
        for (size_t i = 0; i < o->n;)
            if (o->v[i].gone)
                o->v[i] = o->v[--o->n];
            else
                i++;
        sweep_round(s);
    }
    return o->sweep == ORPHANS_SWEPT;
}

void orphans_kill(struct sup *s)
{
    struct orphans *o = of(s);
    for (size_t i = 0; i < o->n; i++) {
        struct orphan *e = &o->v[i];
        if (e->gone) continue;
        e->killed = true;
        orphan_signal(e, SIGKILL);
    }
}

/* Reaps what has ended; true when no process is left to signal. */
static bool namespace_empty(void)
{
    int status;
    while (waitpid(-1, &status, WNOHANG) > 0) {
    }
    return kill(-1, 0) < 0 && errno == ESRCH;
}

/* Polls namespace_empty every 10 ms until it holds or ms have passed. */
static bool namespace_wait(uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    for (;;) {
        if (namespace_empty()) return true;
        if (now_ms() >= end) return false;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void orphans_end_namespace(struct sup *s, uint64_t grace_ms)
{
    if (getpid() != 1 || !of(s)->rescan) return;
    if (namespace_empty()) return;
    logmux_event(&s->log, "namespace_stop", NULL, 0, NULL,
                 "roster is PID 1: sending SIGTERM to every process left in its namespace");
    kill(-1, SIGTERM);
    kill(-1, SIGCONT);
    if (namespace_wait(grace_ms)) {
        logmux_event(&s->log, "namespace_stopped", NULL, 0, NULL,
                     "every process of the namespace has ended");
        return;
    }
    char t[32];
    units_format_duration(grace_ms, t, sizeof t);
    logmux_event(&s->log, "namespace_kill", NULL, 0, NULL,
                 "processes left after %s: sending SIGKILL to every process of the namespace", t);
    kill(-1, SIGKILL);
    namespace_wait(2000);
}
