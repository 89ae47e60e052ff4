/* plan.c — from a loaded config to a plan the supervisor can run: selection, dependency checks
 * and order, environments, users, the Postgres budget and the URLs handed to roles. Pure: what
 * comes from the system (environment, users, libpq) arrives through plan_opts. */
#include "plan/plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/pgurl.h"
#include "base/redact.h"
#include "base/redisurl.h"
#include "base/shellwords.h"
#include "base/units.h"
#include "config/interp.h"
#include "os/proc.h"

/* The config behind a plan, shared by the plans made from one build (plan_with_budget). */
struct plan_config {
    int refs;
    struct roster_config cfg;
};

/* Variables that describe roster's own situation and must not leak to children. */
static const char *const private_vars[] = {
    "NOTIFY_SOCKET", "WATCHDOG_USEC",  "WATCHDOG_PID", "LISTEN_FDS",
    "LISTEN_PID",    "LISTEN_FDNAMES", "ROSTER_ROLES", "PORT",
};

ssize_t plan_find_role(const struct plan *p, const char *name)
{
    size_t i;
    return strmap_get(&p->role_index, name, &i) ? (ssize_t)i : -1;
}

/* Fills p->role_index from p->roles. */
static void index_roles(struct plan *p)
{
    for (size_t i = 0; i < p->nroles; i++)
        strmap_put(&p->role_index, p->roles[i].cfg->name, i);
}

static const char *suggest_role(const struct roster_config *cfg, const char *name)
{
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < cfg->nroles; i++) {
        int d = str_distance(name, cfg->roles[i].name, 2);
        if (d <= 2 && d < bestd) {
            bestd = d;
            best = cfg->roles[i].name;
        }
    }
    return best;
}

static char *role_list(const struct roster_config *cfg)
{
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < cfg->nroles; i++)
        sbuf_printf(&b, "%s%s", i ? ", " : "", cfg->roles[i].name);
    return sbuf_detach(&b);
}

static int select_roles(struct plan *p, const char *spec, diags *d)
{
    if (!spec || !*spec) {
        for (size_t i = 0; i < p->nroles; i++)
            p->roles[i].selected = true;
        return 0;
    }
    int rc = 0;
    char *copy = xstrdup(spec);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *e = tok + strlen(tok);
        while (e > tok && e[-1] == ' ')
            *--e = '\0';
        if (!*tok) continue;
        ssize_t idx = plan_find_role(p, tok);
        if (idx < 0) {
            char *known = role_list(&p->cfg);
            const char *s = suggest_role(&p->cfg, tok);
            if (s)
                diags_add(d, (src_pos){p->cfg.path, 0, 0},
                          "unknown role '%s' (did you mean '%s'?); known roles: %s", tok, s, known);
            else
                diags_add(d, (src_pos){p->cfg.path, 0, 0}, "unknown role '%s'; known roles: %s",
                          tok, known);
            free(known);
            rc = -1;
            continue;
        }
        p->roles[idx].selected = true;
    }
    free(copy);
    bool any = false;
    for (size_t i = 0; i < p->nroles; i++)
        any |= p->roles[i].selected;
    if (!any && rc == 0) {
        diags_add(d, (src_pos){p->cfg.path, 0, 0}, "--role selects no role");
        rc = -1;
    }
    return rc;
}

static int check_deps(struct plan *p, diags *d)
{
    int rc = 0;
    for (size_t i = 0; i < p->nroles; i++) {
        const struct role_config *r = p->roles[i].cfg;
        strmap listed = {0}; /* the role's dependencies so far, to find one listed twice */
        for (size_t j = 0; j < r->ndeps; j++) {
            const struct dep *dep = &r->deps[j];
            ssize_t k = plan_find_role(p, dep->role);
            if (k < 0) {
                /* past the errors kept, a suggestion would be work for nothing */
                const char *s =
                    diags_count(d) < DIAGS_MAX ? suggest_role(&p->cfg, dep->role) : NULL;
                if (s)
                    diags_add(d, dep->pos,
                              "role '%s' depends on unknown role '%s' (did you mean '%s'?)",
                              r->name, dep->role, s);
                else
                    diags_add(d, dep->pos, "role '%s' depends on unknown role '%s'", r->name,
                              dep->role);
                rc = -1;
                continue;
            }
            if ((size_t)k == i) {
                diags_add(d, dep->pos, "role '%s' depends on itself", r->name);
                rc = -1;
                continue;
            }
            if (dep->cond == DEP_COMPLETED && p->roles[k].cfg->kind != ROLE_ONESHOT) {
                diags_add(d, dep->pos,
                          "role '%s' waits for '%s' to complete, but '%s' is a service that never "
                          "completes (use started or ready, or make it kind: oneshot)",
                          r->name, dep->role, dep->role);
                rc = -1;
            }
            if (strmap_get(&listed, dep->role, NULL)) {
                diags_add(d, dep->pos, "role '%s' lists '%s' twice in depends_on", r->name,
                          dep->role);
                rc = -1;
            }
            strmap_put(&listed, dep->role, j);
        }
        strmap_free(&listed);
    }
    return rc;
}

/* Depth-first search for a cycle; reports the first one found as a -> b -> a. */
static bool find_cycle(struct plan *p, size_t i, int *mark, size_t *stack, size_t depth, diags *d)
{
    mark[i] = 1;
    stack[depth] = i;
    const struct role_config *r = p->roles[i].cfg;
    for (size_t j = 0; j < r->ndeps; j++) {
        ssize_t k = plan_find_role(p, r->deps[j].role);
        if (k < 0 || (size_t)k == i) continue;
        if (mark[k] == 1) {
            sbuf b;
            sbuf_init(&b);
            size_t start = 0;
            for (size_t s = 0; s <= depth; s++)
                if (stack[s] == (size_t)k) start = s;
            for (size_t s = start; s <= depth; s++)
                sbuf_printf(&b, "%s -> ", p->roles[stack[s]].cfg->name);
            sbuf_puts(&b, p->roles[k].cfg->name);
            diags_add(d, p->roles[k].cfg->pos, "dependency cycle: %s", b.data);
            sbuf_free(&b);
            return true;
        }
        if (mark[k] == 0 && find_cycle(p, (size_t)k, mark, stack, depth + 1, d)) return true;
    }
    mark[i] = 2;
    return false;
}

/* A binary min-heap of role indices, for the start order. */
static void heap_push(size_t *h, size_t *n, size_t v)
{
    size_t i = (*n)++;
    for (; i > 0 && h[(i - 1) / 2] > v; i = (i - 1) / 2)
        h[i] = h[(i - 1) / 2];
    h[i] = v;
}

