/* test_budget.c — sharing a Postgres connection budget: hand-computed plans, impossible ones
 * with their exact messages, and properties over thousands of random inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/budget.h"
#include "t.h"

/* A weighted and a fixed role. */
// clang-format off
#define W(name, copies, weight) {name, copies, false, 0, weight}
#define F(name, copies, conns) {name, copies, true, conns, 0}
// clang-format on

/* Computes a plan that must succeed and returns the pools as "role=pool×copies" text. */
static const char *pools(int usable, const struct budget_in *in, size_t n)
{
    static char buf[512];
    struct budget_plan p;
    char err[256] = "";
    if (budget_compute(usable, in, n, &p, err, sizeof err) != 0) {
        snprintf(buf, sizeof buf, "ERROR: %s", err);
        return buf;
    }
    size_t off = 0;
    for (size_t i = 0; i < p.nlines; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s=%d×%d", i ? " " : "",
                                p.lines[i].role, p.lines[i].pool, p.lines[i].copies);
    snprintf(buf + off, sizeof buf - off, " used=%d", p.used);
    budget_free(&p);
    return buf;
}

static const char *fails(int usable, const struct budget_in *in, size_t n)
{
    static char err[256];
    struct budget_plan p;
    err[0] = '\0';
    if (budget_compute(usable, in, n, &p, err, sizeof err) == 0) {
        budget_free(&p);
        return "(succeeded)";
    }
    return err;
}

#define POOLS(usable, ...)                                                                         \
    pools(usable, (const struct budget_in[]){__VA_ARGS__},                                         \
          sizeof((const struct budget_in[]){__VA_ARGS__}) / sizeof(struct budget_in))
#define FAILS(usable, ...)                                                                         \
    fails(usable, (const struct budget_in[]){__VA_ARGS__},                                         \
          sizeof((const struct budget_in[]){__VA_ARGS__}) / sizeof(struct budget_in))

static void test_tables(void)
{
    /* DigitalOcean's 1 GB plan: 25 − 3 = 22; api weight 3 × 2 copies, worker weight 2 × 2:
     * 22 × 3/10 = 6.6 and 22 × 2/10 = 4.4 per copy; floors 6 and 4 use 20; api's larger
     * remainder takes the last 2 (one per copy) */
    CHECK_STR(POOLS(22, W("api", 2, 3), W("worker", 2, 2)), "api=7×2 worker=4×2 used=22");
    struct budget_plan p;
    char err[256];
    const struct budget_in doc[] = {W("api", 2, 3), W("worker", 2, 2)};
    CHECK_INT(budget_compute(22, doc, 2, &p, err, sizeof err), 0);
    CHECK_INT(p.usable, 22);
    CHECK_INT(p.used, 22);
    const struct budget_line *l = budget_find(&p, "api");
    CHECK(l != NULL);
    if (l) {
        CHECK_INT(l->pool, 7);
        CHECK_INT(l->total, 14);
        CHECK_INT(l->weight, 3);
        CHECK(!l->fixed);
    }
    l = budget_find(&p, "worker");
    CHECK(l != NULL);
    if (l) {
        CHECK_INT(l->pool, 4);
        CHECK_INT(l->total, 8);
    }
    CHECK(budget_find(&p, "nope") == NULL);

    /* the table roster budget prints */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    budget_print(&p, f);
    fclose(f);
    CHECK_STR(out, "ROLE    COPIES  WEIGHT  POOL EACH  TOTAL   SHARE\n"
                   "api          2       3          7     14   63.6%\n"
                   "worker       2       2          4      8   36.4%\n"
                   "total                                 22  100.0%  of 22 usable\n");
    free(out);
    budget_free(&p);
    CHECK(p.lines == NULL);

    /* one role takes everything */
    CHECK_STR(POOLS(22, W("api", 1, 1)), "api=22×1 used=22");
    CHECK_STR(POOLS(22, W("api", 4, 1)), "api=5×4 used=20");
    /* equal weights */
    CHECK_STR(POOLS(20, W("a", 1, 1), W("b", 1, 1)), "a=10×1 b=10×1 used=20");

    /* fixed first, the rest by weight: 20 − 2 = 18 over weights 1×2 + 1×1 = 6 per copy */
    CHECK_STR(POOLS(20, F("migrate", 1, 2), W("api", 2, 1), W("worker", 1, 1)),
              "migrate=2×1 api=6×2 worker=6×1 used=20");
    /* 25 − 2×5 = 15 over weights 2 and 1 */
    CHECK_STR(POOLS(25, F("pinned", 2, 5), W("api", 1, 2), W("worker", 1, 1)),
              "pinned=5×2 api=10×1 worker=5×1 used=25");
    /* only fixed roles: what they ask, nothing more */
    CHECK_STR(POOLS(30, F("a", 2, 4), F("b", 1, 3)), "a=4×2 b=3×1 used=11");
    /* everything fixed exactly fills the budget */
    CHECK_STR(POOLS(11, F("a", 2, 4), F("b", 1, 3)), "a=4×2 b=3×1 used=11");
    /* fixed leaves exactly one per weighted copy */
    CHECK_STR(POOLS(10, F("a", 1, 7), W("b", 3, 5)), "a=7×1 b=1×3 used=10");

    /* a role whose share is under one per copy is pinned at 1, the others share the rest:
     * small's share 10/103 < 1 → 1 × 3; big gets the other 7 */
    CHECK_STR(POOLS(10, W("big", 1, 100), W("small", 3, 1)), "big=7×1 small=1×3 used=10");
    /* several pinned at once */
    CHECK_STR(POOLS(12, W("big", 1, 50), W("s1", 2, 1), W("s2", 2, 1)),
              "big=8×1 s1=1×2 s2=1×2 used=12");

    /* largest remainder: 10 over weights 5:3:2 → 5, 3, 2 exactly */
    CHECK_STR(POOLS(10, W("a", 1, 5), W("b", 1, 3), W("c", 1, 2)), "a=5×1 b=3×1 c=2×1 used=10");
    /* 11 over 5:3:2 → 5.5, 3.3, 2.2: the 11th goes to a (remainder .5) */
    CHECK_STR(POOLS(11, W("a", 1, 5), W("b", 1, 3), W("c", 1, 2)), "a=6×1 b=3×1 c=2×1 used=11");
    /* a remainder too big to hand out to every copy is skipped for one that fits:
     * 13 over 1×4 copies (w 2) + 1×1 (w 1): 2.888 per copy and 1.444; floors use 9 of 13;
     * a needs 4 more for +1 each: given; b then has none left */
    CHECK_STR(POOLS(13, W("a", 4, 2), W("b", 1, 1)), "a=3×4 b=1×1 used=13");

    /* roles with no copies get no pool: nothing of what is handed out goes uncounted (issue 10
     * item 7: a role given 0 copies used to get a pool its copies here then took) */
    CHECK_STR(POOLS(10, W("a", 1, 1), W("off", 0, 1)), "a=10×1 off=0×0 used=10");
    CHECK_STR(POOLS(0, W("off", 0, 1)), "off=0×0 used=0");
    CHECK_STR(POOLS(4, F("off", 0, 3), W("a", 1, 1)), "off=0×0 a=4×1 used=4");
    CHECK_STR(pools(5, NULL, 0), " used=0");
}

