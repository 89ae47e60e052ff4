/* schedreport.h — what the scheduler role tells of its schedules (issue 12): each schedule's
 * state (next fire, last run) and metrics go to roster over the status channel (status.h), so
 * that /health shows scheduler:<name>, /metrics the roster_schedule_* families, and `roster
 * schedules` the last runs; each run is also a row of roster_schedule_runs in Postgres when the
 * config has postgres: and the role's share has a connection for it (pghist.h), kept for
 * history.keep. None of it ever holds a run up: whatever cannot be sent is dropped and counted. */
#ifndef ROSTER_SCHEDREPORT_H
#define ROSTER_SCHEDREPORT_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"

/* How a run ended. Failed, timeout and error turn the schedule to warn in /health. */
enum sched_outcome {
    SCHED_OK,      /* exit 0, or a 2xx answer */
    SCHED_FAILED,  /* another exit (or a signal), or another status */
    SCHED_TIMEOUT, /* the timeout ended it */
    SCHED_ERROR,   /* it could not run: no such command, no connection, ... */
    SCHED_STOPPED, /* roster stopped the scheduler while it ran */
    SCHED_OUTCOMES
};
const char *sched_outcome_name(enum sched_outcome o);

struct sched_run_report {
    const char *schedule;
    int64_t scheduled_at;     /* the occurrence, seconds since the epoch */
    double started, finished; /* wall clock, seconds since the epoch */
    enum sched_outcome outcome;
    int exit_code;      /* -1: none (an http action, or killed by a signal) */
    int http_status;    /* 0: none */
    const char *detail; /* what the log line says of the end ("exit 1", "HTTP 503"), or NULL */
};

/* The schedule's next occurrence, for each schedule as it is computed (next_iso: ISO-8601 with
 * the zone's offset; NULL when there is none). */
struct schedreport;
/* Opens the status channel from environ_ and, with postgres: in cfg and a share of at least one
 * connection (ROSTER_PG_POOL_SIZE), the history connection; says on stdout where the history
 * goes. */
struct schedreport *schedreport_new(uv_loop_t *loop, const struct roster_config *cfg,
                                    const struct role_config *rc, char **environ_);
void schedreport_next(struct schedreport *r, const char *schedule, const char *next_iso);
void schedreport_run(struct schedreport *r, const struct sched_run_report *run);
/* An occurrence that did not run; reason is a word: overlap, another_replica, redis_down, ... */
void schedreport_skipped(struct schedreport *r, const char *schedule, const char *reason);
/* Runs the loop until the history rows still queued are written, for at most ms (the
 * scheduler is stopping: its last runs' rows should not be lost). NULL is fine. */
void schedreport_flush(struct schedreport *r, uint64_t ms);
/* Closes its handles (the loop must run on for them to close). NULL is fine. */
void schedreport_close(struct schedreport *r);

#endif
