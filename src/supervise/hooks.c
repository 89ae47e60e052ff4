/* hooks.c — routes supervisor events to probes, sd_notify, the servers and the services. */
#include "supervise/hooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/control.h"
#include "checks/curlm.h"
#include "serve/health.h"
#include "serve/httpd.h"
#include "checks/notify.h"
#include "checks/probe.h"
#include "datastore/services.h"

/* ---- roster's own sd_notify (Type=notify under systemd) ---------------------------------- */

static void self_notify(struct sup *s, const char *msg)
{
    if (!s->self_notify) return;
    int rc = notify_send(s->self_notify, msg);
    if (rc < 0)
        logmux_event(&s->log, "warning", NULL, 0, NULL, "sd_notify to %s failed: %s",
                     s->self_notify, strerror(-rc));
}

static void on_self_watchdog(uv_timer_t *t)
{
    self_notify(t->data, "WATCHDOG=1");
}

/* ---- loop-wide services ------------------------------------------------------------------ */

int hooks_start(struct sup *s)
{
    const struct roster_config *c = &s->plan->cfg;
    for (char **e = s->opts.environ_; e && *e; e++) {
        if (!strncmp(*e, "NOTIFY_SOCKET=", 14) && (*e)[14]) s->self_notify = xstrdup(*e + 14);
        if (!strncmp(*e, "WATCHDOG_USEC=", 14)) s->self_watchdog_usec = strtoull(*e + 14, NULL, 10);
    }
    char err[256] = "";
    if (c->health_listen) {
        s->health = health_start(s, c->health_listen, err, sizeof err);
        if (!s->health) {
            logmux_event(&s->log, "error", NULL, 0, NULL, "health server: %s", err);
            return -1;
        }
        logmux_event(&s->log, "health", NULL, 0, NULL, "health: http://%s/health (port %d)",
                     c->health_listen, s->health_port);
    }
    err[0] = '\0';
    s->control = control_start(s, c->control_socket, err, sizeof err);
    if (!s->control)
        logmux_event(&s->log, "warning", NULL, 0, NULL,
                     "control socket disabled: %s (roster status/restart/stop/start/reload will "
                     "not reach this roster)",
                     err);
    if (services_start(s) < 0) return -1;
    if (s->self_notify && s->self_watchdog_usec) {
        uv_timer_init(s->loop, &s->self_watchdog);
        s->self_watchdog.data = s;
        uint64_t every = s->self_watchdog_usec / 2000;
        uv_timer_start(&s->self_watchdog, on_self_watchdog, every ? every : 1, every ? every : 1);
        s->self_watchdog_on = true;
    }
    return 0;
}

void hooks_stop(struct sup *s)
{
    services_stop(s);
    if (s->health) httpd_stop(s->health);
    s->health = NULL;
    control_stop(s->control);
    s->control = NULL;
    if (s->curl) curlm_close(s->curl);
    s->curl = NULL;
    if (s->self_watchdog_on) uv_close((uv_handle_t *)&s->self_watchdog, NULL);
    s->self_watchdog_on = false;
    free(s->self_notify);
    s->self_notify = NULL;
}

void hooks_plan_prepare(struct sup *s, struct plan *np, diags *d)
{
    services_plan_prepare(s, np, d);
}

void hooks_plan_swapped(struct sup *s, struct plan *old)
{
    const struct roster_config *o = &old->cfg, *n = &s->plan->cfg;
    bool health_changed = (o->health_listen == NULL) != (n->health_listen == NULL) ||
                          (o->health_listen && strcmp(o->health_listen, n->health_listen));
    if (health_changed || strcmp(o->control_socket, n->control_socket))
        logmux_event(&s->log, "note", NULL, 0, NULL,
                     "health.listen and control.socket changes apply when roster restarts");
    services_plan_swapped(s);
}

/* ---- sd_notify from roles ---------------------------------------------------------------- */

static pid_t pgid_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    int ppid, pgrp;
    char st;
    if (!rp || sscanf(rp + 2, "%c %d %d", &st, &ppid, &pgrp) != 3) return -1;
    return pgrp;
}

