/* checks.c — probes and sd_notify as one supervisor observer. See checks.h. */
#include "checks/checks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks/curlm.h"
#include "checks/notify.h"
#include "checks/probe.h"
#include "os/sys.h"
#include "supervise/observer.h"

struct checks {
    struct sup *s;
    int slot;
    struct curlm *curl;
    unsigned notify_counter;
};

/* What the checks know of one instance (its observer context). */
struct inst_checks {
    struct checks *ck;
    struct instance *in;
    struct probe *ready, *live;
    struct notify_sock *notify;
    char *status_text;  /* last STATUS= */
    char *probe_result; /* last probe outcome */
};

static struct inst_checks *ctx(struct checks *ck, struct instance *in)
{
    struct inst_checks *x = inst_ctx(in, ck->slot);
    if (!x) {
        x = xcalloc(1, sizeof *x);
        x->ck = ck;
        x->in = in;
        inst_set_ctx(in, ck->slot, x);
    }
    return x;
}

static void stop_probes(struct inst_checks *x)
{
    probe_stop(x->ready);
    x->ready = NULL;
    probe_stop(x->live);
    x->live = NULL;
}

static void close_notify(struct inst_checks *x)
{
    if (x->notify) notify_close(x->notify);
    x->notify = NULL;
}

struct curlm *checks_curl(struct checks *ck)
{
    /* libcurl (and the TLS library it initialises) is set up on the first HTTP probe only */
    if (!ck->curl) ck->curl = curlm_new(ck->s->loop);
    return ck->curl;
}

const char *checks_probe_result(const struct checks *ck, const struct instance *in)
{
    const struct inst_checks *x = ck ? inst_ctx(in, ck->slot) : NULL;
    return x ? x->probe_result : NULL;
}

const char *checks_status_text(const struct checks *ck, const struct instance *in)
{
    const struct inst_checks *x = ck ? inst_ctx(in, ck->slot) : NULL;
    return x ? x->status_text : NULL;
}

/* ---- sd_notify from roles ---------------------------------------------------------------- */

static pid_t pgid_of(pid_t pid)
{
    struct os_proc_stat st;
    return os_proc_stat(pid, &st) == 0 ? st.pgrp : -1;
}

static void on_notify(void *ud, pid_t sender, const char *msg, size_t len)
{
    struct inst_checks *x = ud;
    struct instance *in = x->in;
    /* Only the instance's own processes may speak for it (systemd's NotifyAccess=all). */
    if (sender <= 0 || (sender != in->pid && pgid_of(sender) != in->pgid)) return;
    struct notify_msg m;
    notify_parse(msg, len, &m);
    if (m.has_status) {
        free(x->status_text);
        x->status_text = xstrdup(m.status);
        sup_changed(x->ck->s);
    }
    if (m.ready) probe_notify(x->ready, true, false);
    if (m.watchdog) probe_notify(x->live, false, true);
    if (m.watchdog_trigger) sup_post_fail(in, "watchdog: WATCHDOG=trigger");
}

/* ---- the observer ------------------------------------------------------------------------ */

static void on_env(void *ud, struct instance *in, envmap *env)
{
    struct checks *ck = ud;
    const struct role_config *c = role_cfg(in->role);
    bool wants = c->ready.kind == PROBE_NOTIFY || c->live.kind == PROBE_NOTIFY;
    struct inst_checks *x = inst_ctx(in, ck->slot);
    if (x) close_notify(x);
    if (!wants) return;
    x = ctx(ck, in);
    char name[64];
    snprintf(name, sizeof name, "roster-%d-%u", (int)getpid(), ++ck->notify_counter);
    x->notify = notify_open(ck->s->loop, name, on_notify, x);
    if (!x->notify) {
        logmux_event(&ck->s->log, "warning", c->name, in->index, NULL,
                     "%s: cannot create its sd_notify socket: %s", in->label, strerror(errno));
        return;
    }
    envmap_set(env, "NOTIFY_SOCKET", x->notify->name);
    if (c->live.kind == PROBE_NOTIFY && c->live.watchdog_ms) {
        char usec[32];
        snprintf(usec, sizeof usec, "%llu", (unsigned long long)c->live.watchdog_ms * 1000ull);
        envmap_set(env, "WATCHDOG_USEC", usec);
    }
}

