/* schedfleet.c — the scheduler's claims, catch-up, runs list and manual triggers in Redis
 * (issue 12). Every Redis exchange is one round trip: a Lua script claims an occurrence and
 * raises the last fired epoch together; one script pops every schedule's trigger list. */
#include "roles/schedfleet.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/envmap.h"
#include "base/redisurl.h"
#include "base/util.h"
#include "datastore/redisconn.h"

/* How long an occurrence waits for Redis to claim it (connecting, or the script's answer):
 * past this, redis_down decides, so a schedule is never held up longer than this. */
#define FLEET_WAIT_MS 2000
/* The trigger lists are popped this often. */
#define FLEET_POLL_MS 1000
/* A claim's key lives 2 × the gap to the schedule's next occurrence, within these bounds: long
 * enough that a replica whose clock is behind (or that starts the run late) still finds it, and
 * short enough that keys of frequent schedules do not pile up. */
#define FLEET_TTL_MIN_S 60
#define FLEET_TTL_MAX_S 86400
/* catch_up: last runs a missed occurrence at most this old (at the start). */
#define FLEET_CATCHUP_MAX_S (7 * 86400)
/* Cron occurrences walked to find the most recent one (a week of minutes, DST's repeats too). */
#define FLEET_CATCHUP_STEPS 20000
/* Claims waiting for Redis or its answer; an occurrence beyond them counts as Redis down. */
#define FLEET_MAX_CLAIMS 1024
/* The runs list keeps the newest this many. */
#define FLEET_RUNS_KEPT "49"
/* A trigger element longer than this is not read as JSON. */
#define FLEET_TRIGGER_MAX 4096

/* KEYS: the occurrence's claim, the last fired epoch. ARGV: holder, ttl ms, epoch, catch-up
 * (1: refused when the last fired epoch is already this one or later). {1, ""} when this
 * replica took it, else {0, who has it}. */
static const char claim_lua[] =
    "local epoch = tonumber(ARGV[3])\n"
    "local last = tonumber(redis.call('GET', KEYS[2]) or '')\n"
    "if ARGV[4] == '1' and last and last >= epoch then\n"
    "  return {0, 'a replica that caught up already'}\n"
    "end\n"
    "if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
    "  return {0, redis.call('GET', KEYS[1]) or 'another replica'}\n"
    "end\n"
    "if not last or last < epoch then redis.call('SET', KEYS[2], ARGV[3]) end\n"
    "return {1, ''}\n";

/* KEYS: the trigger lists. The first element of each, false (nil) where it is empty. */
static const char poll_lua[] = "local r = {}\n"
                               "for i, k in ipairs(KEYS) do r[i] = redis.call('LPOP', k) end\n"
                               "return r\n";

/* A claim waits for the connection, then for the script's answer; an occurrence this replica is
 * to run is posted to the next loop turn (its timer at 0), never run on hiredis's stack. */
enum claim_state { CLAIM_WAITING, CLAIM_SENT, CLAIM_RUN };

struct claim {
    uv_timer_t timer; /* the wait for Redis, or the post; first: the handle is the claim */
    struct schedfleet *f;
    size_t i;
    int64_t at;
    int64_t last; /* catch-up: the last fired epoch that Redis held; 0 otherwise */
    bool catch_up;
    enum claim_state state;
    uint64_t deadline; /* uv_now: the end of the wait */
    struct claim *next;
};

struct fsched {
    struct fleet_sched s;
    char *lock_prefix; /* roster:<app>:sched:<name>: */
    char *last_key, *runs_key, *trigger_key;
    uint64_t skipped[FLEET_NSKIPS];
};

struct schedfleet {
    uv_loop_t *loop;
    const struct role_config *rc;
    struct fsched *sc;
    size_t n;
    struct schedfleet_hooks h;
    char holder[128]; /* host:pid */
    struct redisconn *redis;
    uv_timer_t poll;
    bool polling;       /* a poll is in flight */
    bool stopping;      /* schedfleet_stop: triggers a poll brings back are put back */
    bool ever_up;       /* catch-up is done at the first connection only */
    bool said_down;     /* "Redis is unreachable" was logged for this outage */
    char said_err[160]; /* the last error of a poll or a push that was logged */
    int64_t started;
    struct claim *claims;
    size_t nclaims;
    bool closing;
};

const char *fleet_skip_name(enum fleet_skip why)
{
    return why == FLEET_SKIP_ANOTHER_REPLICA ? "another_replica" : "redis_down";
}