static size_t heap_pop(size_t *h, size_t *n)
{
    size_t top = h[0], v = h[--*n], i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (v <= h[c]) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

static int order_roles(struct plan *p, diags *d)
{
    int *mark = xcalloc(p->nroles, sizeof *mark);
    size_t *stack = xcalloc(p->nroles + 1, sizeof *stack);
    for (size_t i = 0; i < p->nroles; i++) {
        if (mark[i] == 0 && find_cycle(p, i, mark, stack, 0, d)) {
            free(mark);
            free(stack);
            return -1;
        }
    }
    free(stack);
    free(mark);
    /* Kahn's algorithm over the selected roles, ties broken by config order: a min-heap of the
     * roles whose dependencies have all started, and for each role the roles that wait for it,
     * so the order costs O((roles + dependencies) log roles). */
    size_t n = p->nroles;
    size_t *pending = xcalloc(n ? n : 1, sizeof *pending);
    size_t *first = xcalloc(n + 1, sizeof *first); /* waiters of i: waiter[first[i]..first[i+1]) */
    size_t nedges = 0;
    for (size_t j = 0; j < n; j++) {
        if (!p->roles[j].selected) continue;
        pending[j] = p->roles[j].ndeps;
        for (size_t k = 0; k < p->roles[j].ndeps; k++)
            first[p->roles[j].deps[k].role + 1]++;
        nedges += p->roles[j].ndeps;
    }
    for (size_t i = 0; i < n; i++)
        first[i + 1] += first[i];
    size_t *waiter = xcalloc(nedges ? nedges : 1, sizeof *waiter);
    size_t *fill = xcalloc(n ? n : 1, sizeof *fill);
    for (size_t j = 0; j < n; j++) {
        if (!p->roles[j].selected) continue;
        for (size_t k = 0; k < p->roles[j].ndeps; k++) {
            size_t i = p->roles[j].deps[k].role;
            waiter[first[i] + fill[i]++] = j;
        }
    }
    size_t *heap = xcalloc(n ? n : 1, sizeof *heap), nheap = 0;
    for (size_t i = 0; i < n; i++)
        if (p->roles[i].selected && pending[i] == 0) heap_push(heap, &nheap, i);
    p->order = xcalloc(n ? n : 1, sizeof *p->order);
    while (nheap > 0) {
        size_t i = heap_pop(heap, &nheap);
        p->order[p->norder++] = i;
        for (size_t e = first[i]; e < first[i + 1]; e++)
            if (--pending[waiter[e]] == 0) heap_push(heap, &nheap, waiter[e]);
    }
    free(heap);
    free(fill);
    free(waiter);
    free(first);
    free(pending);
    return 0;
}

static int resolve_user(struct plan *p, struct plan_role *pr, const struct plan_opts *opts,
                        diags *d)
{
    const struct role_config *r = pr->cfg;
    if (!r->user) return 0;
    if (!opts->lookup_user) {
        /* Checked again at start: a non-root roster cannot switch users. */
        strvec_push(&p->notes, xasprintf("role %s: user %s is ignored unless roster runs as root",
                                         r->name, r->user));
        return 0;
    }
    struct plan_user u = {0};
    int e = opts->lookup_user(opts->user_ctx, r->user, &u);
    if (e == -ENOENT) {
        diags_add(d, r->user_pos, "role '%s': user '%s' does not exist", r->name, r->user);
        return -1;
    }
    if (e < 0) {
        diags_add(d, r->user_pos, "role '%s': cannot look up user '%s': %s", r->name, r->user,
                  strerror(-e));
        return -1;
    }
    pr->has_user = true;
    pr->uid = u.uid;
    pr->gid = u.gid;
    pr->groups = u.groups;
    pr->ngroups = u.ngroups;
    return 0;
}

static bool uses_postgres(const struct plan *p, const struct role_config *r);

bool plan_role_in_budget(const struct plan *p, size_t role)
{
    return uses_postgres(p, p->roles[role].cfg);
}

static bool uses_postgres(const struct plan *p, const struct role_config *r)
{
    if (!p->cfg.pg.enabled || r->pg.mode == PGROLE_OFF) return false;
    /* Oneshots (migrations) live in the headroom unless they ask for a share. */
    if (r->kind == ROLE_ONESHOT && r->pg.mode == PGROLE_DEFAULT) return false;
    return true;
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const envvar *const *)a)->key, (*(const envvar *const *)b)->key);
}

/* What a builtin role reads of the config when it starts (roster role NAME -c FILE): every
 * field of its schedules, history:, redis_down:, the worker's and the api's settings, so that a
 * reload that changes any of them restarts it. A field added to schedule_config or for a
 * builtin belongs here too. */
static void fingerprint_builtin(sbuf *b, const struct role_config *r)
{
    sbuf_printf(b, "builtin=%d\nhistory=%llu\nredis_down=%d\napi=%d,%llu\n", r->builtin,
                (unsigned long long)r->history_keep_ms, r->redis_down, r->api_public_reads,
                (unsigned long long)r->api_max_body);
    for (size_t i = 0; i < r->nschedules; i++) {
        const struct schedule_config *s = &r->schedules[i];
        sbuf_printf(b, "schedule=%s\ncron=%s\ntz=%s\nshell=%s\nhttp=%s\n", s->name, s->cron,
                    s->tz ? s->tz : "", s->shell ? s->shell : "", s->http ? s->http : "");
        for (size_t k = 0; k < s->argv.n; k++)
            sbuf_printf(b, "argv=%s\n", s->argv.v[k]);
        for (size_t k = 0; k < s->req.headers.n; k++)
            sbuf_printf(b, "header=%s\n", s->req.headers.v[k]);
        sbuf_printf(b, "body=%zu:%s\n", s->req.body ? strlen(s->req.body) : 0,
                    s->req.body ? s->req.body : "");
        for (size_t k = 0; k < s->req.nexpect; k++)
            sbuf_printf(b, "expect=%d\n", s->req.expect[k]);
        sbuf_printf(b, "enqueue=%s,%s,%s\ntimeout=%llu\noverlap=%d\ncatch_up=%d\n",
                    s->enq.queue ? s->enq.queue : "", s->enq.type ? s->enq.type : "",
                    s->enq.payload ? s->enq.payload : "", (unsigned long long)s->timeout_ms,
                    s->overlap, s->catch_up);
    }
    const struct worker_config *w = &r->worker;
    sbuf_printf(b, "concurrency=%d\nretry=%d,%llu,%llu\ndead=%llu,%d\n", w->concurrency,
                w->max_attempts, (unsigned long long)w->backoff_initial_ms,
                (unsigned long long)w->backoff_max_ms, (unsigned long long)w->dead_keep_ms,
                w->dead_max);
    for (size_t i = 0; i < w->nqueues; i++)
        sbuf_printf(b, "queue=%s,%d\n", w->queues[i].name, w->queues[i].weight);
    for (size_t i = 0; i < w->nhandlers; i++) {
        const struct handler_config *h = &w->handlers[i];
        sbuf_printf(b, "handler=%s\nshell=%s\nhttp=%s %s\nsecret=%s\nlimits=%llu,%llu\n", h->type,
                    h->shell ? h->shell : "", h->method ? h->method : "", h->url ? h->url : "",
                    h->secret ? h->secret : "", (unsigned long long)h->timeout_ms,
                    (unsigned long long)h->max_memory);
        for (size_t k = 0; k < h->argv.n; k++)
            sbuf_printf(b, "argv=%s\n", h->argv.v[k]);
        for (size_t k = 0; k < h->headers.n; k++)
            sbuf_printf(b, "header=%s\n", h->headers.v[k]);
    }
}

