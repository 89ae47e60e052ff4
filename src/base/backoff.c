/* backoff.c — restart delays and the crash-loop window. */
#include "base/backoff.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

uint64_t backoff_base_ms(uint64_t initial_ms, uint64_t max_ms, unsigned n)
{
    if (n <= 1) return 0;
    uint64_t d = initial_ms;
    for (unsigned i = 2; i < n; i++) {
        if (d == 0 || d >= max_ms) break;
        d *= 2;
    }
    return d > max_ms ? max_ms : d;
}

uint64_t backoff_delay_ms(uint64_t initial_ms, uint64_t max_ms, unsigned n, double r)
{
    uint64_t base = backoff_base_ms(initial_ms, max_ms, n);
    if (base == 0) return 0;
    if (r < 0) r = 0;
    if (r >= 1) r = 0.999999;
    double f = 0.8 + 0.4 * r;
    return (uint64_t)((double)base * f);
}

uint64_t retry_backoff_next(struct retry_backoff *b)
{
    /* The n-th failure waits as the n+1-th restart would: initial × 2^(n-1). The count stops
     * growing once the cap is reached, so it cannot wrap however long the server stays away. */
    uint64_t d = backoff_base_ms(b->initial_ms, b->max_ms, b->failures + 2);
    if (d < b->max_ms) b->failures++;
    return d;
}

void retry_backoff_reset(struct retry_backoff *b)
{
    b->failures = 0;
}

size_t restart_window_add(struct restart_window *w, uint64_t now, uint64_t within_ms, size_t keep)
{
    if (keep < 1) keep = 1;
    /* drop entries that left the window */
    size_t j = 0;
    for (size_t i = 0; i < w->n; i++)
        if (now - w->t[i] < within_ms) w->t[j++] = w->t[i];
    w->n = j;
    if (w->n >= keep) {
        memmove(w->t, w->t + (w->n - keep + 1), (keep - 1) * sizeof *w->t);
        w->n = keep - 1;
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->t = xrealloc(w->t, w->cap * sizeof *w->t);
    }
    w->t[w->n++] = now;
    return w->n;
}

void restart_window_clear(struct restart_window *w)
{
    w->n = 0;
}

void restart_window_free(struct restart_window *w)
{
    free(w->t);
    memset(w, 0, sizeof *w);
}
