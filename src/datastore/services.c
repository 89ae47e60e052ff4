/* services.c — Postgres and Redis as roster itself sees them (SPEC §7, §8):
 *  - roster's own Postgres connection reads the server's limit for budget: auto, samples
 *    pg_stat_activity every sample_every and attributes connections to roles by
 *    application_name (PGAPPNAME=<app>:<role>:<i>);
 *  - lock: postgres holds pg_advisory_lock on a connection of its own while the oneshot runs;
 *  - Redis is PINGed; wait_for holds starts until a service answers;
 *  - all of it feeds /health, /readyz and /metrics, and never blocks or crashes roster when a
 *    service goes away. */
#include "datastore/services.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/metrics.h"
#include "datastore/pgconn.h"
#include "datastore/redisconn.h"
#include "serve/status.h"

#define PG_QUERY_TIMEOUT_MS 5000

struct usage {
    char *role;
    int used;
    bool over;
};

struct services {
    struct sup *s;
    /* Postgres */
    struct pgconn *pg;
    bool pg_up;
    bool pg_down_logged;
    bool pg_ever_up;
    double pg_response; /* seconds, last sample; < 0 none */
    bool settings_known;
    int max_conn, su_reserved, reserved;
    uv_timer_t sample_timer;
    bool sampling;
    struct usage *usage;
    size_t nusage;
    int other_used, roster_used, total_used;
    bool sampled;
    uint64_t samples;
    bool budget_failed;
    /* Redis */
    struct redisconn *redis;
    bool redis_up;
    bool redis_down_logged;
    bool redis_ever_up;
};

struct pglock {
    struct pgconn *conn;
    struct instance *in;
    bool requested;
    char key[24];
};

static struct services *svc(struct sup *s)
{
    return s->svc;
}

/* ---- budget: auto ------------------------------------------------------------------------ */

static void apply_settings(struct services *v)
{
    struct sup *s = v->s;
    struct plan *p = s->plan;
    if (!p->cfg.pg.enabled || !p->cfg.pg.budget_auto || p->budget_known || v->budget_failed) return;
    int usable = budget_usable(v->max_conn, v->su_reserved, v->reserved, p->cfg.pg.headroom);
    diags d = {0};
    if (plan_apply_budget(p, usable, &d) < 0) {
        v->budget_failed = true;
        logmux_event(&s->log, "budget_error", NULL, 0, NULL,
                     "%s (read from the server: max_connections %d, reserved %d + %d, headroom %d)",
                     d.items.n ? d.items.v[0] : "postgres budget: impossible plan", v->max_conn,
                     v->su_reserved, v->reserved, p->cfg.pg.headroom);
        diags_free(&d);
        sup_shutdown(s, 2, "the Postgres budget cannot be met");
        return;
    }
    diags_free(&d);
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < p->budget.nlines; i++) {
        const struct budget_line *l = &p->budget.lines[i];
        sbuf_printf(&b, "%s%s %d each (%d %s)", i ? ", " : "", l->role, l->pool, l->copies,
                    l->copies == 1 ? "copy" : "copies");
    }
    char extra[128];
    snprintf(extra, sizeof extra, "\"usable\":%d,\"max_connections\":%d", usable, v->max_conn);
    logmux_event(&s->log, "budget", NULL, 0, extra,
                 "postgres budget: %d usable (max_connections %d - reserved %d - headroom %d): %s",
                 usable, v->max_conn, v->su_reserved + v->reserved, p->cfg.pg.headroom,
                 b.data ? b.data : "no roles use it");
    sbuf_free(&b);
    sup_gates_changed(s);
}

static void on_settings(void *ud, PGresult *res, const char *err, double secs)
{
    struct services *v = ud;
    (void)secs;
    if (!res) {
        logmux_event(&v->s->log, "warning", NULL, 0, NULL, "postgres: cannot read pg_settings: %s",
                     err);
        return;
    }
    v->su_reserved = v->reserved = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 0);
        int val = atoi(PQgetvalue(res, i, 1));
        if (!strcmp(name, "max_connections")) v->max_conn = val;
        if (!strcmp(name, "superuser_reserved_connections")) v->su_reserved = val;
        if (!strcmp(name, "reserved_connections")) v->reserved = val;
    }
    v->settings_known = v->max_conn > 0;
    if (v->settings_known) apply_settings(v);
}