static void fingerprint(struct plan *p, struct plan_role *pr)
{
    const struct role_config *r = pr->cfg;
    sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "kind=%d\nshell=%s\n", r->kind, r->shell ? r->shell : "");
    for (size_t i = 0; i < r->argv.n; i++)
        sbuf_printf(&b, "argv=%s\n", r->argv.v[i]);
    sbuf_printf(&b, "cwd=%s\nuser=%s\nport=%d\ninstances=%d\nrestart=%d\n", r->cwd ? r->cwd : "",
                r->user ? r->user : "", r->port, r->instances, r->restart);
    sbuf_printf(&b, "backoff=%llu,%llu,%llu\ngive_up=%d,%llu,%d\nstop=%d,%llu\nmem=%llu\n",
                (unsigned long long)r->backoff_initial_ms, (unsigned long long)r->backoff_max_ms,
                (unsigned long long)r->backoff_reset_ms, r->give_up_after,
                (unsigned long long)r->give_up_within_ms, r->give_up_then, r->stop_signal,
                (unsigned long long)r->stop_timeout_ms, (unsigned long long)r->max_memory);
    const struct probe_config *probes[] = {&r->ready, &r->live};
    for (size_t i = 0; i < 2; i++)
        sbuf_printf(&b, "probe=%d,%s,%llu,%llu,%llu,%d,%llu\n", probes[i]->kind,
                    probes[i]->target ? probes[i]->target : "",
                    (unsigned long long)probes[i]->every_ms,
                    (unsigned long long)probes[i]->timeout_ms,
                    (unsigned long long)probes[i]->attempt_timeout_ms, probes[i]->failures,
                    (unsigned long long)probes[i]->watchdog_ms);
    for (size_t i = 0; i < r->ndeps; i++)
        sbuf_printf(&b, "dep=%s,%d\n", r->deps[i].role, r->deps[i].cond);
    sbuf_printf(&b, "pg=%d,%d,%s,%s,lock=%d,wait=%d%d\n", pr->pool_size, r->pg.mode,
                r->pg.url_env ? r->pg.url_env : "", r->pg.url_param ? r->pg.url_param : "",
                r->lock_postgres, r->wait_postgres, r->wait_redis);
    for (size_t i = 0; i < r->pg.pool_env.n; i++)
        sbuf_printf(&b, "pool_env=%s\n", r->pg.pool_env.v[i]);
    /* how its stdin and output are wired is fixed at the spawn */
    sbuf_printf(&b, "tty=%d\nstdin=%d\n", r->tty, r->stdin_pipe);
    if (r->builtin != BUILTIN_NONE) fingerprint_builtin(&b, r);
    /* env in a stable order: sort a copy of the keys */
    size_t n = pr->env.n;
    const envvar **sorted = xcalloc(n ? n : 1, sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = &pr->env.v[i];
    qsort(sorted, n, sizeof *sorted, by_key);
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&b, "env=%s=%s\n", sorted[i]->key, sorted[i]->val);
    free(sorted);
    free(pr->fingerprint);
    pr->fingerprint = sbuf_detach(&b);
    (void)p;
}

/* A selected role's cwd must be a directory (an error: every start would fail), and its program
 * should be found along its PATH (a note: a build role may create it). A command run by the
 * shell is the shell's to find. */
static void check_paths(struct plan *p, struct plan_role *pr, const struct plan_opts *opts,
                        diags *d)
{
    const struct role_config *r = pr->cfg;
    if (!pr->selected) return;
    if (r->cwd && opts->check_dir) {
        int e = opts->check_dir(opts->fs_ctx, r->cwd);
        if (e == -ENOENT)
            diags_add(d, r->cwd_pos, "role '%s': cwd '%s' does not exist", r->name, r->cwd);
        else if (e < 0)
            diags_add(d, r->cwd_pos, "role '%s': cwd '%s' cannot be used: %s", r->name, r->cwd,
                      strerror(-e));
        if (e < 0) return;
    }
    if (!opts->find_program || !pr->argv.n || (r->shell && !strcmp(pr->argv.v[0], "/bin/sh")))
        return;
    const char *prog = pr->argv.v[0];
    const char *path = envmap_get(&pr->env, "PATH");
    int e = opts->find_program(opts->fs_ctx, prog, path ? path : PROC_DEFAULT_PATH, r->cwd);
    if (e == 0) return;
    const char *why = e == -EACCES ? "is not executable" : "is not found";
    if (strchr(prog, '/'))
        strvec_push(&p->notes,
                    xasprintf("role %s: command %s %s%s%s; the role fails to start "
                              "unless it is there by then",
                              r->name, prog, why, r->cwd ? " in " : "", r->cwd ? r->cwd : ""));
    else
        strvec_push(&p->notes, xasprintf("role %s: command %s %s on its PATH (%s); the role "
                                         "fails to start unless it is there by then",
                                         r->name, prog, why, path ? path : PROC_DEFAULT_PATH));
}

/* The ports a role's copies get: port, port + 1, ... one per copy. */
struct port_range {
    int first, last;
    size_t role;
};

static int by_first_port(const void *a, const void *b)
{
    const struct port_range *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return x->role < y->role ? -1 : x->role > y->role;
}

static void port_text(char *buf, size_t size, const struct port_range *r)
{
    if (r->first == r->last)
        snprintf(buf, size, "port %d", r->first);
    else
        snprintf(buf, size, "ports %d-%d", r->first, r->last);
}

/* No two copies of the roles that run here share a port (roles elsewhere run on other hosts),
 * and no copy's port is past 65535. Sorted by first port, a range that starts at or before the
 * furthest end so far overlaps the range that reached it. */

/* A scheduler role without Redis cannot run an occurrence once across its copies, nor keep the
 * last fired occurrence that catch_up: last reads: said at check and once at start (notes), not
 * refused, since one copy without Redis is a fine setup (a developer's machine). */
static void sched_notes(struct plan *p, const struct plan_role *pr)
{
    const struct role_config *r = pr->cfg;
    if (r->builtin != BUILTIN_SCHEDULER || p->cfg.redis.enabled) return;
    if (pr->copies > 1)
        strvec_push(&p->notes,
                    xasprintf("role %s: %d copies of a scheduler role and no redis: configured: "
                              "every copy runs every occurrence (with redis:, each occurrence "
                              "runs once in the fleet)",
                              r->name, pr->copies));
    for (size_t i = 0; i < r->nschedules; i++)
        if (r->schedules[i].catch_up == CATCH_UP_LAST)
            strvec_push(&p->notes,
                        xasprintf("role %s: schedule %s: catch_up: last needs redis: (the last "
                                  "fired occurrence is kept there); without it, missed runs are "
                                  "not caught up",
                                  r->name, r->schedules[i].name));
}
static void check_ports(struct plan *p, diags *d)
{
    struct port_range *r = xcalloc(p->nroles ? p->nroles : 1, sizeof *r);
    size_t n = 0;
    for (size_t i = 0; i < p->nroles; i++) {
        const struct role_config *rc = p->roles[i].cfg;
        if (!p->roles[i].selected || rc->port <= 0) continue;
        long last = (long)rc->port + rc->instances - 1;
        if (last > 65535) {
            diags_add(d, rc->port_pos,
                      "role '%s': port %d with %d instances runs past port 65535 (one port per "
                      "copy)",
                      rc->name, rc->port, rc->instances);
            continue;
        }
        r[n++] = (struct port_range){rc->port, (int)last, i};
    }
    qsort(r, n, sizeof *r, by_first_port);
    size_t reach = 0; /* the range with the furthest end so far */
    for (size_t k = 1; k < n; k++) {
        if (r[k].first <= r[reach].last) {
            const struct role_config *a = p->roles[r[reach].role].cfg, *b = p->roles[r[k].role].cfg;
            char at[32], bt[32];
            port_text(at, sizeof at, &r[reach]);
            port_text(bt, sizeof bt, &r[k]);
            diags_add(d, b->port_pos,
                      "role '%s' (%s) and role '%s' (%s, at %s:%d:%d) would share port %d", b->name,
                      bt, a->name, at, a->port_pos.file ? a->port_pos.file : "?", a->port_pos.line,
                      a->port_pos.col, r[k].first);
        }
        if (r[k].last > r[reach].last) reach = k;
    }
    free(r);
}

