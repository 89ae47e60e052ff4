/* services.h — the backing services roster itself talks to: Postgres (budget, connection
 * sampling, advisory locks) and Redis (PING), attached to the supervisor as one observer. They
 * gate role starts (wait_for, the budget, lock: postgres); the health and metrics outputs read
 * struct services (a read-only view: only services.c writes it). */
#ifndef ROSTER_SERVICES_H
#define ROSTER_SERVICES_H

#include <stdbool.h>

#include "supervise/supervisor.h"

struct pgconn;
struct redisconn;

/* Connections a role held at the last pg_stat_activity sample. */
struct usage {
    char *role;
    int used;
    bool over; /* over its share of the budget */
};

struct services {
    struct sup *s;
    int slot; /* observer context slot */
    /* Postgres: NULL when not configured */
    struct pgconn *pg;
    bool pg_up;
    bool pg_down_logged;
    bool pg_ever_up;
    uint64_t started_ms; /* uv_now when roster's own connections began */
    double pg_response; /* seconds, last sample; < 0 none */
    bool settings_known;
    int max_conn, su_reserved, reserved;
    uv_timer_t sample_timer;
    bool sampling;
    struct usage *usage;
    size_t nusage;
    int other_used, roster_used, total_used;
    bool sampled;
    uint64_t samples;
    bool budget_failed;
    /* Redis: NULL when not configured */
    struct redisconn *redis;
    bool redis_up;
    bool redis_down_logged;
    bool redis_ever_up;
};

/* Attaches to s (before sup_run); the connections open when the run starts. Free with
 * services_free after sup_run. NULL when no observer slot is left. */
struct services *services_attach(struct sup *s);
void services_free(struct services *v);
/* What a starting instance waits for ("waiting for postgres"), or NULL. */
const char *services_gate_wait(const struct services *v, const struct instance *in);
/* False when a required service is down; appends why to not_ready. */
bool services_ready(const struct services *v, sbuf *not_ready);

#endif