static void flog(const struct schedfleet *f, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Lines as the scheduler writes them: "NAME: text" for a schedule, "redis: text" for the role's
 * connection (i == SIZE_MAX). */
static void flog(const struct schedfleet *f, size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", i == SIZE_MAX ? "redis" : f->sc[i].s.cfg->name);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
}

static void fmt_at(const struct schedfleet *f, size_t i, int64_t t, char *buf, size_t size)
{
    cron_format_time(f->sc[i].s.tz, t, buf, size);
}

/* --- claims --------------------------------------------------------------------------------- */

static void claim_free(uv_handle_t *h)
{
    free(h->data);
}

static void claim_end(struct claim *c)
{
    struct schedfleet *f = c->f;
    for (struct claim **p = &f->claims; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            f->nclaims--;
            break;
        }
    uv_close((uv_handle_t *)&c->timer, claim_free);
}

/* Redis could not say who takes occurrence `at` of schedule i: the role's redis_down decides.
 * Returns true when it runs here. */
static bool redis_down(struct schedfleet *f, size_t i, int64_t at, const char *err)
{
    struct fsched *sc = &f->sc[i];
    char iso[40];
    fmt_at(f, i, at, iso, sizeof iso);
    if (f->rc->redis_down == REDIS_DOWN_RUN) {
        flog(f, i,
             "Redis is unreachable (%s): the run of %s runs here (redis_down: run; it may run on "
             "several replicas)",
             err, iso);
        return true;
    }
    sc->skipped[FLEET_SKIP_REDIS_DOWN]++;
    if (f->h.skipped) f->h.skipped(f->h.ud, i, at, FLEET_SKIP_REDIS_DOWN);
    flog(f, i,
         "skipped the run of %s: Redis is unreachable (%s) and redis_down: skip (%llu skipped "
         "for Redis)",
         iso, err, (unsigned long long)sc->skipped[FLEET_SKIP_REDIS_DOWN]);
    return false;
}

static void on_claim_timer(uv_timer_t *t);

/* This replica runs c's occurrence, on the next loop turn. */
static void claim_go(struct claim *c)
{
    c->state = CLAIM_RUN;
    uv_timer_start(&c->timer, on_claim_timer, 0, 0);
}

static void claim_down(struct claim *c, const char *err)
{
    if (redis_down(c->f, c->i, c->at, err))
        claim_go(c);
    else
        claim_end(c);
}

/* Text from Redis for a log line: at most size - 1 bytes, control characters as '?' (a newline
 * must not forge a line). */
static void shown(const char *s, size_t len, char *buf, size_t size)
{
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t k = 0; k < n; k++)
        buf[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? '?' : s[k];
    buf[n] = '\0';
}

static void on_claimed(void *ud, struct redisReply *rep, const char *err)
{
    struct claim *c = ud;
    struct schedfleet *f = c->f;
    if (f->closing) return; /* schedfleet_close ends every claim */
    if (!rep) {
        claim_down(c, err);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        char e[200];
        snprintf(e, sizeof e, "%.190s", rep->str);
        claim_down(c, e);
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER) {
        claim_down(c, "an unexpected answer to the claim");
        return;
    }
    char iso[40];
    fmt_at(f, c->i, c->at, iso, sizeof iso);
    if (rep->element[0]->integer == 1) {
        if (c->catch_up) {
            char last[40];
            fmt_at(f, c->i, c->last, last, sizeof last);
            flog(f, c->i, "catching up the missed run of %s (catch_up: last; the last run was %s)",
                 iso, last);
        }
        claim_go(c);
        return;
    }
    struct fsched *sc = &f->sc[c->i];
    const redisReply *who = rep->element[1];
    char holder[101] = "?";
    if (who->type == REDIS_REPLY_STRING) shown(who->str, who->len, holder, sizeof holder);
    sc->skipped[FLEET_SKIP_ANOTHER_REPLICA]++;
    if (f->h.skipped) f->h.skipped(f->h.ud, c->i, c->at, FLEET_SKIP_ANOTHER_REPLICA);
    flog(f, c->i, "the run of %s was taken by another replica (%s; %llu taken elsewhere)", iso,
         holder, (unsigned long long)sc->skipped[FLEET_SKIP_ANOTHER_REPLICA]);
    claim_end(c);
}

/* Sends c's claim script, bounded by what is left of its wait. */
static void claim_send(struct claim *c)
{
    struct schedfleet *f = c->f;
    const struct fsched *sc = &f->sc[c->i];
    int64_t next = 0, ttl;
    if (cron_next(sc->s.cron, sc->s.tz, c->at, &next) && next > c->at)
        ttl = 2 * (next - c->at);
    else
        ttl = FLEET_TTL_MAX_S;
    if (ttl < FLEET_TTL_MIN_S) ttl = FLEET_TTL_MIN_S;
    if (ttl > FLEET_TTL_MAX_S) ttl = FLEET_TTL_MAX_S;
    char key[300], ttl_ms[24], epoch[24];
    snprintf(key, sizeof key, "%s%lld", sc->lock_prefix, (long long)c->at);
    snprintf(ttl_ms, sizeof ttl_ms, "%lld", (long long)ttl * 1000);
    snprintf(epoch, sizeof epoch, "%lld", (long long)c->at);
    const char *argv[] = {"EVAL", claim_lua,    "2",
                          key,    sc->last_key, f->holder,
                          ttl_ms, epoch,        c->catch_up ? "1" : "0"};
    uint64_t now = uv_now(f->loop);
    uint64_t left = c->deadline > now + 100 ? c->deadline - now : 100;
    int rc = redisconn_command(f->redis, on_claimed, c, 9, argv, NULL, left);
    if (rc == 0)
        c->state = CLAIM_SENT;
    else if (rc != -ENOTCONN)
        claim_down(c, strerror(-rc));
    /* not connected: it waits for the connection, or for its timer */
}

static void on_claim_timer(uv_timer_t *t)
{
    struct claim *c = t->data;
    switch (c->state) {
    case CLAIM_WAITING: {
        const char *e = redisconn_error(c->f->redis);
        claim_down(c, e && *e ? e : "not connected yet");
        break;
    }
    case CLAIM_SENT: break; /* the command's own deadline (the same instant) answers it */
    case CLAIM_RUN:
        c->f->h.run(c->f->h.ud, c->i, c->at);
        claim_end(c);
        break;
    }
}

static struct claim *claim_new(struct schedfleet *f, size_t i, int64_t at)
{
    struct claim *c = xcalloc(1, sizeof *c);
    *c = (struct claim){.f = f, .i = i, .at = at, .next = f->claims};
    uv_timer_init(f->loop, &c->timer);
    c->timer.data = c;
    f->claims = c;
    f->nclaims++;
    return c;
}

static void claim(struct schedfleet *f, size_t i, int64_t at, bool catch_up, int64_t last)
{
    if (f->nclaims >= FLEET_MAX_CLAIMS) {
        char e[64];
        snprintf(e, sizeof e, "%d claims wait for it already", FLEET_MAX_CLAIMS);
        if (redis_down(f, i, at, e)) f->h.run(f->h.ud, i, at); /* on the scheduler's timer */
        return;
    }
    struct claim *c = claim_new(f, i, at);
    c->catch_up = catch_up;
    c->last = last;
    uv_timer_start(&c->timer, on_claim_timer, FLEET_WAIT_MS, 0);
    c->deadline = uv_now(f->loop) + FLEET_WAIT_MS;
    claim_send(c);
}

void schedfleet_fire(struct schedfleet *f, size_t i, int64_t at)
{
    if (!f->redis) {
        f->h.run(f->h.ud, i, at); /* on the scheduler's timer */
        return;
    }
    claim(f, i, at, false, 0);
}

struct redisconn *schedfleet_redis(const struct schedfleet *f)
{
    return f ? f->redis : NULL;
}

uint64_t schedfleet_skipped(const struct schedfleet *f, size_t i, enum fleet_skip why)
{
    return i < f->n && why < FLEET_NSKIPS ? f->sc[i].skipped[why] : 0;
}

/* Logs a failed exchange once until Redis answers one again (a poll each second must not log a
 * line each second). */
static void said(struct schedfleet *f, const char *what, const char *err)
{
    char e[160];
    snprintf(e, sizeof e, "%s: %s", what, err);
    if (!strcmp(e, f->said_err)) return;
    snprintf(f->said_err, sizeof f->said_err, "%s", e);
    flog(f, SIZE_MAX, "%s", e);
}

/* --- catch-up ------------------------------------------------------------------------------- */

/* The most recent occurrence of sc at or before t, not before `since`; false when none. */
static bool last_occurrence(const struct fsched *sc, int64_t since, int64_t t, int64_t *out)
{
    const struct cron *cr = sc->s.cron;
    if (cr->every > 0) {
        int64_t o = t / cr->every * cr->every;
        if (o < since) return false;
        *out = o;
        return true;
    }
    bool found = false;
    int64_t at = since - 1, next;
    for (int k = 0; k < FLEET_CATCHUP_STEPS && cron_next(cr, sc->s.tz, at, &next) && next <= t;
         k++) {
        *out = at = next;
        found = true;
    }
    return found;
}

static void on_lasts(void *ud, struct redisReply *rep, const char *err)
{
    struct schedfleet *f = ud;
    if (f->closing) return;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        flog(f, SIZE_MAX, "catch_up: cannot read the last runs (%s); nothing is caught up",
             rep && rep->type == REDIS_REPLY_ERROR ? rep->str
             : err                                 ? err
                                                   : "unexpected answer");
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < f->n && k < rep->elements; i++) {
        if (f->sc[i].s.cfg->catch_up != CATCH_UP_LAST) continue;
        const redisReply *e = rep->element[k++];
        if (e->type != REDIS_REPLY_STRING) continue; /* never ran: nothing was missed */
        char *end;
        long long last = strtoll(e->str, &end, 10);
        if (*end || last <= 0) {
            char text[41];
            shown(e->str, e->len, text, sizeof text);
            flog(f, i, "catch_up: %s holds '%s', no epoch; nothing is caught up", f->sc[i].last_key,
                 text);
            continue;
        }
        /* at or after the start (a replica whose clock is ahead wrote it; strtoll's LLONG_MAX
         * for a longer number): nothing was missed, and last + 1 below must not overflow */
        if (last >= f->started) continue;
        int64_t since = f->started - FLEET_CATCHUP_MAX_S, o;
        if (since <= last) since = last + 1;
        if (last_occurrence(&f->sc[i], since, f->started, &o)) claim(f, i, o, true, last);
    }
}