/* ---- sampling ---------------------------------------------------------------------------- */

static struct usage *usage_for(struct services *v, const char *role)
{
    for (size_t i = 0; i < v->nusage; i++)
        if (!strcmp(v->usage[i].role, role)) return &v->usage[i];
    v->usage = xrealloc(v->usage, (v->nusage + 1) * sizeof *v->usage);
    struct usage *u = &v->usage[v->nusage++];
    u->role = xstrdup(role);
    u->used = 0;
    u->over = false;
    return u;
}

static void on_sample(void *ud, PGresult *res, const char *err, double secs)
{
    struct services *v = ud;
    struct sup *s = v->s;
    if (!res) {
        logmux_event(&s->log, "warning", NULL, 0, NULL, "postgres: sampling failed: %s", err);
        return;
    }
    v->pg_response = secs;
    v->sampled = true;
    v->samples++;
    for (size_t i = 0; i < v->nusage; i++)
        v->usage[i].used = 0;
    v->other_used = v->roster_used = v->total_used = 0;
    const char *app = s->plan->cfg.app;
    size_t applen = strlen(app);
    for (int i = 0; i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 0);
        int n = atoi(PQgetvalue(res, i, 1));
        v->total_used += n;
        /* <app>:<role>:<instance> from PGAPPNAME; <app>:roster... for roster's own */
        if (strncmp(name, app, applen) != 0 || name[applen] != ':') {
            v->other_used += n;
            continue;
        }
        const char *role = name + applen + 1;
        if (str_has_prefix(role, "roster")) {
            v->roster_used += n;
            continue;
        }
        const char *colon = strchr(role, ':');
        char rname[80];
        size_t rl = colon ? (size_t)(colon - role) : strlen(role);
        if (rl >= sizeof rname) rl = sizeof rname - 1;
        memcpy(rname, role, rl);
        rname[rl] = '\0';
        if (plan_find_role(s->plan, rname) < 0) {
            v->other_used += n;
            continue;
        }
        usage_for(v, rname)->used += n;
    }
    /* over its share: warn, and say so once per crossing */
    if (!s->plan->budget_known) return;
    for (size_t i = 0; i < s->plan->budget.nlines; i++) {
        const struct budget_line *l = &s->plan->budget.lines[i];
        struct usage *u = usage_for(v, l->role);
        bool over = u->used > l->total;
        if (over && !u->over) {
            char extra[96];
            snprintf(extra, sizeof extra, "\"used\":%d,\"share\":%d", u->used, l->total);
            logmux_event(&s->log, "pg_over_share", l->role, 0, extra,
                         "%s holds %d Postgres connections, over its share of %d (%d each, %d %s)",
                         l->role, u->used, l->total, l->pool, l->copies,
                         l->copies == 1 ? "copy" : "copies");
        } else if (!over && u->over) {
            logmux_event(&s->log, "pg_within_share", l->role, 0, NULL,
                         "%s is back within its Postgres share (%d of %d)", l->role, u->used,
                         l->total);
        }
        u->over = over;
    }
}

static void on_sample_timer(uv_timer_t *t)
{
    struct services *v = t->data;
    if (!pgconn_up(v->pg)) return;
    pgconn_query(v->pg,
                 "SELECT coalesce(application_name, ''), count(*) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND backend_type = 'client backend' "
                 "GROUP BY 1",
                 0, NULL, PG_QUERY_TIMEOUT_MS, on_sample, v);
}

static void on_pg_state(void *ud, bool up, const char *err)
{
    struct services *v = ud;
    struct sup *s = v->s;
    v->pg_up = up;
    s->state_version++;
    if (up) {
        logmux_event(&s->log, "postgres_up", NULL, 0, NULL, "postgres: %s",
                     v->pg_ever_up ? "reconnected" : "connected");
        v->pg_ever_up = true;
        v->pg_down_logged = false;
        pgconn_query(v->pg,
                     "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', "
                     "'superuser_reserved_connections', 'reserved_connections')",
                     0, NULL, PG_QUERY_TIMEOUT_MS, on_settings, v);
        on_sample_timer(&v->sample_timer);
        sup_gates_changed(s);
    } else if (!v->pg_down_logged && !s->shutting_down) {
        v->pg_down_logged = true;
        v->pg_response = -1;
        logmux_event(&s->log, "postgres_down", NULL, 0, NULL,
                     "postgres: %s: %s; retrying in the background",
                     v->pg_ever_up ? "connection lost" : "cannot connect", err);
    }
    sup_reconcile(s);
}

