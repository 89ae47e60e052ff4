/* budget.h — sharing a Postgres connection budget across roles and their copies (SPEC §7).
 * Pure arithmetic: fixed roles first, the rest by weight per copy, at least one connection per
 * copy, floors plus largest remainder, and Σ copies × pool ≤ usable always. */
#ifndef ROSTER_BUDGET_H
#define ROSTER_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct budget_in {
    const char *role;
    int copies;      /* fleet-wide: postgres.instances[role] × instances */
    bool fixed;      /* connections: c */
    int connections; /* when fixed */
    int weight;      /* otherwise (≥ 1) */
};

struct budget_line {
    char *role;
    int copies;
    bool fixed;
    int weight;
    int pool;  /* per copy */
    int total; /* copies × pool */
};

struct budget_plan {
    int usable;
    int used;
    struct budget_line *lines;
    size_t nlines;
};

/* Shares usable among in[0..n). Returns 0 with out filled (free with budget_free), or -1 with
 * a message in err that names the numbers. Roles with 0 copies get no pool (0): nothing runs
 * them, and the plan's total is what its copies are handed. */
int budget_compute(int usable, const struct budget_in *in, size_t n, struct budget_plan *out,
                   char *err, size_t errlen);
/* The usable count for budget: auto: max_connections − reserved ones − headroom. */
int budget_usable(int max_connections, int superuser_reserved, int reserved, int headroom);
void budget_print(const struct budget_plan *p, FILE *out);
void budget_free(struct budget_plan *p);
const struct budget_line *budget_find(const struct budget_plan *p, const char *role);

#endif