/* Sets what a role's copies learn of their Postgres share. */
static void apply_pool_env(struct plan *p, struct plan_role *pr)
{
    const struct role_config *r = pr->cfg;
    free(pr->db_url);
    pr->db_url = NULL;
    if (pr->pool_size <= 0) return;
    char num[16];
    snprintf(num, sizeof num, "%d", pr->pool_size);
    envmap_set(&pr->env, "ROSTER_PG_POOL_SIZE", num);
    for (size_t i = 0; i < r->pg.pool_env.n; i++)
        envmap_set(&pr->env, r->pg.pool_env.v[i], num);
    if (r->pg.url_param) {
        const char *url = envmap_get(&pr->env, r->pg.url_env);
        if (!url) url = p->cfg.pg.url;
        struct pgurl u;
        char err[128];
        if (url && pgurl_parse(url, &u, err, sizeof err) == 0) {
            pgurl_set_param(&u, r->pg.url_param, num);
            pr->db_url = pgurl_format(&u);
            envmap_set(&pr->env, r->pg.url_env, pr->db_url);
            pgurl_free(&u);
        }
    }
}

/* Computes the budget for usable connections into p, a plan still being built. */
static int apply_budget(struct plan *p, int usable, diags *d)
{
    struct budget_in *in = xcalloc(p->nroles ? p->nroles : 1, sizeof *in);
    size_t *idx = xcalloc(p->nroles ? p->nroles : 1, sizeof *idx);
    size_t n = 0;
    for (size_t i = 0; i < p->nroles; i++) {
        const struct role_config *r = p->roles[i].cfg;
        if (!uses_postgres(p, r)) continue;
        in[n].role = r->name;
        in[n].copies = p->roles[i].copies;
        in[n].fixed = r->pg.mode == PGROLE_FIXED;
        in[n].connections = r->pg.connections;
        in[n].weight = r->pg.weight > 0 ? r->pg.weight : 1;
        idx[n++] = i;
    }
    char err[256];
    budget_free(&p->budget);
    int rc = budget_compute(usable, in, n, &p->budget, err, sizeof err);
    if (rc < 0) {
        diags_add(d, p->cfg.pg.budget_pos.line ? p->cfg.pg.budget_pos : p->cfg.pg.pos,
                  "postgres budget: %s", err);
    } else {
        for (size_t k = 0; k < n; k++) {
            p->roles[idx[k]].pool_size = p->budget.lines[k].pool;
            apply_pool_env(p, &p->roles[idx[k]]);
            fingerprint(p, &p->roles[idx[k]]);
        }
        p->budget_known = true;
    }
    free(in);
    free(idx);
    return rc;
}

/* The argv a role's copies are exec'd with. A string command without shell syntax is exec'd as
 * its words, as foreman does: the pid is the program's, it gets the stop signal itself, its own
 * exit status is reported, and no /bin/sh stays beside it. */
static void build_argv(const struct plan *p, struct plan_role *pr)
{
    const struct role_config *r = pr->cfg;
    if (r->builtin != BUILTIN_NONE) {
        /* roster's own binary, as it is now (the path it was started by may have changed) */
        strvec_pushdup(&pr->argv, "/proc/self/exe");
        strvec_pushdup(&pr->argv, "role");
        strvec_pushdup(&pr->argv, r->name);
        strvec_pushdup(&pr->argv, "-c");
        strvec_pushdup(&pr->argv, p->cfg.path);
        return;
    }
    if (!r->shell) {
        strvec_copy(&pr->argv, &r->argv);
        return;
    }
    if (shellwords_split(r->shell, &pr->argv)) return;
    strvec_pushdup(&pr->argv, "/bin/sh");
    strvec_pushdup(&pr->argv, "-c");
    strvec_pushdup(&pr->argv, r->shell);
}

static void build_env(struct plan *p, struct plan_role *pr, const struct plan_opts *opts)
{
    const struct role_config *r = pr->cfg;
    if (opts->env) envmap_copy(&pr->env, opts->env);
    for (size_t i = 0; i < ARRAY_SIZE(private_vars); i++)
        envmap_unset(&pr->env, private_vars[i]);
    envmap_merge_defaults(&pr->env, &p->cfg.file_env);
    envmap_merge_defaults(&pr->env, &r->file_env);
    envmap_merge(&pr->env, &p->cfg.env);
    envmap_merge(&pr->env, &r->env);
    envmap_unset(&pr->env, "PORT");
    /* A builtin role reads this config again in its own process: ${PORT} there must be what it
     * was here (roster's own PORT, which roles do not inherit; the platform's port on App
     * Platform), not the copy's port or nothing. */
    const char *own_port = opts->env ? envmap_get(opts->env, "PORT") : NULL;
    if (r->builtin != BUILTIN_NONE && own_port)
        envmap_set(&pr->env, ROSTER_CONFIG_PORT_VAR, own_port);
    envmap_set(&pr->env, "ROSTER_APP", p->cfg.app);
    envmap_set(&pr->env, "ROSTER_ROLE", r->name);
    if (p->redis_url) envmap_set(&pr->env, "REDIS_URL", p->redis_url);
}

/* What ${VAR} in a probe target sees: the copy's environment, then the config's variables. */
struct target_vars {
    envmap inst;
    const envmap *vars;
};

static const char *target_lookup(void *ud, const char *name)
{
    const struct target_vars *tv = ud;
    const char *v = envmap_get(&tv->inst, name);
    return v ? v : envmap_get(tv->vars, name);
}

static bool target_is_template(const struct probe_config *pc)
{
    return pc->kind == PROBE_HTTP || pc->kind == PROBE_TCP;
}

static int expand_target(const struct plan *p, size_t role, int instance,
                         const struct probe_config *pc, char **out, struct interp_error *ie)
{
    struct target_vars tv = {.vars = &p->vars};
    plan_instance_env(p, role, instance, &tv.inst);
    int rc = interp_expand(pc->target, target_lookup, &tv, out, ie);
    envmap_free(&tv.inst);
    return rc;
}

int plan_probe_target(const struct plan *p, size_t role, int instance, bool live, char **out,
                      char *err, size_t errlen)
{
    const struct role_config *r = p->roles[role].cfg;
    const struct probe_config *pc = live ? &r->live : &r->ready;
    if (!target_is_template(pc)) {
        /* the other kinds were expanded when the config was loaded */
        *out = pc->target ? xstrdup(pc->target) : NULL;
        return 0;
    }
    struct interp_error ie;
    if (expand_target(p, role, instance, pc, out, &ie) < 0) {
        snprintf(err, errlen, "%s", ie.msg);
        return -1;
    }
    return 0;
}

/* An http or tcp probe's target is checked as copy 0 will use it (the copies differ only in
 * what roster sets, such as PORT), with errors at the place the target is written. */
static void check_probe(const struct plan *p, size_t role, bool live, diags *d)
{
    const struct role_config *r = p->roles[role].cfg;
    const struct probe_config *pc = live ? &r->live : &r->ready;
    if (!target_is_template(pc) || !pc->target) return;
    const char *what = live ? "live" : "ready";
    char *t;
    struct interp_error ie;
    if (expand_target(p, role, 0, pc, &t, &ie) < 0) {
        src_pos at = pc->target_pos;
        if (pc->target_col > 0) at.col = pc->target_col + (int)ie.offset;
        diags_add(d, at, "%s", ie.msg);
        return;
    }
    if (pc->kind == PROBE_HTTP && !str_has_prefix(t, "http://") && !str_has_prefix(t, "https://"))
        diags_add(d, pc->target_pos, "%s.http must be an http:// or https:// URL, not '%s'", what,
                  t);
    else if (pc->kind == PROBE_TCP && !strrchr(t, ':'))
        diags_add(d, pc->target_pos, "%s.tcp must be host:port, not '%s'", what, t);
    free(t);
}

