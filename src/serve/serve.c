/* serve.c — the health server, the control socket and roster's own sd_notify as one observer.
 * See serve.h. */
#include "serve/serve.h"

#include <stdlib.h>
#include <string.h>

#include "checks/notify.h"
#include "datastore/services.h"
#include "serve/control.h"
#include "serve/health.h"
#include "serve/rolechan.h"
#include "supervise/observer.h"

struct serve {
    struct view v;
    struct health *health;
    struct rolechan *chan;
    struct control *control;
    char *self_notify; /* NOTIFY_SOCKET roster itself was given */
    uint64_t self_watchdog_usec;
    uv_timer_t self_watchdog;
    bool self_watchdog_on;
    bool self_ready_sent;
};

static void self_notify(struct serve *sv, struct sup *s, const char *msg)
{
    if (!sv->self_notify) return;
    int rc = notify_send(sv->self_notify, msg);
    if (rc < 0)
        logmux_event(&s->log, "warning", NULL, 0, NULL, "sd_notify to %s failed: %s",
                     sv->self_notify, strerror(-rc));
}

static void on_self_watchdog(uv_timer_t *t)
{
    struct serve *sv = t->data;
    self_notify(sv, (struct sup *)sv->v.s, "WATCHDOG=1");
}

static int on_start(void *ud, struct sup *s)
{
    struct serve *sv = ud;
    const struct roster_config *c = &s->plan->cfg;
    for (char **e = s->opts.environ_; e && *e; e++) {
        if (!strncmp(*e, "NOTIFY_SOCKET=", 14) && (*e)[14]) sv->self_notify = xstrdup(*e + 14);
        if (!strncmp(*e, "WATCHDOG_USEC=", 14))
            sv->self_watchdog_usec = strtoull(*e + 14, NULL, 10);
    }
    char err[256] = "";
    if (c->health_listen) {
        sv->health = health_start(&sv->v, s->loop, c->health_listen, err, sizeof err);
        if (!sv->health) {
            logmux_event(&s->log, "error", NULL, 0, NULL, "health server: %s", err);
            return -1;
        }
        logmux_event(&s->log, "health", NULL, 0, NULL, "health: http://%s/health (port %d)",
                     c->health_listen, health_port(sv->health));
    }
    err[0] = '\0';
    /* none on concurrently's command line without --socket */
    if (c->control_socket)
        sv->control =
            control_start(s, &sv->v, c->control_socket, c->control_default, err, sizeof err);
    if (!sv->control && c->control_socket)
        logmux_event(&s->log, "warning", NULL, 0, NULL,
                     "control socket disabled: %s (roster status/restart/stop/start/reload will "
                     "not reach this roster)",
                     err);
    if (sv->self_notify && sv->self_watchdog_usec) {
        uv_timer_init(s->loop, &sv->self_watchdog);
        sv->self_watchdog.data = sv;
        uint64_t every = sv->self_watchdog_usec / 2000;
        uv_timer_start(&sv->self_watchdog, on_self_watchdog, every ? every : 1, every ? every : 1);
        sv->self_watchdog_on = true;
    }
    return 0;
}

static void on_stop(void *ud, struct sup *s)
{
    struct serve *sv = ud;
    (void)s;
    health_stop(sv->health);
    sv->health = NULL;
    control_stop(sv->control);
    sv->control = NULL;
    if (sv->self_watchdog_on) uv_close((uv_handle_t *)&sv->self_watchdog, NULL);
    sv->self_watchdog_on = false;
}

static void on_plan_swapped(void *ud, struct sup *s, const struct plan *old)
{
    (void)ud;
    const struct roster_config *o = &old->cfg, *n = &s->plan->cfg;
    bool health_changed = (o->health_listen == NULL) != (n->health_listen == NULL) ||
                          (o->health_listen && strcmp(o->health_listen, n->health_listen));
    bool control_changed = (o->control_socket == NULL) != (n->control_socket == NULL) ||
                           (o->control_socket && strcmp(o->control_socket, n->control_socket));
    if (health_changed || control_changed)
        logmux_event(&s->log, "note", NULL, 0, NULL,
                     "health.listen and control.socket changes apply when roster restarts");
}

static void on_shutdown(void *ud, struct sup *s)
{
    self_notify(ud, s, "STOPPING=1\nSTATUS=shutting down");
}

static void on_settled(void *ud, struct sup *s)
{
    struct serve *sv = ud;
    if (!sv->self_notify || sv->self_ready_sent || s->shutting_down) return;
    if (status_ready(&sv->v, NULL)) {
        sv->self_ready_sent = true;
        self_notify(sv, s, "READY=1\nSTATUS=every role is ready");
    }
}

static const struct sup_observer serve_observer = {
    .name = "serve",
    .start = on_start,
    .stop = on_stop,
    .plan_swapped = on_plan_swapped,
    .shutdown = on_shutdown,
    .settled = on_settled,
};

struct serve *serve_attach(struct sup *s, const struct checks *ck, const struct services *svc)
{
    struct serve *sv = xcalloc(1, sizeof *sv);
    sv->v = (struct view){.s = s, .checks = ck, .services = svc};
    if (sup_attach(s, &serve_observer, sv) < 0) {
        free(sv);
        return NULL;
    }
    /* builtin roles report their schedules' (and later their jobs') state through it */
    sv->chan = rolechan_attach(s);
    sv->v.chan = sv->chan;
    return sv;
}

void serve_free(struct serve *sv)
{
    if (!sv) return;
    free(sv->self_notify);
    rolechan_free(sv->chan);
    free(sv);
}