/* ---- Redis ------------------------------------------------------------------------------- */

static void on_redis_state(void *ud, bool up, const char *err)
{
    struct services *v = ud;
    struct sup *s = v->s;
    v->redis_up = up;
    s->state_version++;
    if (up) {
        logmux_event(&s->log, "redis_up", NULL, 0, NULL, "redis: %s (PING %.1f ms)",
                     v->redis_ever_up ? "reconnected" : "connected",
                     redisconn_latency(v->redis) * 1000);
        v->redis_ever_up = true;
        v->redis_down_logged = false;
        sup_gates_changed(s);
    } else if (!v->redis_down_logged && !s->shutting_down) {
        v->redis_down_logged = true;
        logmux_event(&s->log, "redis_down", NULL, 0, NULL,
                     "redis: %s: %s; retrying in the background",
                     v->redis_ever_up ? "connection lost" : "cannot connect", err);
    }
    sup_reconcile(s);
}

/* ---- start and stop ---------------------------------------------------------------------- */

int services_start(struct sup *s)
{
    struct plan *p = s->plan;
    if (!p->cfg.pg.enabled && !p->redis_url) return 0;
    struct services *v = xcalloc(1, sizeof *v);
    v->s = s;
    v->pg_response = -1;
    s->svc = v;
    if (p->cfg.pg.enabled && p->pg_own_url) {
        char app[128];
        snprintf(app, sizeof app, "%s:roster", p->cfg.app);
        struct pgconn_opts o = {.url = p->pg_own_url, .appname = app};
        v->pg = pgconn_new(s->loop, &o, on_pg_state, v);
        uv_timer_init(s->loop, &v->sample_timer);
        v->sample_timer.data = v;
        v->sampling = true;
        uv_timer_start(&v->sample_timer, on_sample_timer, p->cfg.pg.sample_every_ms,
                       p->cfg.pg.sample_every_ms);
        pgconn_start(v->pg);
    }
    if (p->redis_url) {
        char err[256];
        struct redisconn_opts o = {.url = p->redis_url};
        v->redis = redisconn_new(s->loop, &o, on_redis_state, v, err, sizeof err);
        if (!v->redis) {
            logmux_event(&s->log, "error", NULL, 0, NULL, "redis: %s", err);
            return -1;
        }
        redisconn_start(v->redis);
    }
    return 0;
}

static void free_services(uv_handle_t *h)
{
    struct services *v = (struct services *)((char *)h - offsetof(struct services, sample_timer));
    for (size_t i = 0; i < v->nusage; i++)
        free(v->usage[i].role);
    free(v->usage);
    free(v);
}

void services_stop(struct sup *s)
{
    struct services *v = svc(s);
    if (!v) return;
    /* locks first: their instances are gone by now */
    for (size_t i = 0; i < s->nroles; i++)
        for (int k = 0; k < s->roles[i]->ninst; k++)
            services_cancel(s->roles[i]->inst[k]);
    if (v->pg) pgconn_close(v->pg);
    if (v->redis) redisconn_close(v->redis);
    s->svc = NULL;
    if (v->sampling)
        uv_close((uv_handle_t *)&v->sample_timer, free_services); /* frees v when closed */
    else
        free_services((uv_handle_t *)&v->sample_timer);
}

/* ---- gates ------------------------------------------------------------------------------- */

static void lock_key(struct sup *s, const char *role, char *out, size_t n)
{
    /* FNV-1a over roster:<app>:lock:<role>, as a signed 64-bit advisory lock key */
    char name[256];
    snprintf(name, sizeof name, "roster:%s:lock:%s", s->plan->cfg.app, role);
    uint64_t h = 1469598103934665603ull;
    for (const char *c = name; *c; c++) {
        h ^= (unsigned char)*c;
        h *= 1099511628211ull;
    }
    snprintf(out, n, "%lld", (long long)h);
}