struct plan *plan_build(struct roster_config *cfg, const struct plan_opts *opts, diags *d)
{
    size_t before = diags_count(d);
    struct plan *p = xcalloc(1, sizeof *p);
    p->refs = 1;
    p->shared = xcalloc(1, sizeof *p->shared);
    p->shared->refs = 1;
    p->shared->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    p->cfg = p->shared->cfg;
    p->nroles = p->cfg.nroles;
    p->roles = xcalloc(p->nroles ? p->nroles : 1, sizeof *p->roles);
    for (size_t i = 0; i < p->nroles; i++)
        p->roles[i].cfg = &p->cfg.roles[i];
    index_roles(p);

    select_roles(p, opts->roles, d);
    if (check_deps(p, d) == 0) {
        for (size_t i = 0; i < p->nroles; i++) {
            struct plan_role *pr = &p->roles[i];
            pr->deps = xcalloc(pr->cfg->ndeps ? pr->cfg->ndeps : 1, sizeof *pr->deps);
            for (size_t j = 0; j < pr->cfg->ndeps; j++) {
                const struct dep *dep = &pr->cfg->deps[j];
                size_t k = (size_t)plan_find_role(p, dep->role);
                if (!p->roles[k].selected) {
                    if (pr->selected)
                        strvec_push(
                            &p->notes,
                            xasprintf("role %s: dependency %s is not selected here; counted "
                                      "as met (it runs elsewhere)",
                                      pr->cfg->name, dep->role));
                    continue;
                }
                pr->deps[pr->ndeps].role = k;
                pr->deps[pr->ndeps].cond = dep->cond;
                pr->ndeps++;
            }
        }
        order_roles(p, d);
    }

    if (opts->env) envmap_copy(&p->vars, opts->env);
    envmap_merge_defaults(&p->vars, &p->cfg.file_env);

    if (p->cfg.redis.enabled) {
        char err[200];
        p->redis_url = redisurl_resolve(p->cfg.redis.url, &p->vars, err, sizeof err);
        if (!p->redis_url) diags_add(d, p->cfg.redis.pos, "redis: %s", err);
#ifndef ROSTER_HAVE_REDIS_TLS
        else if (str_has_prefix(p->redis_url, "rediss://"))
            diags_add(d, p->cfg.redis.pos,
                      "redis: rediss:// (TLS) needs roster built against hiredis 1.0 or later with "
                      "TLS; this build has hiredis %s without it",
                      ROSTER_HIREDIS_VERSION);
#endif
    }
    char lerr[512] = "";
    const char *const *pq_keywords = NULL;
    if (p->cfg.pg.enabled)
        pq_keywords = opts->pq_keywords ? opts->pq_keywords(opts->pq_ctx, lerr, sizeof lerr) : NULL;
    if (p->cfg.pg.enabled && !pq_keywords) {
        diags_add(d, p->cfg.pg.pos, "postgres: %s", lerr[0] ? lerr : "libpq is not available");
    } else if (p->cfg.pg.enabled && p->cfg.pg.url) {
        struct pgurl u;
        char err[128];
        if (pgurl_parse(p->cfg.pg.url, &u, err, sizeof err) < 0) {
            diags_add(d, p->cfg.pg.pos, "postgres.url: %s", err);
        } else {
            sbuf removed;
            sbuf_init(&removed);
            if (pgurl_strip_unknown(&u, pq_keywords, &removed) > 0)
                strvec_push(&p->notes,
                            xasprintf("postgres: roster's own connection drops URL parameters "
                                      "libpq rejects: %s (roles still get the URL as written)",
                                      removed.data));
            sbuf_free(&removed);
            p->pg_own_url = pgurl_format(&u);
            pgurl_free(&u);
        }
        for (size_t i = 0; i < p->cfg.pg.ninstances; i++)
            if (plan_find_role(p, p->cfg.pg.instances[i].role) < 0)
                diags_add(d, p->cfg.pg.instances[i].pos,
                          "postgres.instances names unknown role '%s'",
                          p->cfg.pg.instances[i].role);
    }

    for (size_t i = 0; i < p->nroles; i++) {
        const struct role_config *r = p->roles[i].cfg;
        if ((r->wait_postgres || r->lock_postgres) && !p->cfg.pg.enabled)
            diags_add(d, r->pos, "role '%s' %s postgres, but the config has no postgres: section",
                      r->name, r->lock_postgres ? "locks" : "waits for");
        if (r->wait_redis && !p->cfg.redis.enabled)
            diags_add(d, r->pos, "role '%s' waits for redis, but the config has no redis: section",
                      r->name);
    }
    /* postgres.instances by role; a role named twice takes the later count */
    strmap fleet = {0};
    for (size_t i = 0; i < p->cfg.pg.ninstances; i++)
        strmap_put(&fleet, p->cfg.pg.instances[i].role, i);
    for (size_t i = 0; i < p->nroles; i++) {
        struct plan_role *pr = &p->roles[i];
        resolve_user(p, pr, opts, d);
        build_env(p, pr, opts);
        build_argv(p, pr);
        check_paths(p, pr, opts, d);
        size_t fi;
        bool listed = strmap_get(&fleet, pr->cfg->name, &fi);
        int per = listed ? p->cfg.pg.instances[fi].copies : 1;
        pr->copies = per * pr->cfg->instances;
        /* Copies that run here are copies: a budget counting none of them would hand them
         * connections it never counted. */
        if (listed && per == 0 && pr->selected && uses_postgres(p, pr->cfg))
            diags_add(d, p->cfg.pg.instances[fi].pos,
                      "postgres.instances gives '%s' 0 copies, but this roster runs it "
                      "(instances: %d); count the rosters that run it, or set postgres: false on "
                      "the role",
                      pr->cfg->name, pr->cfg->instances);
    }
    strmap_free(&fleet);
    for (size_t i = 0; i < p->nroles; i++)
        if (p->roles[i].selected) sched_notes(p, &p->roles[i]);
    for (size_t i = 0; i < p->nroles; i++) {
        check_probe(p, i, false, d);
        check_probe(p, i, true, d);
    }
    check_ports(p, d);
    if (p->cfg.pg.enabled && diags_count(d) == before) {
        if (!p->cfg.pg.budget_auto)
            apply_budget(p, p->cfg.pg.budget, d);
        else if (opts->max_connections > 0)
            /* a server's max_connections, with PostgreSQL's default 3 reserved for superusers */
            apply_budget(p,
                         budget_usable(opts->max_connections, PG_DEFAULT_SUPERUSER_RESERVED, 0,
                                       p->cfg.pg.headroom),
                         d);
    }
    for (size_t i = 0; i < p->nroles; i++)
        if (!p->roles[i].fingerprint) fingerprint(p, &p->roles[i]);

    if (diags_count(d) > before) {
        plan_unref(p);
        return NULL;
    }
    return p;
}

/* A copy of p sharing its config, for plan_with_budget: everything derived is copied except
 * the budget, which the caller computes anew. */
