/* test_backoff.c — restart delays (immediate first, then doubling to a cap, with ±20% jitter)
 * and the sliding window that counts restarts for give_up. */
#include <stdint.h>

#include "base/backoff.h"
#include "t.h"

static void test_base(void)
{
    /* initial 100ms, max 30s: 0, 100, 200, 400 ... 25.6s, then 30s */
    CHECK_INT(backoff_base_ms(100, 30000, 0), 0);
    CHECK_INT(backoff_base_ms(100, 30000, 1), 0);
    CHECK_INT(backoff_base_ms(100, 30000, 2), 100);
    CHECK_INT(backoff_base_ms(100, 30000, 3), 200);
    CHECK_INT(backoff_base_ms(100, 30000, 4), 400);
    CHECK_INT(backoff_base_ms(100, 30000, 5), 800);
    CHECK_INT(backoff_base_ms(100, 30000, 10), 25600);
    CHECK_INT(backoff_base_ms(100, 30000, 11), 30000);
    CHECK_INT(backoff_base_ms(100, 30000, 12), 30000);
    CHECK_INT(backoff_base_ms(100, 30000, 1000), 30000);
    CHECK_INT(backoff_base_ms(100, 30000, 4000000000u), 30000);
    /* every n: initial × 2^(n-2), capped */
    for (unsigned n = 2; n < 40; n++) {
        uint64_t want = 250;
        for (unsigned i = 2; i < n && want < 60000; i++)
            want *= 2;
        if (want > 60000) want = 60000;
        CHECK_INT(backoff_base_ms(250, 60000, n), want);
    }
    /* initial above max: max */
    CHECK_INT(backoff_base_ms(5000, 1000, 2), 1000);
    CHECK_INT(backoff_base_ms(5000, 1000, 3), 1000);
    /* initial == max */
    CHECK_INT(backoff_base_ms(1000, 1000, 7), 1000);
}

static void test_jitter(void)
{
    /* the first restart is immediate whatever r is */
    CHECK_INT(backoff_delay_ms(100, 30000, 1, 0.0), 0);
    CHECK_INT(backoff_delay_ms(100, 30000, 1, 0.99), 0);
    /* r = 0 gives -20%, r = 0.5 the base, r -> 1 nearly +20% */
    CHECK_INT(backoff_delay_ms(1000, 30000, 2, 0.0), 800);
    CHECK_INT(backoff_delay_ms(1000, 30000, 2, 0.5), 1000);
    CHECK_INT(backoff_delay_ms(1000, 30000, 2, 0.999999), 1199);
    CHECK_INT(backoff_delay_ms(1000, 30000, 3, 0.0), 1600);
    CHECK_INT(backoff_delay_ms(1000, 30000, 3, 0.25), 1800);
    CHECK_INT(backoff_delay_ms(1000, 30000, 20, 0.0), 24000);
    CHECK_INT(backoff_delay_ms(1000, 30000, 20, 0.9999999), 35999);
    /* out-of-range r is clamped, never beyond +20% */
    CHECK_INT(backoff_delay_ms(1000, 30000, 2, -3.0), 800);
    CHECK_INT(backoff_delay_ms(1000, 30000, 2, 1.0), 1199);
    CHECK_INT(backoff_delay_ms(1000, 30000, 2, 7.5), 1199);
    /* a sweep stays within [0.8, 1.2) of the base and grows with r */
    int below = 0, above = 0, decreasing = 0;
    for (unsigned n = 2; n < 16; n++) {
        uint64_t base = backoff_base_ms(100, 30000, n), prev = 0;
        for (int k = 0; k < 1000; k++) {
            uint64_t d = backoff_delay_ms(100, 30000, n, k / 1000.0);
            below += d * 10 < base * 8;
            above += d * 10 >= base * 12;
            decreasing += d < prev;
            prev = d;
        }
    }
    CHECK_INT(below, 0);
    CHECK_INT(above, 0);
    CHECK_INT(decreasing, 0);
}

/* The connections' retry wait: 250, 500, 1000 ... capped, and 250 again after a success; the
 * sequence pgconn.c and redisconn.c each computed by hand before. */
