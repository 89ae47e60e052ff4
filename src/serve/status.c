/* status.c — instance health levels shared by /health, /metrics and the control socket. */
#include "serve/status.h"

const char *health_level_name(enum health_level l)
{
    switch (l) {
    case HEALTH_PASS: return "pass";
    case HEALTH_WARN: return "warn";
    default: return "fail";
    }
}

double status_uptime(const struct instance *in, double now)
{
    if (in->state != ST_RUNNING && in->state != ST_READY && in->state != ST_STOPPING) return 0;
    return now - in->spawned_wall;
}

enum health_level status_instance(const struct instance *in, double now, const char **why)
{
    *why = NULL;
    switch (in->state) {
    case ST_READY:
        if (in->restarts && now - in->last_restart_wall < STATUS_RECENT_RESTART_S) {
            *why = "restarted recently";
            return HEALTH_WARN;
        }
        return HEALTH_PASS;
    case ST_RUNNING: *why = "started, not ready yet"; return HEALTH_WARN;
    case ST_STARTING: *why = in->gate_wait ? in->gate_wait : "starting"; return HEALTH_WARN;
    case ST_STOPPING: *why = "stopping"; return HEALTH_WARN;
    case ST_STOPPED:
        if (!in->role->want) {
            *why = "stopped by the operator";
            return HEALTH_WARN;
        }
        if (in->role->blocked_logged) {
            *why = "a dependency failed";
            return HEALTH_FAIL;
        }
        *why = "waiting for its dependencies";
        return HEALTH_WARN;
    case ST_BACKOFF: *why = "crashed; restarting after a backoff"; return HEALTH_FAIL;
    case ST_GIVEN_UP: *why = "gave up after too many restarts"; return HEALTH_FAIL;
    case ST_EXITED:
        if (in->failed) {
            *why = "exited with a failure";
            return HEALTH_FAIL;
        }
        return HEALTH_PASS;
    }
    return HEALTH_FAIL;
}

void status_each(struct sup *s, void (*fn)(void *ud, struct instance *in), void *ud)
{
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        if (!sup_role_selected(r)) continue;
        for (int k = 0; k < r->ninst; k++)
            fn(ud, r->inst[k]);
    }
}
