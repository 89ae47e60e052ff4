/* test_dedupe.c — the crash dedupe matcher: what is held, released, dropped and counted. */
#include <stdio.h>
#include <string.h>

#include "log/dedupe.h"
#include "t.h"

/* Feeds a run's lines ("o:" stdout, "e:" stderr) and returns the verdicts as a string of
 * letters: P pass, H hold, R release. */
static const char *feed(struct dedupe *d, const char *const *lines, size_t n)
{
    static char out[64];
    size_t k = 0;
    dedupe_start(d);
    for (size_t i = 0; i < n && k + 1 < sizeof out; i++) {
        int stream = lines[i][0] == 'e';
        enum dedupe_verdict v = dedupe_line(d, stream, lines[i] + 2, strlen(lines[i] + 2));
        out[k++] = v == DEDUPE_PASS ? 'P' : v == DEDUPE_HOLD ? 'H' : 'R';
    }
    out[k] = 0;
    return out;
}

#define N(a) (sizeof(a) / sizeof *(a))

static void test_repeats(void)
{
    struct dedupe d;
    dedupe_init(&d);
    const char *const crash[] = {"o:boom", "e:trace line 1", "e:trace line 2"};
    /* the first crash is shown whole, and remembered */
    CHECK_STR(feed(&d, crash, N(crash)), "PPP");
    CHECK_INT(dedupe_end(&d, true, 3), 0);
    /* the same run again: every line held, then dropped as the 2nd, 3rd... in a row */
    for (unsigned n = 2; n <= 5; n++) {
        CHECK_STR(feed(&d, crash, N(crash)), "HHH");
        CHECK_INT(dedupe_held_count(&d), 3);
        CHECK_INT(dedupe_end(&d, true, 3), n);
        CHECK_INT(dedupe_held_count(&d), 0);
    }
    dedupe_free(&d);
}

static void test_differs(void)
{
    struct dedupe d;
    dedupe_init(&d);
    const char *const a[] = {"o:boom", "e:trace 1", "e:trace 2"};
    const char *const b[] = {"o:boom", "e:trace 1", "e:other"};
    const char *const stream[] = {"o:boom", "o:trace 1", "e:trace 2"};
    const char *const longer[] = {"o:boom", "e:trace 1", "e:trace 2", "e:more"};
    const char *const shorter[] = {"o:boom", "e:trace 1"};
    feed(&d, a, N(a));
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    /* a differing line releases what was held with it, and the run streams from there */
    CHECK_STR(feed(&d, b, N(b)), "HHR");
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    /* b is now the crash compared with; a differs from it at its last line */
    CHECK_STR(feed(&d, a, N(a)), "HHR");
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    /* the same text on the other stream is another line */
    CHECK_STR(feed(&d, stream, N(stream)), "HRP");
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    feed(&d, a, N(a));
    dedupe_end(&d, true, 1);
    /* a longer run: its extra line releases the rest */
    CHECK_STR(feed(&d, longer, N(longer)), "HHHR");
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    feed(&d, a, N(a));
    dedupe_end(&d, true, 1);
    /* a shorter run matched all the way is still not the same output: shown at its end */
    CHECK_STR(feed(&d, shorter, N(shorter)), "HH");
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    feed(&d, a, N(a));
    dedupe_end(&d, true, 1);
    /* the same lines with another status are another crash */
    CHECK_STR(feed(&d, a, N(a)), "HHH");
    CHECK_INT(dedupe_end(&d, true, 2), 0);
    /* and that one is now the one repeated */
    CHECK_STR(feed(&d, a, N(a)), "HHH");
    CHECK_INT(dedupe_end(&d, true, 2), 2);
    dedupe_free(&d);
}

static void test_not_crashes(void)
{
    struct dedupe d;
    dedupe_init(&d);
    const char *const a[] = {"o:boom"};
    feed(&d, a, N(a));
    dedupe_end(&d, true, 1);
    /* a run roster stopped is no repeat, and the next crash starts counting anew */
    CHECK_STR(feed(&d, a, N(a)), "H");
    CHECK_INT(dedupe_end(&d, false, 1), 0);
    CHECK_STR(feed(&d, a, N(a)), "P");
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    CHECK_STR(feed(&d, a, N(a)), "H");
    CHECK_INT(dedupe_end(&d, true, 1), 2);
    /* holding stopped (the hold time passed): the rest streams, the run is not dropped */
    const char *const two[] = {"o:boom", "o:again"};
    feed(&d, two, N(two));
    dedupe_end(&d, true, 1);
    dedupe_start(&d);
    CHECK_INT(dedupe_line(&d, 0, "boom", 4), DEDUPE_HOLD);
    CHECK_INT(dedupe_stop_holding(&d), 1);
    CHECK_INT(dedupe_line(&d, 0, "again", 5), DEDUPE_PASS);
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    /* a crash without output has nothing to drop */
    feed(&d, NULL, 0);
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    feed(&d, NULL, 0);
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    dedupe_free(&d);
}

static void test_bounds(void)
{
    struct dedupe d;
    dedupe_init(&d);
    char line[32];
    /* DEDUPE_MAX_LINES lines are remembered and matched */
    dedupe_start(&d);
    for (int i = 0; i < DEDUPE_MAX_LINES; i++) {
        int n = snprintf(line, sizeof line, "line %d", i);
        CHECK_INT(dedupe_line(&d, 0, line, (size_t)n), DEDUPE_PASS);
    }
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    dedupe_start(&d);
    int held = 0;
    for (int i = 0; i < DEDUPE_MAX_LINES; i++) {
        int n = snprintf(line, sizeof line, "line %d", i);
        held += dedupe_line(&d, 0, line, (size_t)n) == DEDUPE_HOLD;
    }
    CHECK_INT(held, DEDUPE_MAX_LINES);
    CHECK_INT(dedupe_end(&d, true, 1), 2);
    /* one line more: the run is released and neither dropped nor remembered */
    dedupe_start(&d);
    enum dedupe_verdict last = DEDUPE_PASS;
    for (int i = 0; i <= DEDUPE_MAX_LINES; i++) {
        int n = snprintf(line, sizeof line, "line %d", i);
        last = dedupe_line(&d, 0, line, (size_t)n);
    }
    CHECK_INT(last, DEDUPE_RELEASE);
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    dedupe_start(&d);
    CHECK_INT(dedupe_line(&d, 0, "line 0", 6), DEDUPE_PASS); /* nothing to compare with */
    dedupe_end(&d, true, 1);
    /* the byte bound: two lines of half the bound fit, a third byte does not */
    static char big[DEDUPE_MAX_BYTES / 2];
    memset(big, 'x', sizeof big);
    dedupe_start(&d);
    dedupe_line(&d, 0, big, sizeof big);
    dedupe_line(&d, 0, big, sizeof big);
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    dedupe_start(&d);
    CHECK_INT(dedupe_line(&d, 0, big, sizeof big), DEDUPE_HOLD);
    CHECK_INT(dedupe_line(&d, 0, big, sizeof big), DEDUPE_HOLD);
    CHECK_INT(dedupe_line(&d, 0, "x", 1), DEDUPE_RELEASE);
    CHECK_INT(dedupe_end(&d, true, 1), 0);
    dedupe_free(&d);
}

int main(void)
{
    test_repeats();
    test_differs();
    test_not_crashes();
    test_bounds();
    return t_done("dedupe");
}