static struct plan *copy_for_budget(const struct plan *p)
{
    struct plan *np = xcalloc(1, sizeof *np);
    np->refs = 1;
    np->cfg = p->cfg;
    np->shared = p->shared;
    np->shared->refs++;
    np->nroles = p->nroles;
    np->roles = xcalloc(p->nroles ? p->nroles : 1, sizeof *np->roles);
    for (size_t i = 0; i < p->nroles; i++) {
        const struct plan_role *pr = &p->roles[i];
        struct plan_role *nr = &np->roles[i];
        *nr = *pr;
        nr->deps = xcalloc(pr->ndeps ? pr->ndeps : 1, sizeof *nr->deps);
        memcpy(nr->deps, pr->deps, pr->ndeps * sizeof *nr->deps);
        nr->env = (envmap){0};
        envmap_copy(&nr->env, &pr->env);
        nr->argv = (strvec){0};
        strvec_copy(&nr->argv, &pr->argv);
        nr->groups = NULL;
        if (pr->ngroups > 0) {
            nr->groups = xcalloc((size_t)pr->ngroups, sizeof *nr->groups);
            memcpy(nr->groups, pr->groups, (size_t)pr->ngroups * sizeof *nr->groups);
        }
        nr->db_url = pr->db_url ? xstrdup(pr->db_url) : NULL;
        nr->fingerprint = pr->fingerprint ? xstrdup(pr->fingerprint) : NULL;
    }
    index_roles(np);
    np->order = xcalloc(p->nroles ? p->nroles : 1, sizeof *np->order);
    memcpy(np->order, p->order, p->norder * sizeof *np->order);
    np->norder = p->norder;
    for (size_t i = 0; i < p->notes.n; i++)
        strvec_pushdup(&np->notes, p->notes.v[i]);
    np->pg_own_url = p->pg_own_url ? xstrdup(p->pg_own_url) : NULL;
    np->redis_url = p->redis_url ? xstrdup(p->redis_url) : NULL;
    envmap_copy(&np->vars, &p->vars);
    return np;
}

struct plan *plan_with_budget(const struct plan *p, int usable, diags *d)
{
    struct plan *np = copy_for_budget(p);
    if (apply_budget(np, usable, d) < 0) {
        plan_unref(np);
        return NULL;
    }
    return np;
}

struct plan *plan_ref(const struct plan *p)
{
    /* The count is not part of what the plan says: it may change on a const plan. */
    struct plan *mp = (struct plan *)p;
    mp->refs++;
    return mp;
}

void plan_unref(const struct plan *p)
{
    struct plan *mp = (struct plan *)p;
    if (!mp || --mp->refs > 0) return;
    for (size_t i = 0; i < mp->nroles; i++) {
        struct plan_role *pr = &mp->roles[i];
        free(pr->deps);
        envmap_free(&pr->env);
        strvec_free(&pr->argv);
        free(pr->groups);
        free(pr->db_url);
        free(pr->fingerprint);
    }
    free(mp->roles);
    strmap_free(&mp->role_index);
    free(mp->order);
    strvec_free(&mp->notes);
    budget_free(&mp->budget);
    free(mp->pg_own_url);
    free(mp->redis_url);
    envmap_free(&mp->vars);
    if (mp->shared && --mp->shared->refs == 0) {
        config_free(&mp->shared->cfg);
        free(mp->shared);
    }
    free(mp);
}

char *plan_instance_label(const struct plan *p, size_t role, int instance)
{
    const struct role_config *r = p->roles[role].cfg;
    if (r->instances > 1) return xasprintf("%s.%d", r->name, instance);
    return xstrdup(r->name);
}

void plan_instance_env(const struct plan *p, size_t role, int instance, envmap *out)
{
    const struct plan_role *pr = &p->roles[role];
    const struct role_config *r = pr->cfg;
    envmap_copy(out, &pr->env);
    char num[16];
    snprintf(num, sizeof num, "%d", instance);
    envmap_set(out, "ROSTER_INSTANCE", num);
    if (p->cfg.procfile) {
        /* foreman's name for the copy, numbered from 1: web.1 is ROSTER_INSTANCE=0 */
        char *ps = xasprintf("%s.%d", r->name, instance + 1);
        envmap_set(out, "PS", ps);
        free(ps);
    }
    if (r->port > 0) {
        /* Copies of a role with a port get consecutive ports, as foreman gives them. */
        snprintf(num, sizeof num, "%d", r->port + instance);
        envmap_set(out, "PORT", num);
    }
    if (p->cfg.pg.enabled && r->pg.mode != PGROLE_OFF) {
        char *app = xasprintf("%s:%s:%d", p->cfg.app, r->name, instance);
        envmap_set(out, "PGAPPNAME", app);
        free(app);
    }
}

static void print_env(FILE *out, const envmap *m, const char *indent)
{
    for (size_t i = 0; i < m->n; i++) {
        char *v = redact_value(m->v[i].key, m->v[i].val);
        fprintf(out, "%s%s=%s\n", indent, m->v[i].key, v);
        free(v);
    }
}

static void print_probe(FILE *out, const struct plan *p, size_t role, bool live,
                        const envmap *secrets)
{
    const struct role_config *r = p->roles[role].cfg;
    const struct probe_config *pc = live ? &r->live : &r->ready;
    const char *what = live ? "live" : "ready";
    char every[32], timeout[32];
    if (pc->kind == PROBE_NONE) return;
    units_format_duration(pc->every_ms, every, sizeof every);
    units_format_duration(pc->timeout_ms, timeout, sizeof timeout);
    if (pc->watchdog_ms) {
        units_format_duration(pc->watchdog_ms, every, sizeof every);
        fprintf(out, "    %s: watchdog every %s\n", what, every);
        return;
    }
    char *target = pc->target ? redact_text(pc->target) : xstrdup("true");
    fprintf(out, "    %s: %s %s (", what, probe_kind_name(pc->kind), target);
    char *copy0 = NULL, err[8];
    if (target_is_template(pc) &&
        plan_probe_target(p, role, 0, live, &copy0, err, sizeof err) == 0 &&
        strcmp(copy0, pc->target) != 0) {
        char *shown = redact_known(copy0, secrets);
        fprintf(out, "%s %s, ", r->instances > 1 ? "copy 0:" : "that is", shown);
        free(shown);
    }
    free(copy0);
    fprintf(out, "every %s, timeout %s", every, timeout);
    if (!strcmp(what, "live")) fprintf(out, ", failures %d", pc->failures);
    fprintf(out, ")\n");
    free(target);
}

/* watch: what restarts the role, what never does, and how soon. */
static void print_watch(FILE *out, const struct role_config *r)
{
    char d[32];
    units_format_duration(r->watch_debounce_ms, d, sizeof d);
    fprintf(out, "    watch:");
    for (size_t j = 0; j < r->watch.n; j++)
        fprintf(out, "%s %s", j ? "," : "", r->watch.v[j]);
    fprintf(out, " (debounce %s; a change restarts %s)\n", d,
            r->watch_restart == WATCH_RESTART_DEPENDENTS ? "the role and its dependents"
                                                         : "the role");
    fprintf(out, "    watch_ignore: node_modules, .git");
    for (size_t j = 0; j < r->watch_ignore.n; j++)
        fprintf(out, ", %s", r->watch_ignore.v[j]);
    fprintf(out, "\n");
}