static void catch_up(struct schedfleet *f)
{
    strvec argv = {0};
    strvec_pushdup(&argv, "MGET");
    for (size_t i = 0; i < f->n; i++)
        if (f->sc[i].s.cfg->catch_up == CATCH_UP_LAST) strvec_pushdup(&argv, f->sc[i].last_key);
    if (argv.n > 1) {
        int rc = redisconn_command(f->redis, on_lasts, f, (int)argv.n, (const char *const *)argv.v,
                                   NULL, FLEET_WAIT_MS);
        if (rc < 0)
            flog(f, SIZE_MAX, "catch_up: cannot read the last runs (%s); nothing is caught up",
                 strerror(-rc));
    }
    strvec_free(&argv);
}

/* --- manual triggers ------------------------------------------------------------------------ */

/* An ISO-8601 time as cron_parse_time reads it, also with a fraction of a second (the jobs API
 * writes milliseconds), which is dropped: occurrences are whole seconds. */
static int parse_time(const char *s, int64_t *t)
{
    char buf[64];
    size_t len = strlen(s), dot = strcspn(s, ".");
    if (len >= sizeof buf) return -1;
    if (dot == len) return cron_parse_time(s, t);
    size_t end = dot + 1;
    while (s[end] >= '0' && s[end] <= '9')
        end++;
    snprintf(buf, sizeof buf, "%.*s%s", (int)dot, s, s + end);
    return cron_parse_time(buf, t);
}