static void on_locked(void *ud, PGresult *res, const char *err, double secs)
{
    struct pglock *l = ud;
    struct instance *in = l->in;
    struct sup *s = in->role->sup;
    l->requested = false;
    if (!res) {
        /* the connection dropped while waiting: it reconnects and asks again */
        logmux_event(&s->log, "warning", role_cfg(in->role)->name, in->index, NULL,
                     "%s: waiting for the postgres lock failed: %s", in->label, err);
        return;
    }
    in->lock_held = true;
    char extra[64];
    snprintf(extra, sizeof extra, "\"waited_ms\":%.0f", secs * 1000);
    logmux_event(&s->log, "locked", role_cfg(in->role)->name, in->index, extra,
                 "%s holds the postgres lock (waited %.1f s)", in->label, secs);
    sup_gates_changed(s);
}

static void on_lock_state(void *ud, bool up, const char *err)
{
    struct pglock *l = ud;
    struct instance *in = l->in;
    (void)err;
    if (up && !in->lock_held && !l->requested) {
        const char *params[1] = {l->key};
        if (pgconn_query(l->conn, "SELECT pg_advisory_lock($1::bigint)", 1, params, 0, on_locked,
                         l) == 0)
            l->requested = true;
    } else if (!up && in->lock_held) {
        in->lock_held = false;
        logmux_event(&in->role->sup->log, "warning", role_cfg(in->role)->name, in->index, NULL,
                     "%s: the connection holding the postgres lock was lost", in->label);
    }
}

static void start_lock(struct instance *in)
{
    struct sup *s = in->role->sup;
    struct pglock *l = xcalloc(1, sizeof *l);
    l->in = in;
    lock_key(s, role_cfg(in->role)->name, l->key, sizeof l->key);
    char app[160];
    snprintf(app, sizeof app, "%s:roster-lock:%s", s->plan->cfg.app, role_cfg(in->role)->name);
    struct pgconn_opts o = {.url = s->plan->pg_own_url, .appname = app, .retry_max_ms = 2000};
    l->conn = pgconn_new(s->loop, &o, on_lock_state, l);
    in->lock = l;
    logmux_event(&s->log, "lock_wait", role_cfg(in->role)->name, in->index, NULL,
                 "%s waits for the postgres lock", in->label);
    pgconn_start(l->conn);
}

static void set_wait(struct instance *in, const char *what)
{
    if (in->gate_wait && what && !strcmp(in->gate_wait, what)) return;
    free(in->gate_wait);
    in->gate_wait = what ? xstrdup(what) : NULL;
    if (what)
        logmux_event(&in->role->sup->log, "waiting", role_cfg(in->role)->name, in->index, NULL,
                     "%s is %s", in->label, what);
}

bool services_gate(struct instance *in)
{
    struct sup *s = in->role->sup;
    struct services *v = svc(s);
    const struct role_config *c = role_cfg(in->role);
    const char *wait = NULL;
    if (c->wait_postgres && !(v && v->pg_up))
        wait = "waiting for postgres";
    else if (c->wait_redis && !(v && v->redis_up))
        wait = "waiting for redis";
    else if (plan_role_in_budget(in->role->plan, in->role->pidx) && !in->role->plan->budget_known)
        wait = "waiting for the postgres budget";
    else if (c->lock_postgres && !in->lock_held) {
        if (!in->lock) start_lock(in);
        wait = "waiting for the postgres lock";
    }
    set_wait(in, wait);
    return wait == NULL;
}

void services_cancel(struct instance *in)
{
    if (in->lock) {
        pgconn_close(in->lock->conn);
        free(in->lock);
        in->lock = NULL;
    }
    in->lock_held = false;
    free(in->gate_wait);
    in->gate_wait = NULL;
}

void services_exited(struct instance *in)
{
    if (in->lock && in->lock_held)
        logmux_event(&in->role->sup->log, "unlocked", role_cfg(in->role)->name, in->index, NULL,
                     "%s released the postgres lock", in->label);
    services_cancel(in);
}

/* ---- health, readiness, metrics ---------------------------------------------------------- */

