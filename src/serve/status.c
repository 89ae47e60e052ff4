/* status.c — instance health levels shared by /health, /metrics and the control socket. */
#include "serve/status.h"

#include "datastore/services.h"

const char *health_level_name(enum health_level l)
{
    switch (l) {
    case HEALTH_PASS: return "pass";
    case HEALTH_WARN: return "warn";
    default: return "fail";
    }
}

cJSON *status_add_exit(cJSON *o, const char *name, const struct instance *in)
{
    if (!inst_has_exit(in)) return NULL;
    cJSON *e = cJSON_AddObjectToObject(o, name);
    if (in->exit.code >= 0)
        cJSON_AddNumberToObject(e, "code", in->exit.code);
    else
        cJSON_AddStringToObject(e, "signal", signal_name(in->exit.signal));
    return e;
}

double status_uptime(const struct instance *in, double now)
{
    if (!inst_state_alive(in->state)) return 0;
    return now - in->spawned_wall;
}

enum health_level status_instance(const struct view *v, const struct instance *in, double now,
                                  const char **why)
{
    const char *wait;
    *why = NULL;
    switch (in->state) {
    case ST_READY:
        if (in->restarts && now - in->last_restart_wall < STATUS_RECENT_RESTART_S) {
            *why = "restarted recently";
            return HEALTH_WARN;
        }
        return HEALTH_PASS;
    case ST_RUNNING: *why = "started, not ready yet"; return HEALTH_WARN;
    case ST_STARTING:
        wait = v->services ? services_gate_wait(v->services, in) : NULL;
        *why = wait ? wait : "starting";
        return HEALTH_WARN;
    case ST_STOPPING:
    case ST_RESTARTING:
    case ST_FAILING:
    case ST_EXITING: *why = "stopping"; return HEALTH_WARN;
    case ST_DOWN:
        if (in->role->goal == GOAL_DOWN) {
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
    case ST_FAILED: *why = "exited with a failure"; return HEALTH_FAIL;
    case ST_EXITED: return HEALTH_PASS;
    case ST__COUNT: break;
    }
    return HEALTH_FAIL;
}

void status_each(const struct sup *s, void (*fn)(void *ud, const struct instance *in), void *ud)
{
    for (size_t i = 0; i < s->nroles; i++) {
        struct role *r = s->roles[i];
        if (!sup_role_selected(r)) continue;
        for (int k = 0; k < r->ninst; k++)
            fn(ud, r->inst[k]);
    }
}

bool status_ready(const struct view *v, sbuf *not_ready)
{
    bool ready = sup_all_ready(v->s, not_ready) &&
                 (!v->services || services_ready(v->services, not_ready)) && !v->s->shutting_down;
    if (v->s->shutting_down) {
        if (not_ready)
            sbuf_printf(not_ready, "%sroster is shutting down", not_ready->len ? ", " : "");
    }
    return ready;
}