/* Equal weights get equal pools, whatever the copies and the config order. */
static void test_equal_weights(void)
{
    /* 10 over three equal roles: 3 each; a 4th for one of them would be arbitrary */
    CHECK_STR(POOLS(10, W("a", 1, 1), W("b", 1, 1), W("c", 1, 1)), "a=3×1 b=3×1 c=3×1 used=9");
    CHECK_STR(POOLS(11, W("a", 1, 1), W("b", 1, 1), W("c", 1, 1)), "a=3×1 b=3×1 c=3×1 used=9");
    CHECK_STR(POOLS(12, W("a", 1, 1), W("b", 1, 1), W("c", 1, 1)), "a=4×1 b=4×1 c=4×1 used=12");
    /* equal weights, different copies: 7 per copy exactly... */
    CHECK_STR(POOLS(21, W("a", 2, 1), W("b", 1, 1)), "a=7×2 b=7×1 used=21");
    /* ... or 10/7 per copy: 1 each, since 3 left cannot give both roles' copies one more */
    CHECK_STR(POOLS(10, W("a", 3, 1), W("b", 4, 1)), "a=1×3 b=1×4 used=7");
    /* the same when an equal-weight role with no copies is in the group */
    CHECK_STR(POOLS(11, W("a", 2, 1), W("none", 0, 1), W("b", 1, 1)),
              "a=3×2 none=0×0 b=3×1 used=9");
    /* pinning two equal roles in the same round: w2 roles a and b, a heavy w1 role p whose
     * four copies are pinned at 1 each; the remaining 3 are shared 1.5/1.5 → 1 and 1 */
    CHECK_STR(POOLS(7, W("a", 1, 2), W("p", 4, 1), W("b", 1, 2)), "a=1×1 p=1×4 b=1×1 used=6");
}