/* One element of a trigger list: {"requested_at": ISO, "by": "..."} runs schedule i now. */
static void trigger(struct schedfleet *f, size_t i, const char *s, size_t len)
{
    char text[81];
    cJSON *j = len <= FLEET_TRIGGER_MAX ? cJSON_ParseWithLength(s, len) : NULL;
    if (!j || !cJSON_IsObject(j)) {
        shown(s, len, text, sizeof text);
        flog(f, i,
             "ignored a trigger that is no JSON object ({\"requested_at\": ISO-8601, "
             "\"by\": ...}): %s",
             text);
        cJSON_Delete(j);
        return;
    }
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "requested_at");
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(j, "by");
    int64_t t;
    if (!cJSON_IsString(at) || parse_time(at->valuestring, &t) < 0) t = time(NULL);
    char iso[40];
    fmt_at(f, i, t, iso, sizeof iso);
    if (cJSON_IsString(by))
        shown(by->valuestring, strlen(by->valuestring), text, sizeof text);
    else
        snprintf(text, sizeof text, "?");
    flog(f, i, "manual run requested by %s at %s", text, iso);
    cJSON_Delete(j);
    claim_go(claim_new(f, i, t)); /* popped already: nothing to claim */
}

static void on_put_back(void *ud, struct redisReply *rep, const char *err)
{
    struct schedfleet *f = ud;
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        said(f, "a trigger popped as the role stopped could not be put back (it is lost)",
             rep ? rep->str : err);
}