void services_health(struct sup *s, cJSON *checks, const char *now, int *level)
{
    struct services *v = svc(s);
    const struct roster_config *c = &s->plan->cfg;
    if (!v) return;
    if (v->pg) {
        int lvl = v->pg_up ? HEALTH_PASS : c->pg.required ? HEALTH_FAIL : HEALTH_WARN;
        cJSON *arr = cJSON_AddArrayToObject(checks, "postgres:responseTime");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "componentType", "datastore");
        if (v->pg_up && v->pg_response >= 0)
            cJSON_AddNumberToObject(o, "observedValue", (double)(long)(v->pg_response * 1e4) / 10);
        cJSON_AddStringToObject(o, "observedUnit", "ms");
        cJSON_AddStringToObject(o, "status", health_level_name((enum health_level)lvl));
        if (!v->pg_up) cJSON_AddStringToObject(o, "output", pgconn_error(v->pg));
        cJSON_AddStringToObject(o, "time", now);
        cJSON_AddItemToArray(arr, o);
        if (lvl > *level) *level = lvl;

        int clvl = HEALTH_PASS;
        arr = cJSON_AddArrayToObject(checks, "postgres:connections");
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "componentType", "datastore");
        if (v->sampled) cJSON_AddNumberToObject(o, "observedValue", v->total_used);
        cJSON_AddStringToObject(o, "observedUnit", "connections");
        if (s->plan->budget_known) cJSON_AddNumberToObject(o, "budget", s->plan->budget.usable);
        cJSON *roles = cJSON_AddObjectToObject(o, "roles");
        sbuf over;
        sbuf_init(&over);
        for (size_t i = 0; s->plan->budget_known && i < s->plan->budget.nlines; i++) {
            const struct budget_line *l = &s->plan->budget.lines[i];
            cJSON *r = cJSON_AddObjectToObject(roles, l->role);
            int used = 0;
            bool is_over = false;
            for (size_t k = 0; k < v->nusage; k++)
                if (!strcmp(v->usage[k].role, l->role)) {
                    used = v->usage[k].used;
                    is_over = v->usage[k].over;
                }
            cJSON_AddNumberToObject(r, "used", used);
            cJSON_AddNumberToObject(r, "share", l->total);
            cJSON_AddNumberToObject(r, "poolEach", l->pool);
            if (is_over) {
                clvl = HEALTH_WARN;
                sbuf_printf(&over, "%s%s uses %d of %d", over.len ? ", " : "", l->role, used,
                            l->total);
            }
        }
        if (v->sampled) {
            cJSON_AddNumberToObject(roles, "roster", v->roster_used);
            cJSON_AddNumberToObject(roles, "other", v->other_used);
        }
        if (!v->pg_up) clvl = lvl;
        cJSON_AddStringToObject(o, "status", health_level_name((enum health_level)clvl));
        if (over.len)
            cJSON_AddStringToObject(o, "output", over.data);
        else if (!s->plan->budget_known)
            cJSON_AddStringToObject(o, "output", "budget not known yet");
        sbuf_free(&over);
        cJSON_AddStringToObject(o, "time", now);
        cJSON_AddItemToArray(arr, o);
        if (clvl > *level) *level = clvl;
    }
    if (v->redis) {
        int lvl = v->redis_up ? HEALTH_PASS : c->redis.required ? HEALTH_FAIL : HEALTH_WARN;
        cJSON *arr = cJSON_AddArrayToObject(checks, "redis:responseTime");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "componentType", "datastore");
        double lat = redisconn_latency(v->redis);
        if (v->redis_up && lat >= 0)
            cJSON_AddNumberToObject(o, "observedValue", (double)(long)(lat * 1e4) / 10);
        cJSON_AddStringToObject(o, "observedUnit", "ms");
        cJSON_AddStringToObject(o, "status", health_level_name((enum health_level)lvl));
        if (!v->redis_up) cJSON_AddStringToObject(o, "output", redisconn_error(v->redis));
        cJSON_AddStringToObject(o, "time", now);
        cJSON_AddItemToArray(arr, o);
        if (lvl > *level) *level = lvl;
    }
}

