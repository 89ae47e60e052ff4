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

#include "datastore/pgconn.h"
#include "datastore/redisconn.h"
#include "supervise/observer.h"

#define PG_QUERY_TIMEOUT_MS 5000

struct pglock {
    struct pgconn *conn;
    struct inst_services *x;
    bool requested;
    char key[24];
};

/* What the services know of one instance (its observer context): the gates it waits on. */
struct inst_services {
    struct services *v;
    struct instance *in;
    struct pglock *lock;
    bool lock_held;
    char *gate_wait; /* what a starting instance waits for */
};

static struct inst_services *ctx(struct services *v, struct instance *in)
{
    struct inst_services *x = inst_ctx(in, v->slot);
    if (!x) {
        x = xcalloc(1, sizeof *x);
        x->v = v;
        x->in = in;
        inst_set_ctx(in, v->slot, x);
    }
    return x;
}

/* ---- budget: auto ------------------------------------------------------------------------ */

static void apply_settings(struct services *v)
{
    struct sup *s = v->s;
    const struct plan *cur = s->plan;
    if (!cur->cfg.pg.enabled || !cur->cfg.pg.budget_auto || cur->budget_known || v->budget_failed)
        return;
    int usable = budget_usable(v->max_conn, v->su_reserved, v->reserved, cur->cfg.pg.headroom);
    diags d = {0};
    /* The running plan is never changed: the budget makes a new one, which the supervisor runs
     * (no role has started with a pool size yet: they wait for the budget). */
    struct plan *p = plan_with_budget(cur, usable, &d);
    if (!p) {
        v->budget_failed = true;
        logmux_event(&s->log, "budget_error", NULL, 0, NULL,
                     "%s (read from the server: max_connections %d, reserved %d + %d, headroom %d)",
                     d.items.n ? d.items.v[0] : "postgres budget: impossible plan", v->max_conn,
                     v->su_reserved, v->reserved, cur->cfg.pg.headroom);
        diags_free(&d);
        sup_shutdown(s, 2, "the Postgres budget cannot be met");
        return;
    }
    diags_free(&d);
    sup_replace_plan(s, p);
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
    sup_post_gates_changed(s);
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

/* Whether a role that may be the server itself is starting: spawned, not ready yet, and no
 * client of Postgres or Redis as roster knows them (no share of the Postgres budget, no
 * wait_for, no lock), as the demo's Postgres and Redis roles are. Before roster's own
 * connection has ever worked, its failures are not said meanwhile: "cannot connect" on every
 * normal first start would alarm for nothing. The next failed attempt once that role is ready
 * (or has failed its ready timeout) says it; what waits meanwhile says so ("api is waiting for
 * ..."). */
static bool server_may_be_starting(struct sup *s)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));) {
        const struct role_config *c = role_cfg(in->role);
        if (in->state == ST_RUNNING && !c->wait_postgres && !c->wait_redis && !c->lock_postgres &&
            !plan_role_in_budget(in->role->plan, in->role->pidx))
            return true;
    }
    return false;
}

/* Roster's own Postgres connection is not tried while a role that may be the server is starting:
 * one landing while Postgres starts makes it log "FATAL: the database system is starting up" on
 * a normal first start. At most SERVER_HOLD_MS from roster's start: a role that never gets ready
 * must not keep roster (and whatever waits for Postgres) from connecting. */
#define SERVER_HOLD_MS 30000
static bool pg_may_try(void *ud)
{
    struct services *v = ud;
    if (v->pg_ever_up || uv_now(v->s->loop) - v->started_ms >= SERVER_HOLD_MS) return true;
    return !server_may_be_starting(v->s);
}

static void on_pg_state(void *ud, bool up, const char *err)
{
    struct services *v = ud;
    struct sup *s = v->s;
    v->pg_up = up;
    sup_changed(s);
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
        sup_post_gates_changed(s);
    } else if (!v->pg_down_logged && !s->shutting_down) {
        v->pg_response = -1;
        if (!v->pg_ever_up && server_may_be_starting(s)) return;
        v->pg_down_logged = true;
        logmux_event(&s->log, "postgres_down", NULL, 0, NULL,
                     "postgres: %s: %s; retrying in the background",
                     v->pg_ever_up ? "connection lost" : "cannot connect", err);
    }
}

/* ---- Redis ------------------------------------------------------------------------------- */

static void on_redis_state(void *ud, bool up, const char *err)
{
    struct services *v = ud;
    struct sup *s = v->s;
    v->redis_up = up;
    sup_changed(s);
    if (up) {
        logmux_event(&s->log, "redis_up", NULL, 0, NULL, "redis: %s (PING %.1f ms)",
                     v->redis_ever_up ? "reconnected" : "connected",
                     redisconn_latency(v->redis) * 1000);
        v->redis_ever_up = true;
        v->redis_down_logged = false;
        sup_post_gates_changed(s);
    } else if (!v->redis_down_logged && !s->shutting_down) {
        if (!v->redis_ever_up && server_may_be_starting(s)) return;
        v->redis_down_logged = true;
        logmux_event(&s->log, "redis_down", NULL, 0, NULL,
                     "redis: %s: %s; retrying in the background",
                     v->redis_ever_up ? "connection lost" : "cannot connect", err);
    }
}