static void on_poll(void *ud, struct redisReply *rep, const char *err)
{
    struct schedfleet *f = ud;
    f->polling = false;
    if (f->closing) return;
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        said(f, "the trigger poll failed", rep ? rep->str : err);
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < f->n && i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING) continue;
        if (!f->stopping) {
            trigger(f, i, e->str, e->len);
            continue;
        }
        /* the poll was in flight when the role began to stop: the trigger would be lost here,
         * so it goes back to the front of its list, for another replica or the next start */
        const char *argv[] = {"LPUSH", f->sc[i].trigger_key, e->str};
        size_t lens[] = {5, strlen(f->sc[i].trigger_key), e->len};
        if (redisconn_command(f->redis, on_put_back, f, 3, argv, lens, FLEET_WAIT_MS) == 0)
            flog(f, i, "a manual run requested as the role stopped is put back, not run");
        else
            flog(f, i, "a manual run requested as the role stopped is lost (Redis is not up)");
    }
}

static void on_poll_timer(uv_timer_t *t)
{
    struct schedfleet *f = t->data;
    if (f->polling || !redisconn_up(f->redis)) return;
    const char **argv = xcalloc(f->n + 3, sizeof *argv);
    char nkeys[24];
    snprintf(nkeys, sizeof nkeys, "%zu", f->n);
    argv[0] = "EVAL";
    argv[1] = poll_lua;
    argv[2] = nkeys;
    for (size_t i = 0; i < f->n; i++)
        argv[3 + i] = f->sc[i].trigger_key;
    int rc = redisconn_command(f->redis, on_poll, f, (int)f->n + 3, argv, NULL, FLEET_WAIT_MS);
    if (rc == 0) f->polling = true;
    free(argv);
}

/* --- runs ----------------------------------------------------------------------------------- */

static void on_pushed(void *ud, struct redisReply *rep, const char *err)
{
    struct schedfleet *f = ud;
    if (f->closing) return;
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        said(f, "a run could not be recorded", rep ? rep->str : err);
}

void schedfleet_finished(struct schedfleet *f, size_t i, const struct fleet_run *r)
{
    if (!f->redis || f->closing || !redisconn_up(f->redis)) return;
    char at[40], started[80], finished[80];
    fmt_at(f, i, r->scheduled_at, at, sizeof at);
    format_iso8601_ms(started, sizeof started, r->started_ms);
    format_iso8601_ms(finished, sizeof finished, r->finished_ms);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "scheduled_at", at);
    cJSON_AddStringToObject(j, "started", started);
    cJSON_AddStringToObject(j, "finished", finished);
    cJSON_AddStringToObject(j, "outcome", r->outcome);
    if (r->exit_code >= 0)
        cJSON_AddNumberToObject(j, "exit_code", r->exit_code);
    else
        cJSON_AddNullToObject(j, "exit_code");
    if (r->http_status > 0)
        cJSON_AddNumberToObject(j, "http_status", (double)r->http_status);
    else
        cJSON_AddNullToObject(j, "http_status");
    int64_t d = r->finished_ms - r->started_ms;
    cJSON_AddNumberToObject(j, "duration_ms", (double)(d > 0 ? d : 0));
    cJSON_AddStringToObject(j, "host", f->holder);
    char *json = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    const char *push[] = {"LPUSH", f->sc[i].runs_key, json};
    const char *trim[] = {"LTRIM", f->sc[i].runs_key, "0", FLEET_RUNS_KEPT};
    /* sent back to back: one round trip */
    if (redisconn_command(f->redis, on_pushed, f, 3, push, NULL, 0) == 0)
        redisconn_command(f->redis, on_pushed, f, 4, trim, NULL, 0);
    free(json);
}

/* --- the connection ------------------------------------------------------------------------- */