bool services_ready(struct sup *s, sbuf *not_ready)
{
    struct services *v = svc(s);
    const struct roster_config *c = &s->plan->cfg;
    bool ok = true;
    if (v && v->pg && !v->pg_up && c->pg.required) {
        ok = false;
        if (not_ready)
            sbuf_printf(not_ready, "%spostgres (unreachable)", not_ready->len ? ", " : "");
    }
    if (v && v->redis && !v->redis_up && c->redis.required) {
        ok = false;
        if (not_ready) sbuf_printf(not_ready, "%sredis (unreachable)", not_ready->len ? ", " : "");
    }
    return ok;
}

void services_metrics(struct sup *s, sbuf *out)
{
    struct services *v = svc(s);
    struct plan *p = s->plan;
    if (!v) return;
    if (v->pg) {
        metrics_family(out, "roster_postgres_up", "gauge",
                       "Whether roster's own Postgres connection is up.");
        sbuf_printf(out, "roster_postgres_up %d\n", v->pg_up ? 1 : 0);
        metrics_family(out, "roster_postgres_response_seconds", "gauge",
                       "Round trip of roster's last pg_stat_activity sample.");
        sbuf_printf(out, "roster_postgres_response_seconds %.6f\n",
                    v->pg_response >= 0 ? v->pg_response : 0.0);
        metrics_family(out, "roster_postgres_samples_total", "counter",
                       "pg_stat_activity samples taken.");
        sbuf_printf(out, "roster_postgres_samples_total %llu\n", (unsigned long long)v->samples);
        if (p->budget_known) {
            metrics_family(out, "roster_postgres_usable_connections", "gauge",
                           "Connections the app may hold, all instances together.");
            sbuf_printf(out, "roster_postgres_usable_connections %d\n", p->budget.usable);
            metrics_family(out, "roster_postgres_budget_connections", "gauge",
                           "Each role's share of the budget (copies x pool).");
            for (size_t i = 0; i < p->budget.nlines; i++)
                sbuf_printf(out, "roster_postgres_budget_connections{role=\"%s\"} %d\n",
                            p->budget.lines[i].role, p->budget.lines[i].total);
            metrics_family(out, "roster_postgres_pool_size", "gauge",
                           "The pool size each copy of a role is given.");
            for (size_t i = 0; i < p->budget.nlines; i++)
                sbuf_printf(out, "roster_postgres_pool_size{role=\"%s\"} %d\n",
                            p->budget.lines[i].role, p->budget.lines[i].pool);
        }
        if (v->sampled) {
            metrics_family(out, "roster_postgres_connections", "gauge",
                           "Connections in use per role, by application_name, at the last sample.");
            for (size_t i = 0; i < v->nusage; i++)
                sbuf_printf(out, "roster_postgres_connections{role=\"%s\"} %d\n", v->usage[i].role,
                            v->usage[i].used);
            sbuf_printf(out, "roster_postgres_connections{role=\"roster\"} %d\n", v->roster_used);
            sbuf_printf(out, "roster_postgres_connections{role=\"other\"} %d\n", v->other_used);
        }
    }
    if (v->redis) {
        metrics_family(out, "roster_redis_up", "gauge",
                       "Whether roster's Redis connection answers.");
        sbuf_printf(out, "roster_redis_up %d\n", v->redis_up ? 1 : 0);
        double lat = redisconn_latency(v->redis);
        metrics_family(out, "roster_redis_ping_seconds", "gauge", "Round trip of the last PING.");
        sbuf_printf(out, "roster_redis_ping_seconds %.6f\n", lat >= 0 ? lat : 0.0);
    }
}

void services_plan_prepare(struct sup *s, struct plan *np, diags *d)
{
    struct services *v = svc(s);
    if (!np->cfg.pg.enabled || !np->cfg.pg.budget_auto || np->budget_known) return;
    if (!v || !v->settings_known) return;
    int usable = budget_usable(v->max_conn, v->su_reserved, v->reserved, np->cfg.pg.headroom);
    plan_apply_budget(np, usable, d);
}

void services_plan_swapped(struct sup *s)
{
    struct services *v = svc(s);
    if (!v) return;
    if (v->sampling)
        uv_timer_start(&v->sample_timer, on_sample_timer, s->plan->cfg.pg.sample_every_ms,
                       s->plan->cfg.pg.sample_every_ms);
}