/* ---- start and stop ---------------------------------------------------------------------- */

static int on_start(void *ud, struct sup *s)
{
    struct services *v = ud;
    const struct plan *p = s->plan;
    if (!p->cfg.pg.enabled && !p->redis_url) return 0;
    if (p->cfg.pg.enabled && p->pg_own_url) {
        char app[128];
        snprintf(app, sizeof app, "%s:roster", p->cfg.app);
        struct pgconn_opts o = {.url = p->pg_own_url, .appname = app, .may_try = pg_may_try};
        v->started_ms = uv_now(s->loop);
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

static void cancel(struct inst_services *x);
static void on_release(void *ud, struct instance *in);

static void on_stop(void *ud, struct sup *s)
{
    struct services *v = ud;
    /* locks first: their instances are gone by now */
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        on_release(v, in);
    if (v->pg) pgconn_close(v->pg);
    v->pg = NULL;
    if (v->redis) redisconn_close(v->redis);
    v->redis = NULL;
    if (v->sampling) uv_close((uv_handle_t *)&v->sample_timer, NULL);
    v->sampling = false;
}

/* The ordered shutdown: roster's own connections are of no more use (no budget is planned, no
 * role waits for them), and the server may be a role that stops last: connected, or
 * reconnecting, they would make it log FATAL lines ("terminating connection due to
 * administrator command", "the database system is shutting down") on every normal stop. Lock
 * connections stay until their instances have stopped. */
static void on_shutdown(void *ud, struct sup *s)
{
    struct services *v = ud;
    (void)s;
    if (v->sampling) uv_timer_stop(&v->sample_timer);
    if (v->pg) pgconn_close(v->pg);
    v->pg = NULL;
    if (v->redis) redisconn_close(v->redis);
    v->redis = NULL;
}

/* ---- gates ------------------------------------------------------------------------------- */

static void lock_key(const struct sup *s, const char *role, char *out, size_t n)
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
    struct inst_services *x = l->x;
    struct instance *in = x->in;
    struct sup *s = in->role->sup;
    l->requested = false;
    if (!res) {
        /* the connection dropped while waiting: it reconnects and asks again */
        logmux_event(&s->log, "warning", role_cfg(in->role)->name, in->index, NULL,
                     "%s: waiting for the postgres lock failed: %s", in->label, err);
        return;
    }
    x->lock_held = true;
    char extra[64];
    snprintf(extra, sizeof extra, "\"waited_ms\":%.0f", secs * 1000);
    logmux_event(&s->log, "locked", role_cfg(in->role)->name, in->index, extra,
                 "%s holds the postgres lock (waited %.1f s)", in->label, secs);
    sup_post_gates_changed(s);
}

static void on_lock_state(void *ud, bool up, const char *err)
{
    struct pglock *l = ud;
    struct inst_services *x = l->x;
    struct instance *in = x->in;
    (void)err;
    if (up && !x->lock_held && !l->requested) {
        const char *params[1] = {l->key};
        if (pgconn_query(l->conn, "SELECT pg_advisory_lock($1::bigint)", 1, params, 0, on_locked,
                         l) == 0)
            l->requested = true;
    } else if (!up && x->lock_held) {
        x->lock_held = false;
        logmux_event(&in->role->sup->log, "warning", role_cfg(in->role)->name, in->index, NULL,
                     "%s: the connection holding the postgres lock was lost", in->label);
    }
}

static void start_lock(struct inst_services *x)
{
    struct instance *in = x->in;
    struct sup *s = in->role->sup;
    struct pglock *l = xcalloc(1, sizeof *l);
    l->x = x;
    lock_key(s, role_cfg(in->role)->name, l->key, sizeof l->key);
    char app[160];
    snprintf(app, sizeof app, "%s:roster-lock:%s", s->plan->cfg.app, role_cfg(in->role)->name);
    struct pgconn_opts o = {.url = s->plan->pg_own_url, .appname = app, .retry_max_ms = 2000};
    l->conn = pgconn_new(s->loop, &o, on_lock_state, l);
    x->lock = l;
    /* no event of its own: on_gate's "waiting" says "migrate is waiting for the postgres lock" */
    pgconn_start(l->conn);
}

static void set_wait(struct inst_services *x, const char *what)
{
    struct instance *in = x->in;
    if (x->gate_wait && what && !strcmp(x->gate_wait, what)) return;
    free(x->gate_wait);
    x->gate_wait = what ? xstrdup(what) : NULL;
    if (what)
        logmux_event(&in->role->sup->log, "waiting", role_cfg(in->role)->name, in->index, NULL,
                     "%s is %s", in->label, what);
}

static bool on_gate(void *ud, struct instance *in)
{
    struct services *v = ud;
    const struct role_config *c = role_cfg(in->role);
    const struct plan_role *pr = role_plan(in->role);
    bool in_budget = plan_role_in_budget(in->role->plan, in->role->pidx);
    if (!c->wait_postgres && !c->wait_redis && !in_budget && !c->lock_postgres) return true;
    struct inst_services *x = ctx(v, in);
    const char *wait = NULL;
    (void)pr;
    if (c->wait_postgres && !v->pg_up)
        wait = "waiting for postgres";
    else if (c->wait_redis && !v->redis_up)
        wait = "waiting for redis";
    else if (in_budget && !in->role->plan->budget_known)
        wait = "waiting for the postgres budget";
    else if (c->lock_postgres && !x->lock_held) {
        if (!x->lock) start_lock(x);
        wait = "waiting for the postgres lock";
    }
    set_wait(x, wait);
    return wait == NULL;
}

static void cancel(struct inst_services *x)
{
    if (x->lock) {
        pgconn_close(x->lock->conn);
        free(x->lock);
        x->lock = NULL;
    }
    x->lock_held = false;
    free(x->gate_wait);
    x->gate_wait = NULL;
}

static void on_state(void *ud, struct instance *in, enum inst_state old, enum inst_state now)
{
    struct services *v = ud;
    struct inst_services *x = inst_ctx(in, v->slot);
    /* a start given up before the spawn (stop, shutdown) lets go of its gates */
    if (x && old == ST_STARTING && now == ST_DOWN) cancel(x);
    else if (x && now == ST_RUNNING && x->gate_wait) {
        free(x->gate_wait);
        x->gate_wait = NULL;
    }
}

static void on_exited(void *ud, struct instance *in)
{
    struct services *v = ud;
    struct inst_services *x = inst_ctx(in, v->slot);
    if (!x) return;
    if (x->lock && x->lock_held)
        logmux_event(&in->role->sup->log, "unlocked", role_cfg(in->role)->name, in->index, NULL,
                     "%s released the postgres lock", in->label);
    cancel(x);
}

static void on_release(void *ud, struct instance *in)
{
    struct services *v = ud;
    struct inst_services *x = inst_ctx(in, v->slot);
    if (!x) return;
    cancel(x);
    free(x);
    inst_set_ctx(in, v->slot, NULL);
}

const char *services_gate_wait(const struct services *v, const struct instance *in)
{
    const struct inst_services *x = v ? inst_ctx(in, v->slot) : NULL;
    return x ? x->gate_wait : NULL;
}

bool services_ready(const struct services *v, sbuf *not_ready)
{
    const struct roster_config *c = &v->s->plan->cfg;
    bool ok = true;
    if (v->pg && !v->pg_up && c->pg.required) {
        ok = false;
        if (not_ready)
            sbuf_printf(not_ready, "%spostgres (unreachable)", not_ready->len ? ", " : "");
    }
    if (v->redis && !v->redis_up && c->redis.required) {
        ok = false;
        if (not_ready) sbuf_printf(not_ready, "%sredis (unreachable)", not_ready->len ? ", " : "");
    }
    return ok;
}

static struct plan *on_plan_prepare(void *ud, struct sup *s, const struct plan *np, diags *d)
{
    struct services *v = ud;
    (void)s;
    if (!np->cfg.pg.enabled || !np->cfg.pg.budget_auto || np->budget_known) return NULL;
    if (!v->settings_known) return NULL;
    /* the server's limit is known already: the reloaded plan starts with its budget */
    int usable = budget_usable(v->max_conn, v->su_reserved, v->reserved, np->cfg.pg.headroom);
    return plan_with_budget(np, usable, d);
}

static void on_plan_swapped(void *ud, struct sup *s, const struct plan *old)
{
    struct services *v = ud;
    (void)old;
    if (v->sampling)
        uv_timer_start(&v->sample_timer, on_sample_timer, s->plan->cfg.pg.sample_every_ms,
                       s->plan->cfg.pg.sample_every_ms);
}

static const struct sup_observer services_observer = {
    .name = "services",
    .start = on_start,
    .stop = on_stop,
    .plan_prepare = on_plan_prepare,
    .plan_swapped = on_plan_swapped,
    .gate = on_gate,
    .state = on_state,
    .exited = on_exited,
    .release = on_release,
    .shutdown = on_shutdown,
};

struct services *services_attach(struct sup *s)
{
    struct services *v = xcalloc(1, sizeof *v);
    v->s = s;
    v->pg_response = -1;
    v->slot = sup_attach(s, &services_observer, v);
    if (v->slot < 0) {
        free(v);
        return NULL;
    }
    return v;
}

void services_free(struct services *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->nusage; i++)
        free(v->usage[i].role);
    free(v->usage);
    free(v);
}
