/* status.h — one reading of the supervisor's state for the outputs that report it: /health,
 * /metrics, /readyz and the control socket's role list. Read-only. */
#ifndef ROSTER_STATUS_H
#define ROSTER_STATUS_H

#include <cjson/cJSON.h>

#include "supervise/supervisor.h"

struct checks;
struct services;
struct rolechan;

/* What the outputs read: the supervisor and what the observers know, all read-only. */
struct view {
    const struct sup *s;
    const struct checks *checks;     /* NULL: no probe results or STATUS= to show */
    const struct services *services; /* NULL: no Postgres or Redis */
    const struct rolechan *chan;     /* builtin roles' status channels (rolechan.h), or NULL */
};

enum health_level { HEALTH_PASS, HEALTH_WARN, HEALTH_FAIL };

#define STATUS_RECENT_RESTART_S 60.0 /* a restart this recent turns an instance to warn */

const char *health_level_name(enum health_level l);
/* An instance's level and, when not pass, why (a static or instance-owned string). */
enum health_level status_instance(const struct view *v, const struct instance *in, double now,
                                  const char **why);
/* Seconds since the current process started (0 when none runs). */
double status_uptime(const struct instance *in, double now);
/* Adds the instance's last end to o as the object name: {"code":N} or {"signal":"SIGTERM"}, and
 * returns it for more members; NULL, adding nothing, when it has not ended yet. */
cJSON *status_add_exit(cJSON *o, const char *name, const struct instance *in);
/* Calls fn for every instance of every selected role, in plan order. */
void status_each(const struct sup *s, void (*fn)(void *ud, const struct instance *in), void *ud);
/* True when every selected role is ready (oneshots: succeeded), every required service is up
 * and roster is not shutting down; otherwise appends why to not_ready. */
bool status_ready(const struct view *v, sbuf *not_ready);

#endif
