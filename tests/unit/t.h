/* t.h — a tiny test harness for the unit tests: CHECK records a failure and goes on,
 * t_done() prints the tally and returns the exit code for ctest. */
#ifndef ROSTER_T_H
#define ROSTER_T_H

#include <stdio.h>
#include <string.h>

static int t_failures, t_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        t_checks++;                                                                                \
        if (!(cond)) {                                                                             \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *t_a = (a), *t_b = (b);                                                         \
        t_checks++;                                                                                \
        if (!t_a || !t_b || strcmp(t_a, t_b) != 0) {                                               \
            t_failures++;                                                                          \
            fprintf(stderr,                                                                        \
                    "%s:%d: CHECK_STR failed: %s\n  got:      \"%s\"\n  expected: \"%s\"\n",       \
                    __FILE__, __LINE__, #a, t_a ? t_a : "(null)", t_b ? t_b : "(null)");           \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long t_a = (long long)(a), t_b = (long long)(b);                                      \
        t_checks++;                                                                                \
        if (t_a != t_b) {                                                                          \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK_INT failed: %s\n  got:      %lld\n  expected: %lld\n",   \
                    __FILE__, __LINE__, #a, t_a, t_b);                                             \
        }                                                                                          \
    } while (0)

static inline int t_done(const char *name)
{
    if (t_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, t_failures, t_checks);
        return 1;
    }
    printf("%s: %d checks passed\n", name, t_checks);
    return 0;
}

#endif
