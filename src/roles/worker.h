/* worker.h — the built-in job worker role (SPEC §9, issue 13): `roster role NAME` runs a role
 * with builtin: worker as its own process. It takes jobs from the Redis job store (jobs/store.h)
 * by queue weight into `concurrency` slots, runs each with its type's handler (handler.h), and
 * records the outcome: done, retried later with backoff, or dead. SIGTERM drains it. */
#ifndef ROSTER_WORKER_H
#define ROSTER_WORKER_H

#include <stdint.h>

#include "config/config.h"

/* How a retry is delayed after the n-th attempt failed (n ≥ 1): initial × 2^(n-1), capped at
 * max, times a jitter factor in [0.8, 1.2) picked by r in [0, 1), and never above max. Pure. */
uint64_t worker_retry_delay_ms(uint64_t initial_ms, uint64_t max_ms, int attempt, double r);

/* Runs the worker role `role` of cfg until SIGTERM or SIGINT, which drain it: no more jobs are
 * taken, running ones may finish until shortly before the role's stop.timeout, the rest go
 * back to their queues. Returns the exit code (0 after a drain; 1 when Redis cannot be used;
 * 2 when the role is no worker). */
int worker_main(const struct roster_config *cfg, const char *role, char **environ_);

#endif