/* output:, max_processes and teardown, when the config says them. */
static void print_output(FILE *out, const struct roster_config *c, const envmap *secrets)
{
    const struct look_config *lk = &c->look;
    if (lk->on) {
        fprintf(out, "output: concurrently's look");
        if (lk->raw)
            fprintf(out, ", raw (the roles' lines alone)");
        else if (!lk->prefix)
            fprintf(out, ", prefix [name] or [index]");
        else if (!*lk->prefix)
            fprintf(out, ", no prefix");
        else
            fprintf(out, ", prefix %s%s%s", lk->brackets ? "[" : "\"", lk->prefix,
                    lk->brackets ? "]" : "\"");
        if (!lk->raw && lk->prefix && strstr(lk->prefix, "{command}"))
            fprintf(out, ", commands cut to %d", lk->command_length);
        if (!lk->raw && lk->pad) fprintf(out, ", padded to the widest");
        fprintf(out, "\n");
    }
    if (lk->time_format && (lk->timings || (lk->on && lk->prefix && strstr(lk->prefix, "{time}"))))
        fprintf(out, "output timestamps: %s\n", lk->time_format);
    if (lk->group) fprintf(out, "output: grouped (each instance's lines once those before it ended)\n");
    if (lk->timings) fprintf(out, "output: timings (start and stop lines, a table at the end)\n");
    if (c->max_processes > 0)
        fprintf(out, "max_processes: %g%s\n", c->max_processes,
                c->max_processes_percent ? "% of the CPUs" : "");
    for (size_t i = 0; i < c->teardown.n; i++) {
        char *t = redact_known(c->teardown.v[i], secrets);
        fprintf(out, "teardown: %s\n", t);
        free(t);
    }
}

/* Where a builtin role keeps its run history: Postgres on one connection of its share, or
 * memory only (roles/schedreport.c decides the same from the copy's environment). The worker's
 * jobs (roles/jobhist.c) have no history in memory: without Postgres there is none. */
static void print_history(FILE *out, const struct plan *p, const struct plan_role *pr)
{
    char keep[32];
    units_format_duration(pr->cfg->history_keep_ms ? pr->cfg->history_keep_ms
                                                   : CONFIG_HISTORY_KEEP_DEFAULT_MS,
                          keep, sizeof keep);
    bool worker = pr->cfg->builtin == BUILTIN_WORKER;
    bool none = pr->cfg->pg.mode == PGROLE_OFF || (p->budget_known && pr->pool_size <= 0);
    if (!p->cfg.pg.enabled) {
        if (!worker)
            fprintf(out, "    history: the last runs in memory (no postgres: configured)\n");
    } else if (none) {
        fprintf(out, worker ? "    history: none: its Postgres share is 0 connections\n"
                            : "    history: the last runs in memory: its Postgres share is 0 "
                              "connections\n");
    } else {
        fprintf(out, "    history: %s in Postgres, kept %s, on 1 connection of its share\n",
                worker ? "roster_jobs" : "roster_schedule_runs", keep);
    }
}

/* A scheduler role's schedules: when, in which zone, and the action, secrets masked. */
static void print_schedules(FILE *out, const struct role_config *r, const envmap *secrets)
{
    fprintf(out, "    builtin: scheduler (%zu schedule%s)%s\n", r->nschedules,
            r->nschedules == 1 ? "" : "s",
            r->redis_down == REDIS_DOWN_RUN ? " redis_down run" : "");
    for (size_t i = 0; i < r->nschedules; i++) {
        const struct schedule_config *s = &r->schedules[i];
        fprintf(out, "    schedule %s: cron \"%s\" tz %s", s->name, s->cron,
                s->tz ? s->tz : "(TZ, else UTC)");
        if (s->timeout_ms) {
            char t[32];
            units_format_duration(s->timeout_ms, t, sizeof t);
            fprintf(out, " timeout %s", t);
        }
        if (s->overlap == OVERLAP_ALLOW) fprintf(out, " overlap allow");
        if (s->catch_up == CATCH_UP_LAST) fprintf(out, " catch_up last");
        sbuf b; /* the action as written: "METHOD URL", or the command's words */
        sbuf_init(&b);
        sbuf_puts(&b, s->http ? s->http : s->shell ? s->shell : "");
        for (size_t a = 0; a < s->argv.n; a++)
            sbuf_printf(&b, "%s%s", a ? " " : "", s->argv.v[a]);
        if (s->enq.pos.line) sbuf_printf(&b, "%s %s", s->enq.queue, s->enq.type);
        char *what = redact_known(b.data ? b.data : "", secrets);
        fprintf(out, ": %s %s\n", s->http ? "http" : s->enq.pos.line ? "enqueue" : "command", what);
        free(what);
        sbuf_free(&b);
    }
}

/* A worker role's queues, handlers, retries and dead list, secrets masked. */
static void print_worker(FILE *out, const struct role_config *r, const envmap *secrets)
{
    const struct worker_config *wc = &r->worker;
    char a[32], b[32];
    fprintf(out, "    builtin: worker (concurrency %d)\n    queues:", wc->concurrency);
    for (size_t i = 0; i < wc->nqueues; i++)
        fprintf(out, " %s (weight %d)", wc->queues[i].name, wc->queues[i].weight);
    units_format_duration(wc->backoff_initial_ms, a, sizeof a);
    units_format_duration(wc->backoff_max_ms, b, sizeof b);
    fprintf(out, "\n    retry: %d attempts, backoff %s doubling to %s (±20%% jitter)\n",
            wc->max_attempts, a, b);
    units_format_duration(wc->dead_keep_ms, a, sizeof a);
    fprintf(out, "    dead: kept %s, at most %d jobs\n", a, wc->dead_max);
    for (size_t i = 0; i < wc->nhandlers; i++) {
        const struct handler_config *h = &wc->handlers[i];
        sbuf s;
        sbuf_init(&s);
        if (h->url) {
            sbuf_printf(&s, "http %s %s", h->method ? h->method : "POST", h->url);
            for (size_t k = 0; k < h->headers.n; k++)
                sbuf_printf(&s, " [%s]", h->headers.v[k]);
            if (h->secret) sbuf_puts(&s, " signed");
        } else {
            sbuf_printf(&s, "command %s", h->shell ? h->shell : "");
            for (size_t k = 0; k < h->argv.n; k++)
                sbuf_printf(&s, "%s%s", k ? " " : "", h->argv.v[k]);
        }
        if (h->timeout_ms) {
            units_format_duration(h->timeout_ms, a, sizeof a);
            sbuf_printf(&s, " timeout %s", a);
        }
        if (h->max_memory) {
            units_format_size(h->max_memory, a, sizeof a);
            sbuf_printf(&s, " max_memory %s (polled RSS)", a);
        }
        char *what = redact_known(s.data ? s.data : "", secrets);
        fprintf(out, "    handler %s: %s\n", h->type, what);
        free(what);
        sbuf_free(&s);
    }
}