static void test_retry(void)
{
    struct retry_backoff b = {.initial_ms = 250, .max_ms = 2000};
    static const uint64_t want[] = {250, 500, 1000, 2000, 2000, 2000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_INT(retry_backoff_next(&b), want[i]);
    /* the count stops at the cap: a server away for days cannot wrap it */
    for (int i = 0; i < 100000; i++)
        retry_backoff_next(&b);
    CHECK(b.failures < 10);
    CHECK_INT(retry_backoff_next(&b), 2000);
    retry_backoff_reset(&b);
    CHECK_INT(retry_backoff_next(&b), 250);
    CHECK_INT(retry_backoff_next(&b), 500);

    /* a cap below the first wait: the cap */
    struct retry_backoff low = {.initial_ms = 250, .max_ms = 100};
    CHECK_INT(retry_backoff_next(&low), 100);
    CHECK_INT(retry_backoff_next(&low), 100);
    /* no wait at all stays no wait, and ends (backoff_base_ms stops doubling a zero) */
    struct retry_backoff zero = {.initial_ms = 0, .max_ms = 1000};
    CHECK_INT(retry_backoff_next(&zero), 0);
    CHECK_INT(backoff_base_ms(0, 1000, 4000000000u), 0);
}

static void test_window(void)
{
    struct restart_window w = {0};
    /* within 60s, keep up to 11 entries (give_up.after 10 + 1) */
    CHECK_INT(restart_window_add(&w, 1000, 60000, 11), 1);
    CHECK_INT(restart_window_add(&w, 2000, 60000, 11), 2);
    CHECK_INT(restart_window_add(&w, 30000, 60000, 11), 3);
    /* at 61000 the entry from 1000 is exactly 60s old: out of the window */
    CHECK_INT(restart_window_add(&w, 61000, 60000, 11), 3);
    CHECK_INT(w.n, 3);
    CHECK_INT(w.t[0], 2000);
    CHECK_INT(w.t[2], 61000);
    /* long after: only this one counts */
    CHECK_INT(restart_window_add(&w, 500000, 60000, 11), 1);
    CHECK_INT(w.t[0], 500000);

    /* a burst: the count grows to keep and stays there, keeping the newest */
    restart_window_clear(&w);
    CHECK_INT(w.n, 0);
    for (uint64_t i = 1; i <= 20; i++) {
        size_t n = restart_window_add(&w, 1000000 + i * 10, 60000, 11);
        CHECK_INT(n, i < 11 ? i : 11);
    }
    CHECK_INT(w.n, 11);
    CHECK_INT(w.t[0], 1000000 + 10 * 10);
    CHECK_INT(w.t[10], 1000000 + 20 * 10);
    restart_window_free(&w);
    CHECK(w.t == NULL);
    CHECK_INT(w.n, 0);

    /* give_up {after: 3, within: 10s}: the 4th restart within 10s gives up, spaced ones never */
    uint64_t t = 0;
    int gave_up_at = -1;
    for (int i = 1; i <= 10 && gave_up_at < 0; i++) {
        t += 4000;
        if (restart_window_add(&w, t, 10000, 4) > 3) gave_up_at = i;
    }
    CHECK_INT(gave_up_at, -1); /* every 4s: never more than 3 within 10s */
    restart_window_free(&w);
    gave_up_at = -1;
    for (int i = 1; i <= 10 && gave_up_at < 0; i++) {
        t += 3000;
        if (restart_window_add(&w, t, 10000, 4) > 3) gave_up_at = i;
    }
    CHECK_INT(gave_up_at, 4); /* every 3s: four restarts span 9s */
    restart_window_free(&w);

    /* keep of 0 is treated as 1 */
    CHECK_INT(restart_window_add(&w, 5, 100, 0), 1);
    CHECK_INT(restart_window_add(&w, 6, 100, 0), 1);
    CHECK_INT(w.t[0], 6);
    restart_window_free(&w);
}

int main(void)
{
    test_base();
    test_jitter();
    test_retry();
    test_window();
    return t_done("backoff");
}