static void on_state(void *ud, bool up, const char *err)
{
    struct schedfleet *f = ud;
    if (f->closing) return;
    if (!up) {
        if (!f->said_down) flog(f, SIZE_MAX, "unreachable (%s)", err ? err : "connection lost");
        f->said_down = true;
        return;
    }
    if (f->said_down || !f->ever_up) flog(f, SIZE_MAX, "connected");
    f->said_down = false;
    f->said_err[0] = '\0';
    for (struct claim *c = f->claims, *nx; c; c = nx) {
        nx = c->next; /* claim_send may end c */
        if (c->state == CLAIM_WAITING) claim_send(c);
    }
    if (!f->ever_up) {
        f->ever_up = true;
        catch_up(f);
    }
}

struct schedfleet *schedfleet_new(uv_loop_t *loop, const struct roster_config *cfg,
                                  const struct role_config *rc, const struct fleet_sched *scheds,
                                  size_t n, char **environ_, const struct schedfleet_hooks *h,
                                  char *err, size_t errlen)
{
    struct schedfleet *f = xcalloc(1, sizeof *f);
    f->loop = loop;
    f->rc = rc;
    f->n = n;
    f->h = *h;
    f->sc = xcalloc(n ? n : 1, sizeof *f->sc);
    const char *app = cfg->app ? cfg->app : "app";
    for (size_t i = 0; i < n; i++) {
        struct fsched *sc = &f->sc[i];
        sc->s = scheds[i];
        sc->lock_prefix = xasprintf("roster:%s:sched:%s:", app, sc->s.cfg->name);
        sc->last_key = xasprintf("%slast", sc->lock_prefix);
        sc->runs_key = xasprintf("%sruns", sc->lock_prefix);
        sc->trigger_key = xasprintf("roster:%s:sched:trigger:%s", app, sc->s.cfg->name);
    }
    char host[64] = "";
    if (gethostname(host, sizeof host) < 0 || !host[0]) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(f->holder, sizeof f->holder, "%s:%d", host, (int)getpid());
    if (cfg->redis.enabled) {
        /* the URL as roster resolved it for the plan: redis.url, else REDIS_HOST and the rest,
         * from the environment and the env files */
        envmap vars = {0};
        envmap_from_environ(&vars, environ_);
        envmap_merge_defaults(&vars, &cfg->file_env);
        char *url = redisurl_resolve(cfg->redis.url, &vars, err, errlen);
        envmap_free(&vars);
        if (!url) goto fail;
        /* retries within 2 s: an occurrence waits at most FLEET_WAIT_MS for the connection */
        struct redisconn_opts o = {.url = url,
                                   .connect_timeout_ms = FLEET_WAIT_MS,
                                   .command_timeout_ms = FLEET_WAIT_MS,
                                   .retry_max_ms = 2000};
        f->redis = redisconn_new(loop, &o, on_state, f, err, errlen);
        free(url);
        if (!f->redis) goto fail;
    }
    uv_timer_init(loop, &f->poll);
    f->poll.data = f;
    return f;
fail:
    schedfleet_free(f);
    return NULL;
}

void schedfleet_start(struct schedfleet *f, int64_t started)
{
    f->started = started;
    if (!f->redis) return;
    redisconn_start(f->redis);
    uv_timer_start(&f->poll, on_poll_timer, FLEET_POLL_MS, FLEET_POLL_MS);
}

void schedfleet_stop(struct schedfleet *f)
{
    if (!f || f->closing) return;
    f->stopping = true;
    uv_timer_stop(&f->poll);
}

void schedfleet_settle(struct schedfleet *f, uint64_t ms)
{
    if (!f || f->closing || !f->redis) return;
    uint64_t start = uv_now(f->loop);
    /* every command has its deadline (FLEET_WAIT_MS), so each turn ends */
    while ((f->polling || redisconn_pending(f->redis)) && uv_now(f->loop) - start < ms)
        uv_run(f->loop, UV_RUN_ONCE);
}

void schedfleet_close(struct schedfleet *f)
{
    if (!f || f->closing) return;
    f->closing = true;
    redisconn_close(f->redis); /* answers what is in flight with an error, ignored now */
    f->redis = NULL;
    while (f->claims)
        claim_end(f->claims);
    uv_close((uv_handle_t *)&f->poll, NULL);
}

void schedfleet_free(struct schedfleet *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->sc[i].lock_prefix);
        free(f->sc[i].last_key);
        free(f->sc[i].runs_key);
        free(f->sc[i].trigger_key);
    }
    free(f->sc);
    free(f);
}