static void test_impossible(void)
{
    CHECK_STR(FAILS(10, F("a", 2, 4), F("b", 1, 3), W("c", 1, 1)),
              "roles with fixed connections need 11, but only 10 are usable");
    CHECK_STR(FAILS(10, F("a", 2, 3), W("b", 3, 1), W("c", 2, 5)),
              "5 copies of weighted roles need at least one connection each, but only 4 of 10 "
              "usable remain after 6 fixed");
    CHECK_STR(FAILS(3, W("a", 2, 1), W("b", 2, 1)),
              "4 copies of weighted roles need at least one connection each, but only 3 of 3 "
              "usable remain after 0 fixed");
    CHECK_STR(FAILS(-2, W("a", 1, 1)),
              "the budget is -2 connections: nothing is left for the roles");
    CHECK_STR(FAILS(0, W("a", 1, 1)),
              "1 copies of weighted roles need at least one connection each, but only 0 of 0 "
              "usable remain after 0 fixed");
}

static void test_usable(void)
{
    CHECK_INT(budget_usable(25, 3, 0, 0), 22); /* DigitalOcean 1 GB */
    CHECK_INT(budget_usable(25, 3, 0, 3), 19);
    CHECK_INT(budget_usable(100, 3, 2, 3), 92); /* PG16 reserved_connections */
    CHECK_INT(budget_usable(5, 3, 0, 3), -1);
}

/* Thousands of random plans: either an error that is justified, or a plan that keeps every
 * promise of budget.h. */
static void test_properties(void)
{
    srand(424242);
    int bad_sum = 0, bad_used = 0, bad_min = 0, bad_fixed = 0, bad_equal = 0, bad_error = 0,
        bad_total = 0, bad_share = 0, bad_zero = 0, ok = 0;
    for (int round = 0; round < 20000; round++) {
        struct budget_in in[10];
        static const char *const names[] = {"r0", "r1", "r2", "r3", "r4",
                                            "r5", "r6", "r7", "r8", "r9"};
        size_t n = (size_t)(rand() % 10) + 1;
        long fixed_total = 0, wcopies = 0;
        for (size_t i = 0; i < n; i++) {
            in[i].role = names[i];
            in[i].copies = rand() % 8 == 0 ? 0 : 1 + rand() % 6;
            in[i].fixed = rand() % 4 == 0;
            in[i].connections = 1 + rand() % 6;
            in[i].weight = 1 + rand() % (rand() % 2 ? 3 : 20);
            if (in[i].fixed)
                fixed_total += (long)in[i].copies * in[i].connections;
            else
                wcopies += in[i].copies;
        }
        int usable = rand() % 120;
        struct budget_plan p;
        char err[256];
        if (budget_compute(usable, in, n, &p, err, sizeof err) != 0) {
            /* only when the numbers truly cannot fit */
            if (fixed_total <= usable && wcopies <= usable - fixed_total) bad_error++;
            continue;
        }
        ok++;
        if (fixed_total > usable || wcopies > usable - fixed_total) bad_error++;
        long sum = 0;
        for (size_t i = 0; i < n; i++) {
            const struct budget_line *l = &p.lines[i];
            sum += (long)l->copies * l->pool;
            if (l->total != l->copies * l->pool) bad_total++;
            /* no copies, no pool; every copy at least one connection */
            if (in[i].copies == 0) {
                if (l->pool != 0) bad_zero++;
                continue;
            }
            if (l->pool < 1) bad_min++;
            if (in[i].fixed && l->pool != in[i].connections) bad_fixed++;
            for (size_t j = 0; j < i; j++)
                if (!in[i].fixed && !in[j].fixed && in[j].copies > 0 &&
                    in[i].weight == in[j].weight && l->pool != p.lines[j].pool)
                    bad_equal++;
            /* no weighted role gets more than its proportional share rounded up (unless it was
             * raised to the minimum of 1) */
            double wsum = 0;
            for (size_t j = 0; j < n; j++)
                if (!in[j].fixed) wsum += (double)in[j].weight * in[j].copies;
            if (!in[i].fixed && wsum > 0) {
                double share = (double)(usable - fixed_total) * in[i].weight / wsum;
                if (l->pool > 1 && l->pool > share + 1) bad_share++;
            }
        }
        if (sum > usable) bad_sum++;
        if (sum != p.used) bad_used++;
        budget_free(&p);
    }
    CHECK(ok > 5000); /* most random inputs are feasible */
    CHECK_INT(bad_sum, 0);
    CHECK_INT(bad_used, 0);
    CHECK_INT(bad_total, 0);
    CHECK_INT(bad_min, 0);
    CHECK_INT(bad_fixed, 0);
    CHECK_INT(bad_equal, 0);
    CHECK_INT(bad_error, 0);
    CHECK_INT(bad_share, 0);
    CHECK_INT(bad_zero, 0);
}

int main(void)
{
    test_tables();
    test_equal_weights();
    test_impossible();
    test_usable();
    test_properties();
    return t_done("budget");
}