static void on_notify(void *ud, pid_t sender, const char *msg, size_t len)
{
    struct instance *in = ud;
    /* Only the instance's own processes may speak for it (systemd's NotifyAccess=all). */
    if (sender <= 0 || (sender != in->pid && pgid_of(sender) != in->pgid)) return;
    struct notify_msg m;
    notify_parse(msg, len, &m);
    if (m.has_status) {
        free(in->status_text);
        in->status_text = xstrdup(m.status);
    }
    if (m.ready) probe_notify(in->ready_probe, true, false);
    if (m.watchdog) probe_notify(in->live_probe, false, true);
    if (m.watchdog_trigger) inst_fail(in, "watchdog: WATCHDOG=trigger");
}

static void close_notify(struct instance *in)
{
    if (in->notify) notify_close(in->notify);
    in->notify = NULL;
}

void hooks_env(struct instance *in, envmap *env)
{
    struct sup *s = in->role->sup;
    const struct role_config *c = role_cfg(in->role);
    bool wants = c->ready.kind == PROBE_NOTIFY || c->live.kind == PROBE_NOTIFY;
    close_notify(in);
    if (!wants) return;
    static unsigned counter;
    char name[64];
    snprintf(name, sizeof name, "roster-%d-%u", (int)getpid(), ++counter);
    in->notify = notify_open(s->loop, name, on_notify, in);
    if (!in->notify) {
        logmux_event(&s->log, "warning", c->name, in->index, NULL,
                     "%s: cannot create its sd_notify socket: %s", in->label, strerror(errno));
        return;
    }
    envmap_set(env, "NOTIFY_SOCKET", in->notify->name);
    if (c->live.kind == PROBE_NOTIFY && c->live.watchdog_ms) {
        char usec[32];
        snprintf(usec, sizeof usec, "%llu", (unsigned long long)c->live.watchdog_ms * 1000ull);
        envmap_set(env, "WATCHDOG_USEC", usec);
    }
}

/* ---- an instance's life ------------------------------------------------------------------ */

static void stop_probes(struct instance *in)
{
    probe_stop(in->ready_probe);
    in->ready_probe = NULL;
    probe_stop(in->live_probe);
    in->live_probe = NULL;
}

bool hooks_gates_open(struct instance *in)
{
    return services_gate(in);
}

void hooks_cancel_start(struct instance *in)
{
    services_cancel(in);
}

void hooks_spawned(struct instance *in)
{
    const struct role_config *c = role_cfg(in->role);
    free(in->probe_result);
    in->probe_result = NULL;
    free(in->status_text);
    in->status_text = NULL;
    /* A watchdog runs from the start; other liveness checks begin once the role is ready. */
    if (c->live.kind == PROBE_NOTIFY) in->live_probe = probe_start(in, PROBE_MODE_LIVE);
    in->ready_probe = probe_start(in, PROBE_MODE_READY);
    if (!in->ready_probe) inst_became_ready(in, NULL);
}

void hooks_line(struct instance *in, const char *line, size_t len)
{
    probe_line(in->ready_probe, line, len);
}

void hooks_state(struct instance *in, enum inst_state old, enum inst_state now)
{
    (void)old;
    if (now == ST_READY) {
        probe_stop(in->ready_probe);
        in->ready_probe = NULL;
        if (!in->live_probe) in->live_probe = probe_start(in, PROBE_MODE_LIVE);
    }
}

void hooks_stopping(struct instance *in)
{
    stop_probes(in);
}

void hooks_exited(struct instance *in)
{
    stop_probes(in);
    close_notify(in);
    services_exited(in);
}

void hooks_release(struct instance *in)
{
    stop_probes(in);
    close_notify(in);
    services_cancel(in);
}

bool hooks_reaped(struct sup *s, pid_t pid, int status)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        if (probe_reaped(in->ready_probe, pid, status) || probe_reaped(in->live_probe, pid, status))
            return true;
    return false;
}

void hooks_kill_all(struct sup *s)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        stop_probes(in);
}

void hooks_shutdown(struct sup *s)
{
    self_notify(s, "STOPPING=1\nSTATUS=shutting down");
}

void hooks_reconciled(struct sup *s)
{
    if (!s->self_notify || s->self_ready_sent || s->shutting_down) return;
    if (sup_all_ready(s, NULL) && services_ready(s, NULL)) {
        s->self_ready_sent = true;
        self_notify(s, "READY=1\nSTATUS=every role is ready");
    }
}
