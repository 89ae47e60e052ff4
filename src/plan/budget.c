/* budget.c — the connection budget planner. See budget.h for the rules. */
#include "plan/budget.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int budget_usable(int max_connections, int superuser_reserved, int reserved, int headroom)
{
    return max_connections - superuser_reserved - reserved - headroom;
}

struct work {
    size_t idx;
    double exact; /* real-valued pool per copy */
    bool pinned;  /* held at the minimum of 1 per copy */
};

static int by_remainder(const void *a, const void *b)
{
    const struct work *x = a, *y = b;
    double rx = x->exact - (double)(long)x->exact, ry = y->exact - (double)(long)y->exact;
    if (rx > ry) return -1;
    if (rx < ry) return 1;
    /* equal shares next to each other, so they are handed out as one group */
    if (x->exact > y->exact) return -1;
    if (x->exact < y->exact) return 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int budget_compute(int usable, const struct budget_in *in, size_t n, struct budget_plan *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->usable = usable;
    if (usable < 0) {
        snprintf(err, errlen, "the budget is %d connections: nothing is left for the roles",
                 usable);
        return -1;
    }
    long fixed_total = 0, weighted_copies = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i].fixed)
            fixed_total += (long)in[i].copies * in[i].connections;
        else
            weighted_copies += in[i].copies;
    }
    if (fixed_total > usable) {
        snprintf(err, errlen, "roles with fixed connections need %ld, but only %d are usable",
                 fixed_total, usable);
        return -1;
    }
    long rest = usable - fixed_total;
    if (weighted_copies > rest) {
        snprintf(err, errlen,
                 "%ld copies of weighted roles need at least one connection each, but only %ld of "
                 "%d usable remain after %ld fixed",
                 weighted_copies, rest, usable, fixed_total);
        return -1;
    }

    out->lines = xcalloc(n ? n : 1, sizeof *out->lines);
    out->nlines = n;
    struct work *w = xcalloc(n ? n : 1, sizeof *w);
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        struct budget_line *l = &out->lines[i];
        l->role = xstrdup(in[i].role);
        l->copies = in[i].copies;
        l->fixed = in[i].fixed;
        l->weight = in[i].fixed ? 0 : in[i].weight;
        if (in[i].fixed) {
            l->pool = in[i].connections;
        } else {
            w[nw].idx = i;
            nw++;
        }
    }

    /* Water-filling: a role whose proportional share is under one connection per copy is pinned
     * at one, and the others share what is left, until every unpinned share is at least one. */
    long avail = rest;
    for (;;) {
        double wsum = 0;
        for (size_t k = 0; k < nw; k++)
            if (!w[k].pinned && in[w[k].idx].copies > 0)
                wsum += (double)in[w[k].idx].weight * in[w[k].idx].copies;
        /* Every share of this round comes from the same avail and wsum, so equal weights are
         * pinned together; pinning only lowers the others' shares, so it never undoes itself. */
        for (size_t k = 0; k < nw; k++) {
            if (w[k].pinned) continue;
            const struct budget_in *r = &in[w[k].idx];
            w[k].exact = wsum > 0 ? (double)avail * r->weight / wsum : (double)avail;
        }
        bool changed = false;
        for (size_t k = 0; k < nw; k++) {
            /* roles with no copies here cost nothing, but get the pool of their weight */
            if (w[k].pinned || w[k].exact >= 1.0) continue;
            w[k].pinned = true;
            w[k].exact = 1.0;
            avail -= in[w[k].idx].copies;
            changed = true;
        }
        if (!changed) break;
    }
    long used = fixed_total;
    for (size_t k = 0; k < nw; k++) {
        struct budget_line *l = &out->lines[w[k].idx];
        l->pool = w[k].pinned ? 1 : (int)w[k].exact;
        if (l->pool < 1) l->pool = 1;
        used += (long)l->copies * l->pool;
    }
    long left = usable - used;
    /* Roles with the same share per copy (equal weights) have the same remainder: they get one
     * more per copy together or not at all, so equal weights always end with equal pools. */
    qsort(w, nw, sizeof *w, by_remainder);
    for (size_t k = 0; k < nw && left > 0;) {
        size_t end = k + 1;
        while (end < nw && w[end].pinned == w[k].pinned && fabs(w[end].exact - w[k].exact) < 1e-9)
            end++;
        long need = 0;
        for (size_t g = k; g < end; g++)
            need += out->lines[w[g].idx].copies;
        if (!w[k].pinned && need <= left && w[k].exact - (double)(long)w[k].exact > 1e-9) {
            for (size_t g = k; g < end; g++)
                out->lines[w[g].idx].pool++;
            left -= need;
        }
        k = end;
    }
    free(w);
    out->used = 0;
    for (size_t i = 0; i < n; i++) {
        if (out->lines[i].copies == 0) out->lines[i].pool = 0;
        out->lines[i].total = out->lines[i].copies * out->lines[i].pool;
        out->used += out->lines[i].total;
    }
    return 0;
}

void budget_print(const struct budget_plan *p, FILE *out)
{
    size_t w = 4;
    for (size_t i = 0; i < p->nlines; i++)
        if (strlen(p->lines[i].role) > w) w = strlen(p->lines[i].role);
    fprintf(out, "%-*s  %6s  %6s  %9s  %5s  %6s\n", (int)w, "ROLE", "COPIES", "WEIGHT", "POOL EACH",
            "TOTAL", "SHARE");
    for (size_t i = 0; i < p->nlines; i++) {
        const struct budget_line *l = &p->lines[i];
        char weight[16];
        if (l->fixed)
            snprintf(weight, sizeof weight, "fixed");
        else
            snprintf(weight, sizeof weight, "%d", l->weight);
        fprintf(out, "%-*s  %6d  %6s  %9d  %5d  %5.1f%%\n", (int)w, l->role, l->copies, weight,
                l->pool, l->total, p->usable > 0 ? 100.0 * l->total / p->usable : 0.0);
    }
    fprintf(out, "%-*s  %6s  %6s  %9s  %5d  %5.1f%%  of %d usable\n", (int)w, "total", "", "", "",
            p->used, p->usable > 0 ? 100.0 * p->used / p->usable : 0.0, p->usable);
}

void budget_free(struct budget_plan *p)
{
    for (size_t i = 0; i < p->nlines; i++)
        free(p->lines[i].role);
    free(p->lines);
    memset(p, 0, sizeof *p);
}

const struct budget_line *budget_find(const struct budget_plan *p, const char *role)
{
    for (size_t i = 0; i < p->nlines; i++)
        if (!strcmp(p->lines[i].role, role)) return &p->lines[i];
    return NULL;
}
