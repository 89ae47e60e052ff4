/* schedfleet.h — the scheduler role's side that faces the fleet (issue 12): with redis:
 * configured, each occurrence is claimed before it runs (SET NX on
 * roster:<app>:sched:<name>:<epoch>, so one replica runs it), the last fired occurrence is kept
 * for catch_up: last, each finished run is pushed onto roster:<app>:sched:<name>:runs for the
 * jobs API, and manual triggers (roster:<app>:sched:trigger:<name>) are polled once a second.
 * Without Redis every occurrence runs here. The README's scheduler section lists the keys. */
#ifndef ROSTER_SCHEDFLEET_H
#define ROSTER_SCHEDFLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "datastore/redisconn.h"
#include "sched/cron.h"
#include "sched/tz.h"

/* One schedule as the fleet sees it; borrowed: all three outlive the fleet. */
struct fleet_sched {
    const struct schedule_config *cfg;
    const struct cron *cron;
    const struct tz *tz;
};

/* Why an occurrence did not run here (the overlap skips are the scheduler's own). */
enum fleet_skip { FLEET_SKIP_ANOTHER_REPLICA, FLEET_SKIP_REDIS_DOWN, FLEET_NSKIPS };
/* "another_replica", "redis_down": the names /metrics and the status use. */
const char *fleet_skip_name(enum fleet_skip why);

/* What the fleet tells the scheduler, on the loop (never from inside schedfleet_close). */
struct schedfleet_hooks {
    void *ud;
    /* Run schedule i now, for the occurrence (or the manual request) at `at`, seconds since the
     * epoch. */
    void (*run)(void *ud, size_t i, int64_t at);
    /* Occurrence `at` of schedule i does not run here (logged and counted already); NULL: not
     * wanted. For the role's status (a skip reason, as schedreport_skipped takes). */
    void (*skipped)(void *ud, size_t i, int64_t at, enum fleet_skip why);
};

/* How a run ended, for the runs list. */
struct fleet_run {
    int64_t scheduled_at;            /* seconds since the epoch */
    int64_t started_ms, finished_ms; /* the wall clock */
    /* sched_outcome_name's: "ok", "failed", "timeout", "error" or "stopped" */
    const char *outcome;
    int exit_code;                   /* -1: none (an http action, or killed by a signal) */
    long http_status;                /* 0: none */
};

struct schedfleet;

/* The fleet side of role rc (a builtin: scheduler role of cfg) with its n schedules. Its Redis
 * connection is opened by schedfleet_start when cfg has redis:. NULL with err set when redis: is
 * configured but gives no usable URL. */
struct schedfleet *schedfleet_new(uv_loop_t *loop, const struct roster_config *cfg,
                                  const struct role_config *rc, const struct fleet_sched *scheds,
                                  size_t n, char **environ_, const struct schedfleet_hooks *h,
                                  char *err, size_t errlen);
/* Connects; once Redis first answers, schedules with catch_up: last whose most recent occurrence
 * at or before `started` (seconds) was missed run it, and the trigger poll begins. */
void schedfleet_start(struct schedfleet *f, int64_t started);
/* Occurrence `at` of schedule i is due: run here at once without Redis; with it, once this
 * replica has claimed it (within FLEET_WAIT_MS; after that, the role's redis_down decides). */
void schedfleet_fire(struct schedfleet *f, size_t i, int64_t at);
/* A run of schedule i ended: pushed onto its runs list (the newest 50 kept) when Redis is up. */
void schedfleet_finished(struct schedfleet *f, size_t i, const struct fleet_run *r);
/* The role's Redis connection (owned by the fleet, closed by schedfleet_close), for the
 * enqueue action's job store; NULL without redis:. */
struct redisconn *schedfleet_redis(const struct schedfleet *f);
/* Occurrences of schedule i that did not run here, by reason. */
uint64_t schedfleet_skipped(const struct schedfleet *f, size_t i, enum fleet_skip why);
/* The role is stopping: no trigger is popped any more (it would be lost); claims and the runs
 * list go on until schedfleet_close. */
void schedfleet_stop(struct schedfleet *f);
/* After the loop has stopped: runs it until the poll and the pushes in flight are answered (at
 * most ms, each command bounded by its own deadline), so that a trigger the poll popped as the
 * role stopped is put back, and the last runs reach the runs list. */
void schedfleet_settle(struct schedfleet *f, uint64_t ms);
/* Stops polling and closes the connection and every handle; nothing runs after it. The loop
 * must then run the closes before schedfleet_free. */
void schedfleet_close(struct schedfleet *f);
void schedfleet_free(struct schedfleet *f);

#endif