static void on_spawned(void *ud, struct instance *in)
{
    struct checks *ck = ud;
    const struct role_config *c = role_cfg(in->role);
    struct inst_checks *x = ctx(ck, in);
    free(x->probe_result);
    x->probe_result = NULL;
    free(x->status_text);
    x->status_text = NULL;
    /* A watchdog runs from the start; other liveness checks begin once the role is ready. */
    if (c->live.kind == PROBE_NOTIFY)
        x->live = probe_start(in, PROBE_MODE_LIVE, ck, &x->probe_result);
    x->ready = probe_start(in, PROBE_MODE_READY, ck, &x->probe_result);
}

static void on_line(void *ud, struct instance *in, const char *line, size_t len)
{
    struct checks *ck = ud;
    struct inst_checks *x = inst_ctx(in, ck->slot);
    if (x) probe_line(x->ready, line, len);
}

static void on_state(void *ud, struct instance *in, enum inst_state old, enum inst_state now)
{
    struct checks *ck = ud;
    struct inst_checks *x = inst_ctx(in, ck->slot);
    (void)old;
    if (!x) return;
    if (now == ST_READY) {
        probe_stop(x->ready);
        x->ready = NULL;
        if (!x->live) x->live = probe_start(in, PROBE_MODE_LIVE, ck, &x->probe_result);
    } else if (now != ST_RUNNING) {
        stop_probes(x); /* stopping, or ended */
    }
}

static void on_exited(void *ud, struct instance *in)
{
    struct checks *ck = ud;
    struct inst_checks *x = inst_ctx(in, ck->slot);
    if (!x) return;
    stop_probes(x);
    close_notify(x);
}

static void on_release(void *ud, struct instance *in)
{
    struct checks *ck = ud;
    struct inst_checks *x = inst_ctx(in, ck->slot);
    if (!x) return;
    stop_probes(x);
    close_notify(x);
    free(x->status_text);
    free(x->probe_result);
    free(x);
    inst_set_ctx(in, ck->slot, NULL);
}

static bool on_reaped(void *ud, struct sup *s, pid_t pid, int status)
{
    struct checks *ck = ud;
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        struct inst_checks *x = inst_ctx(in, ck->slot);
        if (x && (probe_reaped(x->ready, pid, status) || probe_reaped(x->live, pid, status)))
            return true;
    }
    return false;
}

static bool on_owns(void *ud, struct sup *s, pid_t pid)
{
    struct checks *ck = ud;
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        struct inst_checks *x = inst_ctx(in, ck->slot);
        if (x && (probe_owns(x->ready, pid) || probe_owns(x->live, pid))) return true;
    }
    return false;
}

static void on_stop(void *ud, struct sup *s)
{
    struct checks *ck = ud;
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        on_release(ck, in);
    if (ck->curl) curlm_close(ck->curl);
    ck->curl = NULL;
}

static const struct sup_observer checks_observer = {
    .name = "checks",
    .stop = on_stop,
    .env = on_env,
    .state = on_state,
    .spawned = on_spawned,
    .line = on_line,
    .exited = on_exited,
    .reaped = on_reaped,
    .owns = on_owns,
    .release = on_release,
};

struct checks *checks_attach(struct sup *s)
{
    struct checks *ck = xcalloc(1, sizeof *ck);
    ck->s = s;
    ck->slot = sup_attach(s, &checks_observer, ck);
    if (ck->slot < 0) {
        free(ck);
        return NULL;
    }
    return ck;
}

void checks_free(struct checks *ck)
{
    free(ck);
}