void plan_print(const struct plan *p, FILE *out)
{
    const struct roster_config *c = &p->cfg;
    char buf[32];
    fprintf(out, "config: %s (%s)\n", c->path, c->procfile ? "Procfile" : "yaml");
    fprintf(out, "app: %s\n", c->app);
    units_format_duration(c->shutdown_timeout_ms, buf, sizeof buf);
    fprintf(out, "shutdown_timeout: %s\n", buf);
    char *success = exit_success_text(&c->exit);
    fprintf(out, "exit: success %s, interrupted %s\n", success,
            c->exit.interrupted == EXIT_INTERRUPTED_SUCCESS ? "success" : "status");
    free(success);
    fprintf(out, "log: %s%s", c->log_format == LOG_JSON ? "json" : "text",
            c->timestamps ? ", timestamps" : "");
    if (c->log_max_line != LOG_MAX_LINE_DEFAULT) {
        units_format_size(c->log_max_line, buf, sizeof buf);
        fprintf(out, ", lines cut at %s", buf);
    }
    fputc('\n', out);
    /* ${VAR} put these values into commands, teardown commands and probe targets: they are
     * masked there too */
    envmap secrets = {0};
    redact_collect(&secrets, &p->vars);
    redact_collect(&secrets, &c->env);
    for (size_t i = 0; i < p->nroles; i++) {
        redact_collect(&secrets, &p->roles[i].cfg->file_env);
        redact_collect(&secrets, &p->roles[i].cfg->env);
    }
    print_output(out, c, &secrets);
    if (c->dev)
        fprintf(out, "profile: dev (a role that gives up stays down; a repeated crash is shown "
                     "once)\n");
    if (c->health_listen) fprintf(out, "health: http://%s/health\n", c->health_listen);
    fprintf(out, "control: %s\n", c->control_socket ? c->control_socket : "none");
    if (c->input)
        fprintf(out, "input: %s (roster's stdin; a line \"TARGET:text\" goes to TARGET)\n",
                c->input);
    for (size_t i = 0; i < c->env_files.n; i++)
        fprintf(out, "env_file: %s\n", c->env_files.v[i]);
    if (c->env.n) {
        fprintf(out, "env:\n");
        print_env(out, &c->env, "  ");
    }
    if (c->pg.enabled) {
        char *u = url_redact(c->pg.url);
        fprintf(out, "postgres: %s\n", u);
        free(u);
    }
    if (p->redis_url) {
        char *u = url_redact(p->redis_url);
        fprintf(out, "redis: %s\n", u);
        free(u);
    }
    fprintf(out, "roles (in start order):\n");
    /* selected roles in start order first, then the unselected ones */
    bool *shown = xcalloc(p->nroles ? p->nroles : 1, sizeof *shown);
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < (pass == 0 ? p->norder : p->nroles); k++) {
            size_t i = pass == 0 ? p->order[k] : k;
            if (shown[i]) continue;
            shown[i] = true;
            const struct plan_role *pr = &p->roles[i];
            const struct role_config *r = pr->cfg;
            fprintf(out, "  %s (%s", r->name, r->kind == ROLE_ONESHOT ? "oneshot" : "service");
            if (r->instances > 1) fprintf(out, ", %d instances", r->instances);
            fprintf(out, ")%s\n", pr->selected ? "" : " [not selected]");
            if (r->builtin == BUILTIN_WORKER) {
                print_worker(out, r, &secrets);
                print_history(out, p, pr);
            } else if (r->builtin == BUILTIN_API) {
                char mb[32];
                units_format_size(r->api_max_body ? r->api_max_body : CONFIG_API_MAX_BODY, mb,
                                  sizeof mb);
                fprintf(out, "    builtin: api (reads %s; request bodies up to %s)\n",
                        r->api_public_reads ? "public" : "need the token", mb);
            } else if (r->builtin != BUILTIN_NONE) {
                print_schedules(out, r, &secrets);
                print_history(out, p, pr);
            } else {
                fprintf(out, "    command:");
                for (size_t a = 0; a < pr->argv.n; a++) {
                    char *arg = redact_known(pr->argv.v[a], &secrets);
                    fprintf(out, " %s", arg);
                    free(arg);
                }
                fprintf(out, "%s\n", r->shell && strcmp(pr->argv.v[0], "/bin/sh") != 0
                                          ? " (exec'd: no shell syntax)"
                                          : "");
            }
            if (r->look_color && *r->look_color) fprintf(out, "    color: %s\n", r->look_color);
            if (r->look_hidden) fprintf(out, "    hide: its lines are not shown\n");
            if (r->cwd) fprintf(out, "    cwd: %s\n", r->cwd);
            if (r->user) fprintf(out, "    user: %s\n", r->user);
            if (r->port > 0) fprintf(out, "    port: %d\n", r->port);
            if (r->tty) fprintf(out, "    tty: a pseudo-terminal (stdin, stdout and stderr)\n");
            for (size_t j = 0; j < r->ndeps; j++)
                fprintf(out, "    depends_on: %s (%s)\n", r->deps[j].role,
                        dep_cond_name(r->deps[j].cond));
            fprintf(out, "    restart: %s", restart_policy_name(r->restart));
            if (r->restart != RESTART_NEVER) {
                char a[32], b[32], w[32];
                units_format_duration(r->backoff_initial_ms, a, sizeof a);
                units_format_duration(r->backoff_max_ms, b, sizeof b);
                units_format_duration(r->give_up_within_ms, w, sizeof w);
                fprintf(out, " (backoff %s..%s, give up after %d within %s, then %s)", a, b,
                        r->give_up_after, w, give_up_then_name(r->give_up_then));
            }
            fprintf(out, "\n");
            if (r->exit_on_end != EXIT_ON_END_NEVER)
                fprintf(out, "    exit_on_end: %s (%s stops the others and ends the run)\n",
                        exit_on_end_name(r->exit_on_end),
                        r->exit_on_end == EXIT_ON_END_ALWAYS ? "its end" : "a failed end");
            units_format_duration(r->stop_timeout_ms, buf, sizeof buf);
            fprintf(out, "    stop: %s, then SIGKILL after %s\n", signal_name(r->stop_signal), buf);
            if (r->max_memory) {
                units_format_size(r->max_memory, buf, sizeof buf);
                fprintf(out, "    max_memory: %s\n", buf);
            }
            print_probe(out, p, i, false, &secrets);
            print_probe(out, p, i, true, &secrets);
            if (r->lock_postgres) fprintf(out, "    lock: postgres\n");
            if (r->wait_postgres || r->wait_redis)
                fprintf(out, "    wait_for:%s%s\n", r->wait_postgres ? " postgres" : "",
                        r->wait_redis ? " redis" : "");
            if (r->watch.n) print_watch(out, r);
            if (pr->pool_size > 0) fprintf(out, "    postgres pool: %d per copy\n", pr->pool_size);
            envmap shown_env = {0};
            envmap_merge(&shown_env, &r->file_env);
            envmap_merge(&shown_env, &r->env);
            if (pr->pool_size > 0) {
                envmap_set(&shown_env, "ROSTER_PG_POOL_SIZE",
                           envmap_get(&pr->env, "ROSTER_PG_POOL_SIZE"));
                for (size_t e = 0; e < r->pg.pool_env.n; e++)
                    envmap_set(&shown_env, r->pg.pool_env.v[e],
                               envmap_get(&pr->env, r->pg.pool_env.v[e]));
                if (pr->db_url) envmap_set(&shown_env, r->pg.url_env, pr->db_url);
            }
            if (shown_env.n) {
                fprintf(out, "    env:\n");
                print_env(out, &shown_env, "      ");
            }
            envmap_free(&shown_env);
        }
    }
    free(shown);
    envmap_free(&secrets);
    if (c->pg.enabled) {
        if (p->budget_known) {
            fprintf(out, "postgres budget (%s):\n",
                    c->pg.budget_auto ? "from --max-connections" : "fixed");
            budget_print(&p->budget, out);
        } else {
            fprintf(out,
                    "postgres budget: auto (read from the server at start: max_connections "
                    "- reserved - headroom %d)\n",
                    c->pg.headroom);
        }
    }
    for (size_t i = 0; i < p->notes.n; i++)
        fprintf(out, "note: %s\n", p->notes.v[i]);
}
