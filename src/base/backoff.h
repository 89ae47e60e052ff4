/* backoff.h — restart timing: the first restart is immediate, then initial × 2^(n-2) capped at
 * max, with ±20% jitter; and the give_up window. Pure: randomness is passed in. */
#ifndef ROSTER_BACKOFF_H
#define ROSTER_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

/* Delay before the n-th consecutive restart (n ≥ 1); r in [0, 1) picks the jitter. */
uint64_t backoff_delay_ms(uint64_t initial_ms, uint64_t max_ms, unsigned n, double r);
/* The unjittered delay, and the bounds jitter keeps it in. */
uint64_t backoff_base_ms(uint64_t initial_ms, uint64_t max_ms, unsigned n);

/* The wait before each retry of a connection that keeps failing: initial, then doubling up to
 * max, and initial again after a success. roster's own Postgres and Redis connections use it;
 * no jitter, as there is one connection of each to the server. */
struct retry_backoff {
    uint64_t initial_ms, max_ms;
    unsigned failures; /* consecutive, since the last success */
};

/* Counts one more failure and returns how long to wait before the next try. */
uint64_t retry_backoff_next(struct retry_backoff *b);
/* A success: the next failure waits initial_ms again. */
void retry_backoff_reset(struct retry_backoff *b);

/* Restart times within a sliding window. */
struct restart_window {
    uint64_t *t;
    size_t n, cap;
};

/* Records a restart at now and returns how many fall within the last within_ms, this one too.
 * Keeps at most keep entries (give_up.after + 1 is enough). */
size_t restart_window_add(struct restart_window *w, uint64_t now, uint64_t within_ms, size_t keep);
void restart_window_clear(struct restart_window *w);
void restart_window_free(struct restart_window *w);

#endif
