/* services.h — the backing services roster itself talks to: Postgres (budget, connection
 * sampling, advisory locks) and Redis (PING). They gate role starts (wait_for, the budget,
 * lock: postgres) and add their checks to /health and /metrics. */
#ifndef ROSTER_SERVICES_H
#define ROSTER_SERVICES_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "supervise/supervisor.h"

int services_start(struct sup *s);
void services_stop(struct sup *s);
/* Whether a starting instance may spawn now; sets in->gate_wait to what it waits for. */
bool services_gate(struct instance *in);
void services_cancel(struct instance *in);
/* The instance ended: release what it held (the advisory lock). */
void services_exited(struct instance *in);
/* Adds postgres:* and redis:* checks; raises *level (a health_level) as needed. */
void services_health(struct sup *s, cJSON *checks, const char *now, int *level);
/* False when a required service is down; appends why to not_ready. */
bool services_ready(struct sup *s, sbuf *not_ready);
void services_metrics(struct sup *s, sbuf *out);
/* Reload: carry the server-read budget into the new plan. */
void services_plan_prepare(struct sup *s, struct plan *np, diags *d);
void services_plan_swapped(struct sup *s);

#endif
