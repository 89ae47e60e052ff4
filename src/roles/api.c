/* api.c — the built-in jobs API role: libmicrohttpd on this process's own uv loop (serve/httpd.c,
 * with request bodies on), one Redis connection (datastore/redisconn.c) for the job store
 * (jobs/store.h) and for the scheduler's keys (the runs lists, the trigger lists). Every route
 * is one row of the route table below, which the router, the bearer-token check and the
 * OpenAPI document (GET /openapi.json) all read, so the three cannot disagree. Answers that
 * need Redis are deferred (httpd_defer) and given from the reply's callback. */
#include "roles/api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <uv.h>

#include "datastore/redisconn.h"
#include "jobs/store.h"
#include "os/lazylib.h"
#include "base/jsoncheck.h"
#include "base/util.h"
#include "roles/apireq.h"
#include "sched/cron.h"
#include "sched/tz.h"
#include "serve/httpd.h"

/* GET /schedules lists this many next fire times and at most this many last runs per schedule. */
#define API_NEXT_FIRES 3
#define API_LAST_RUNS  10
/* A trigger list keeps its newest entries only, so triggers nobody takes (no scheduler runs)
 * cannot grow it without end. */
#define API_TRIGGER_KEEP 16
/* After a stop signal, the answers already given are written for this long before the
 * server stops. */
#define API_STOP_GRACE_MS 200
/* Seconds a client is told to wait (Retry-After) when Redis is down. */
#define API_RETRY_AFTER "5"
/* Rates are over at least a second, and the sample they start from is renewed this often. */
#define API_RATE_MIN_MS    1000
#define API_RATE_WINDOW_MS 30000
/* The longest name a path segment ({id}, {name}) may carry. */
#define API_SEG_MAX 128

struct api_sched {
    const struct schedule_config *cfg;
    const char *role;
    struct cron cron;
    struct tz tz;
};

struct call;

/* The queues' counters at one instant, kept to give rates (GET /queues). */
struct rate_sample {
    int64_t at_ms;
    struct jobs_queue_stat *qs; /* NULL: none yet */
    size_t n;
};

struct api {
    uv_loop_t *loop;
    const char *role;
    const char *app;
    char *token;
    bool public_reads;
    struct httpd *http;
    struct redisconn *redis;
    struct jobs_store *store;
    struct api_sched *scheds;
    size_t nscheds;
    char *openapi;      /* the document, built once */
    struct call *calls; /* answers waiting for Redis */
    /* GET /queues's rates: counters now against prev's (or cur's, while there is no prev);
     * cur becomes prev once it is API_RATE_WINDOW_MS old, so the window is one to two of it */
    struct rate_sample prev, cur;
    uv_signal_t sigterm, sigint;
    uv_timer_t stop_timer; /* the grace between a stop signal and the server's end */
    bool stopping;
};

/* A request whose answer waits for Redis. later is NULL once the server is stopping: the
 * callback then only frees the call. */
struct call {
    struct api *a;
    struct httpd_later *later;
    struct call *next, **prev;
    /* GET /schedules: the runs lists, one per schedule, as JSON arrays (NULL: not read) */
    char **runs;
    size_t waiting;
    char name[API_SEG_MAX]; /* the schedule or job the request names */
    char requested_at[40];
};

/* What a route's path pattern captured: {id} or {name}. */
struct match {
    char seg[API_SEG_MAX];
    uint64_t id;
};

/* R_BODY: the route reads the request's body (any other drops it unread, see take_body). */
enum { R_WRITE = 1, R_PUBLIC = 2, R_BODY = 4 };

typedef void (*route_fn)(struct api *a, struct httpd_req *req, const struct match *m);

struct route {
    const char *method, *path;
    route_fn fn;
    unsigned flags;
    const char *summary;
    const char *responses; /* the statuses it answers, besides the auth and Redis ones */
    const char *schema;    /* the component schema of its success body */
};

/* ---- answers ---- */

/* The wall clock in ms since the epoch (job times, fire times and triggers are wall-clock). */
static void answer_json(struct httpd_req *req, int status)
{
    req->status = status;
    req->content_type = "application/json";
}

static void answer_error(struct httpd_req *req, const struct apireq_error *e)
{
    sbuf_reset(&req->body);
    answer_json(req, e->status);
    apireq_error_json(e, &req->body);
    if (e->status == 503) httpd_add_header(req, "Retry-After", API_RETRY_AFTER);
}

static void fail(struct httpd_req *req, int status, const char *code, const char *field,
                 const char *msg)
{
    struct apireq_error e;
    apireq_fail(&e, status, code, field, "%s", msg);
    answer_error(req, &e);
}

static void redis_unavailable(struct httpd_req *req, const char *why)
{
    struct apireq_error e;
    apireq_fail(&e, 503, "redis_unavailable", "", "Redis is unavailable: %s", why);
    answer_error(req, &e);
}

/* ---- calls waiting for Redis ---- */

/* A call, not yet deferred: call_defer once the command is sent (its callback comes on a
 * later loop turn), or call_free when it could not be (the handler answers itself). Answering
 * a deferred request from within its own handler would leave it suspended for good. */
static struct call *call_new(struct api *a)
{
    struct call *c = xcalloc(1, sizeof *c);
    c->a = a;
    c->next = a->calls;
    if (c->next) c->next->prev = &c->next;
    c->prev = &a->calls;
    a->calls = c;
    return c;
}

static void call_defer(struct call *c, struct httpd_req *req)
{
    c->later = httpd_defer(req);
}

static void call_free(struct call *c)
{
    if (c->prev) *c->prev = c->next;
    if (c->next) c->next->prev = c->prev;
    for (size_t i = 0; c->runs && i < c->a->nscheds; i++)
        free(c->runs[i]);
    free(c->runs);
    free(c);
}

/* Gives ans as the call's answer (unless the server stopped meanwhile) and frees the call. */
static void call_answer(struct call *c, struct httpd_req *ans)
{
    if (c->later) httpd_answer(c->later, ans);
    sbuf_free(&ans->body);
    call_free(c);
}

static struct httpd_req call_reply(void)
{
    struct httpd_req ans = {.status = 200, .content_type = "application/json"};
    sbuf_init(&ans.body);
    return ans;
}

/* The store's refusal of a call as an answer. */
static void store_error(struct httpd_req *ans, const struct jobs_result *res, uint64_t id)
{
    char msg[256];
    switch (res->err) {
    case JOBS_E_NOTFOUND:
        snprintf(msg, sizeof msg, "no job %llu (never enqueued, or expired)",
                 (unsigned long long)id);
        fail(ans, 404, "not_found", "", msg);
        break;
    case JOBS_E_STATE:
        snprintf(msg, sizeof msg, "job %llu is %s", (unsigned long long)id,
                 job_state_name(res->state));
        fail(ans, 409, "conflict", "", msg);
        break;
    case JOBS_E_INVALID:
        fail(ans, 400, "invalid_field", "", res->detail && *res->detail ? res->detail : "invalid");
        break;
    case JOBS_E_DOWN:
    case JOBS_E_REDIS:
        redis_unavailable(ans, res->detail && *res->detail ? res->detail : jobs_strerror(res->err));
        break;
    default:
        snprintf(msg, sizeof msg, "%s%s%s", jobs_strerror(res->err),
                 res->detail && *res->detail ? ": " : "", res->detail ? res->detail : "");
        fail(ans, 500, "internal", "", msg);
    }
}

/* A store call that was sent (rc JOBS_OK: the request waits for its callback), or could not
 * be (answered now, the call freed). */
static void store_sent(struct call *c, struct httpd_req *req, enum jobs_err rc, uint64_t id)
{
    if (rc == JOBS_OK) {
        call_defer(c, req);
        return;
    }
    call_free(c);
    struct jobs_result res = {.err = rc, .detail = jobs_strerror(rc)};
    store_error(req, &res, id);
}

/* ---- jobs ---- */

static void job_json(const struct job *j, sbuf *o)
{
    sbuf_printf(o, "{\"id\":\"%llu\",\"queue\":", (unsigned long long)j->id);
    apireq_str_json(j->queue, o);
    sbuf_puts(o, ",\"type\":");
    apireq_str_json(j->type, o);
    sbuf_puts(o, ",\"payload\":");
    /* the payload is JSON text, checked when it was enqueued, but by whoever enqueued it: the
     * store's check (cJSON) takes "01" and raw control bytes, which would make this answer no
     * JSON, so a payload that is no JSON is shown as a string of its text */
    if (j->payload && j->payload_len && json_check(j->payload, j->payload_len, NULL, NULL)) {
        sbuf_append(o, j->payload, j->payload_len);
    } else if (j->payload && j->payload_len) {
        char *text = xstrndup(j->payload, j->payload_len);
        apireq_str_json(text, o);
        free(text);
    } else {
        sbuf_puts(o, "null");
    }
    sbuf_puts(o, ",\"state\":");
    apireq_str_json(job_state_name(j->state), o);
    sbuf_printf(o, ",\"attempts\":%d,\"max_attempts\":", j->attempts);
    if (j->max_attempts)
        sbuf_printf(o, "%d", j->max_attempts);
    else
        sbuf_puts(o, "null");
    static const char *const tn[] = {"created_at", "run_at", "started_at", "finished_at"};
    const int64_t tv[] = {j->created_at, j->run_at, j->started_at, j->finished_at};
    for (size_t i = 0; i < ARRAY_SIZE(tn); i++) {
        sbuf_printf(o, ",\"%s\":", tn[i]);
        apireq_time_json(tv[i], o);
    }
    sbuf_puts(o, ",\"last_error\":");
    if (*j->last_error)
        apireq_str_json(j->last_error, o);
    else
        sbuf_puts(o, "null");
    sbuf_puts(o, ",\"unique\":");
    if (*j->unique)
        apireq_str_json(j->unique, o);
    else
        sbuf_puts(o, "null");
    sbuf_puts(o, ",\"worker\":");
    if (*j->worker)
        apireq_str_json(j->worker, o);
    else
        sbuf_puts(o, "null");
    sbuf_putc(o, '}');
}

static void on_enqueued(void *ud, const struct jobs_result *res)
{
    struct call *c = ud;
    struct httpd_req ans = call_reply();
    if (res->err == JOBS_OK) {
        answer_json(&ans, 201);
        sbuf_printf(&ans.body, "{\"id\":\"%llu\",\"state\":\"%s\"}\n", (unsigned long long)res->id,
                    c->requested_at);
        char loc[64];
        snprintf(loc, sizeof loc, "/jobs/%llu", (unsigned long long)res->id);
        httpd_add_header(&ans, "Location", loc);
    } else if (res->err == JOBS_E_UNIQUE) {
        answer_json(&ans, 409);
        sbuf_puts(&ans.body, "{\"error\":{\"code\":\"unique_taken\",\"message\":\"the unique key "
                             "is held by job ");
        sbuf_printf(&ans.body, "%llu\",\"field\":\"unique\"},\"id\":\"%llu\"}\n",
                    (unsigned long long)res->id, (unsigned long long)res->id);
    } else {
        store_error(&ans, res, 0);
    }
    call_answer(c, &ans);
}

static void post_jobs(struct api *a, struct httpd_req *req, const struct match *m)
{
    (void)m;
    struct apireq_enqueue in;
    struct apireq_error e;
    int64_t now_ms = wall_ms();
    /* The body is read as JSON whatever its Content-Type says (curl -d sends a form type):
     * what does not parse is refused with the place it stops parsing. */
    if (apireq_enqueue_parse(req->upload ? req->upload : "", req->upload_len, now_ms, &in, &e) <
        0) {
        answer_error(req, &e);
        return;
    }
    struct call *c = call_new(a);
    /* the store's rule: delayed when it is due later than now (an at: up to a minute past, for
     * clock skew, is queued at once); the store does not say which it was */
    bool later = in.job.run_at_ms ? in.job.run_at_ms > now_ms : in.job.delay_ms > 0;
    snprintf(c->requested_at, sizeof c->requested_at, "%s", later ? "delayed" : "queued");
    /* the store copies what it keeps before jobs_enqueue returns */
    enum jobs_err rc = jobs_enqueue(a->store, &in.job, on_enqueued, c);
    apireq_enqueue_free(&in);
    store_sent(c, req, rc, 0);
}

static void on_job(void *ud, const struct jobs_result *res, const struct job *job)
{
    struct call *c = ud;
    struct httpd_req ans = call_reply();
    if (res->err == JOBS_OK && job) {
        job_json(job, &ans.body);
        sbuf_putc(&ans.body, '\n');
    } else {
        struct jobs_result nf = {.err = JOBS_E_NOTFOUND};
        uint64_t id = 0;
        apireq_parse_id(c->name, strlen(c->name), &id);
        store_error(&ans, res->err == JOBS_OK ? &nf : res, id);
    }
    call_answer(c, &ans);
}

static void get_job(struct api *a, struct httpd_req *req, const struct match *m)
{
    struct call *c = call_new(a);
    snprintf(c->name, sizeof c->name, "%s", m->seg);
    store_sent(c, req, jobs_get(a->store, m->id, on_job, c), m->id);
}

static void on_list(void *ud, const struct jobs_result *res, const struct job *jobs, size_t n,
                    const char *next_cursor)
{
    struct call *c = ud;
    struct httpd_req ans = call_reply();
    if (res->err == JOBS_OK) {
        sbuf_puts(&ans.body, "{\"jobs\":[");
        for (size_t i = 0; i < n; i++) {
            if (i) sbuf_putc(&ans.body, ',');
            job_json(&jobs[i], &ans.body);
        }
        sbuf_puts(&ans.body, "],\"next_cursor\":");
        if (next_cursor)
            apireq_str_json(next_cursor, &ans.body);
        else
            sbuf_puts(&ans.body, "null");
        sbuf_puts(&ans.body, "}\n");
    } else if (res->err == JOBS_E_INVALID) {
        fail(&ans, 400, "invalid_parameter", "cursor",
             res->detail && *res->detail ? res->detail : "the cursor is not one this API gave");
    } else {
        store_error(&ans, res, 0);
    }
    call_answer(c, &ans);
}

static void get_jobs(struct api *a, struct httpd_req *req, const struct match *m)
{
    (void)m;
    struct apireq_list q;
    struct apireq_error e;
    if (apireq_list_parse(req->args, req->nargs, req->query_overflow, &q, &e) < 0) {
        answer_error(req, &e);
        return;
    }
    struct call *c = call_new(a);
    enum jobs_err rc = jobs_list(a->store, q.queue, q.state, q.limit, q.cursor, on_list, c);
    if (rc == JOBS_E_INVALID) {
        call_free(c);
        fail(req, 400, "invalid_parameter", "cursor", "the cursor is not one this API gave");
        return;
    }
    store_sent(c, req, rc, 0);
}

/* retry and cancel answer alike: the job's new state, or why not. */
static void on_changed(void *ud, const struct jobs_result *res)
{
    struct call *c = ud;
    struct httpd_req ans = call_reply();
    uint64_t id = 0;
    apireq_parse_id(c->name, strlen(c->name), &id);
    if (res->err == JOBS_OK)
        sbuf_printf(&ans.body, "{\"id\":\"%llu\",\"state\":\"%s\"}\n", (unsigned long long)id,
                    c->requested_at);
    else
        store_error(&ans, res, id);
    call_answer(c, &ans);
}

static void change_job(struct api *a, struct httpd_req *req, const struct match *m, bool retry)
{
    struct call *c = call_new(a);
    snprintf(c->name, sizeof c->name, "%s", m->seg);
    /* the state the job is in when the call succeeds */
    snprintf(c->requested_at, sizeof c->requested_at, "%s", retry ? "queued" : "cancelled");
    enum jobs_err rc = retry ? jobs_retry(a->store, m->id, on_changed, c)
                             : jobs_cancel(a->store, m->id, on_changed, c);
    store_sent(c, req, rc, m->id);
}

static void post_retry(struct api *a, struct httpd_req *req, const struct match *m)
{
    change_job(a, req, m, true);
}

static void delete_job(struct api *a, struct httpd_req *req, const struct match *m)
{
    change_job(a, req, m, false);
}

/* ---- queues ---- */

static const struct jobs_queue_stat *sample_find(const struct rate_sample *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->qs[i].name, name)) return &s->qs[i];
    return NULL;
}

/* Keeps qs as the newest sample (see struct api's prev and cur). */
static void sample_keep(struct api *a, const struct jobs_queue_stat *qs, size_t n, int64_t now)
{
    if (a->cur.qs && now - a->cur.at_ms < API_RATE_WINDOW_MS) return;
    free(a->prev.qs);
    a->prev = a->cur;
    a->cur.at_ms = now;
    a->cur.n = n;
    a->cur.qs = xcalloc(n ? n : 1, sizeof *qs);
    if (n) memcpy(a->cur.qs, qs, n * sizeof *qs);
}

/* "rates": per second over the window since the oldest sample kept, or null before there is
 * one a second old. A queue the sample did not have was created since: its counters, kept since
 * it was created, all fall in the window. */
static void rates_json(const struct rate_sample *base, const struct jobs_queue_stat *q, int64_t now,
                       sbuf *o)
{
    static const struct jobs_queue_stat zero;
    if (!base) {
        sbuf_puts(o, "null");
        return;
    }
    const struct jobs_queue_stat *b = sample_find(base, q->name);
    if (!b) b = &zero;
    double secs = (double)(now - base->at_ms) / 1000.0;
    sbuf_printf(o,
                "{\"window_s\":%.3f,\"enqueued_per_s\":%.3f,\"done_per_s\":%.3f,"
                "\"failed_per_s\":%.3f,\"dead_per_s\":%.3f}",
                secs, (double)(q->enqueued - b->enqueued) / secs,
                (double)(q->done - b->done) / secs, (double)(q->failed - b->failed) / secs,
                (double)(q->dead - b->dead) / secs);
}

static void on_queues(void *ud, const struct jobs_result *res, const struct jobs_queue_stat *qs,
                      size_t n)
{
    struct call *c = ud;
    struct api *a = c->a;
    struct httpd_req ans = call_reply();
    if (res->err != JOBS_OK) {
        store_error(&ans, res, 0);
        call_answer(c, &ans);
        return;
    }
    int64_t now = wall_ms();
    const struct rate_sample *base = a->prev.qs ? &a->prev : a->cur.qs ? &a->cur : NULL;
    if (base && now - base->at_ms < API_RATE_MIN_MS) base = NULL;
    sbuf_puts(&ans.body, "{\"queues\":[");
    for (size_t i = 0; i < n; i++) {
        const struct jobs_queue_stat *q = &qs[i];
        sbuf_puts(&ans.body, i ? ",{\"name\":" : "{\"name\":");
        apireq_str_json(q->name, &ans.body);
        sbuf_puts(&ans.body, ",\"depth\":{");
        for (int s = 0; s < JOB_STATE_COUNT; s++)
            sbuf_printf(&ans.body, "%s\"%s\":%lld", s ? "," : "", job_state_name(s), q->depth[s]);
        sbuf_printf(&ans.body,
                    "},\"counters\":{\"enqueued\":%lld,\"done\":%lld,\"failed\":%lld,"
                    "\"retried\":%lld,\"dead\":%lld,\"cancelled\":%lld},\"rates\":",
                    q->enqueued, q->done, q->failed, q->retried, q->dead, q->cancelled);
        rates_json(base, q, now, &ans.body);
        sbuf_putc(&ans.body, '}');
    }
    sbuf_puts(&ans.body, "]}\n");
    sample_keep(a, qs, n, now);
    call_answer(c, &ans);
}

static void get_queues(struct api *a, struct httpd_req *req, const struct match *m)
{
    (void)m;
    struct call *c = call_new(a);
    store_sent(c, req, jobs_queues(a->store, on_queues, c), 0);
}

/* ---- schedules ---- */

static struct api_sched *sched_find(struct api *a, const char *name)
{
    for (size_t i = 0; i < a->nscheds; i++)
        if (!strcmp(a->scheds[i].cfg->name, name)) return &a->scheds[i];
    return NULL;
}

static void schedules_json(struct api *a, char **runs, sbuf *o)
{
    sbuf_puts(o, "{\"schedules\":[");
    for (size_t i = 0; i < a->nscheds; i++) {
        struct api_sched *s = &a->scheds[i];
        sbuf_puts(o, i ? ",{\"name\":" : "{\"name\":");
        apireq_str_json(s->cfg->name, o);
        sbuf_puts(o, ",\"role\":");
        apireq_str_json(s->role, o);
        sbuf_puts(o, ",\"cron\":");
        apireq_str_json(s->cfg->cron, o);
        sbuf_puts(o, ",\"tz\":");
        apireq_str_json(s->tz.name[0] ? s->tz.name : "UTC", o);
        /* the kind of action only: its command or URL may carry secrets */
        sbuf_printf(o, ",\"action\":\"%s\",\"next\":[", s->cfg->http ? "http" : "command");
        int64_t t = wall_ms() / 1000, next;
        for (int k = 0; k < API_NEXT_FIRES && cron_next(&s->cron, &s->tz, t, &next); k++) {
            char iso[48];
            cron_format_time(&s->tz, next, iso, sizeof iso);
            sbuf_printf(o, "%s\"%s\"", k ? "," : "", iso);
            t = next;
        }
        sbuf_puts(o, "],\"last_runs\":");
        sbuf_puts(o, runs && runs[i] ? runs[i] : "null");
        sbuf_putc(o, '}');
    }
    sbuf_puts(o, "]");
}

/* The runs list's elements (JSON objects, newest first) as one JSON array; an element that is
 * no JSON object (not written by a scheduler) is left out. */
static char *runs_array(const redisReply *rep)
{
    sbuf o;
    sbuf_init(&o);
    sbuf_putc(&o, '[');
    size_t n = 0;
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        const redisReply *el = rep->element[i];
        if (el->type != REDIS_REPLY_STRING) continue;
        cJSON *v = cJSON_ParseWithLength(el->str, el->len);
        if (cJSON_IsObject(v)) {
            char *txt = cJSON_PrintUnformatted(v);
            if (n++) sbuf_putc(&o, ',');
            sbuf_puts(&o, txt);
            free(txt);
        }
        cJSON_Delete(v);
    }
    sbuf_putc(&o, ']');
    return sbuf_detach(&o);
}

struct runs_read {
    struct call *c;
    size_t i;
};

static void schedules_answer(struct call *c)
{
    struct httpd_req ans = call_reply();
    schedules_json(c->a, c->runs, &ans.body);
    sbuf_puts(&ans.body, "}\n");
    call_answer(c, &ans);
}

static void on_runs(void *ud, redisReply *rep, const char *err)
{
    struct runs_read *rr = ud;
    struct call *c = rr->c;
    if (!err && rep && rep->type == REDIS_REPLY_ARRAY) c->runs[rr->i] = runs_array(rep);
    free(rr);
    if (--c->waiting == 0) schedules_answer(c);
}

static char *sched_key(struct api *a, const char *name, const char *what)
{
    return !strcmp(what, "runs") ? xasprintf("roster:%s:sched:%s:runs", a->app, name)
                                 : xasprintf("roster:%s:sched:trigger:%s", a->app, name);
}

/* GET /schedules: next fire times from the config, last runs from Redis (null for each when
 * Redis is down: the fire times are still worth having). */
static void get_schedules(struct api *a, struct httpd_req *req, const struct match *m)
{
    (void)m;
    if (!a->nscheds || !redisconn_up(a->redis)) {
        answer_json(req, 200);
        schedules_json(a, NULL, &req->body);
        sbuf_puts(&req->body, a->nscheds ? ",\"redis\":\"down\"}\n" : "}\n");
        return;
    }
    struct call *c = call_new(a);
    c->runs = xcalloc(a->nscheds, sizeof *c->runs);
    char last[16];
    snprintf(last, sizeof last, "%d", API_LAST_RUNS - 1);
    for (size_t i = 0; i < a->nscheds; i++) {
        char *key = sched_key(a, a->scheds[i].cfg->name, "runs");
        const char *argv[] = {"LRANGE", key, "0", last};
        struct runs_read *rr = xcalloc(1, sizeof *rr);
        rr->c = c;
        rr->i = i;
        c->waiting++;
        if (redisconn_command(a->redis, on_runs, rr, 4, argv, NULL, 0) < 0) {
            c->waiting--;
            free(rr);
        }
        free(key);
    }
    if (c->waiting) {
        call_defer(c, req);
        return;
    }
    call_free(c);
    redis_unavailable(req, "too many commands in flight");
}

static void on_triggered(void *ud, redisReply *rep, const char *err)
{
    struct call *c = ud;
    struct httpd_req ans = call_reply();
    if (err || !rep || rep->type == REDIS_REPLY_ERROR) {
        redis_unavailable(&ans, err ? err : rep ? rep->str : "no reply");
    } else {
        answer_json(&ans, 202);
        sbuf_puts(&ans.body, "{\"schedule\":");
        apireq_str_json(c->name, &ans.body);
        sbuf_printf(&ans.body, ",\"requested_at\":\"%s\"}\n", c->requested_at);
    }
    call_answer(c, &ans);
}

static void on_trimmed(void *ud, redisReply *rep, const char *err)
{
    (void)ud;
    (void)rep;
    (void)err;
}

/* POST /schedules/{name}/trigger: RPUSH {"requested_at","by":"api"} onto the schedule's trigger
 * list, which its scheduler polls; 202, since the run happens there, later. */
static void post_trigger(struct api *a, struct httpd_req *req, const struct match *m)
{
    if (!sched_find(a, m->seg)) {
        char msg[200];
        snprintf(msg, sizeof msg, "no schedule '%.64s' in any scheduler role of the config",
                 m->seg);
        fail(req, 404, "not_found", "", msg);
        return;
    }
    if (!redisconn_up(a->redis)) {
        redis_unavailable(req,
                          redisconn_error(a->redis) ? redisconn_error(a->redis) : "not connected");
        return;
    }
    struct call *c = call_new(a);
    snprintf(c->name, sizeof c->name, "%s", m->seg);
    sbuf at;
    sbuf_init(&at);
    apireq_time_json(wall_ms(), &at);
    snprintf(c->requested_at, sizeof c->requested_at, "%.*s", (int)at.len - 2, at.data + 1);
    sbuf_free(&at);
    char *key = sched_key(a, m->seg, "trigger");
    char *val = xasprintf("{\"requested_at\":\"%s\",\"by\":\"api\"}", c->requested_at);
    const char *push[] = {"RPUSH", key, val};
    char keep[16];
    snprintf(keep, sizeof keep, "-%d", API_TRIGGER_KEEP);
    const char *trim[] = {"LTRIM", key, keep, "-1"};
    if (redisconn_command(a->redis, on_triggered, c, 3, push, NULL, 0) < 0) {
        call_free(c);
        redis_unavailable(req, "not connected, or too many commands in flight");
    } else {
        call_defer(c, req);
        redisconn_command(a->redis, on_trimmed, NULL, 4, trim, NULL, 0);
    }
    free(key);
    free(val);
}

/* ---- health and the document ---- */

static void get_health(struct api *a, struct httpd_req *req, const struct match *m)
{
    (void)m;
    bool up = redisconn_up(a->redis);
    answer_json(req, up ? 200 : 503);
    sbuf_printf(&req->body, "{\"status\":\"%s\",\"redis\":{\"up\":%s", up ? "ok" : "down",
                up ? "true" : "false");
    const char *err = redisconn_error(a->redis);
    if (!up && err) {
        sbuf_puts(&req->body, ",\"error\":");
        apireq_str_json(err, &req->body);
    }
    double lat = redisconn_latency(a->redis);
    if (up && lat >= 0) sbuf_printf(&req->body, ",\"latency_ms\":%.3f", lat * 1000);
    sbuf_puts(&req->body, "}}\n");
    if (!up) httpd_add_header(req, "Retry-After", API_RETRY_AFTER);
}

static void get_openapi(struct api *a, struct httpd_req *req, const struct match *m)
{
    (void)m;
    answer_json(req, 200);
    sbuf_puts(&req->body, a->openapi);
}

/* The routes: the router, the token check and the OpenAPI document all read this table. */
static const struct route routes[] = {
    {"POST", "/jobs", post_jobs, R_WRITE | R_BODY, "Enqueue a job", "201 400 409 413", "Enqueued"},
    {"GET", "/jobs", get_jobs, 0, "List jobs in one state, a page at a time", "200 400", "JobPage"},
    {"GET", "/jobs/{id}", get_job, 0, "One job", "200 404", "Job"},
    {"DELETE", "/jobs/{id}", delete_job, R_WRITE, "Cancel a queued or delayed job", "200 404 409",
     "Changed"},
    {"POST", "/jobs/{id}/retry", post_retry, R_WRITE, "Put a dead job back on its queue",
     "200 404 409", "Changed"},
    {"GET", "/queues", get_queues, 0, "Every queue's depth per state, counters and rates", "200",
     "Queues"},
    {"GET", "/schedules", get_schedules, 0,
     "The scheduler roles' schedules: next fire times and last runs", "200", "Schedules"},
    {"POST", "/schedules/{name}/trigger", post_trigger, R_WRITE,
     "Ask the scheduler to run a schedule now", "202 404", "Triggered"},
    {"GET", "/openapi.json", get_openapi, R_PUBLIC, "This document", "200", NULL},
    {"GET", "/health", get_health, R_PUBLIC, "Whether Redis is reachable", "200 503", "Health"},
};

/* Matches path against pattern ("/jobs/{id}/retry"), capturing the {...} segment. */
static bool path_match(const char *pattern, const char *path, struct match *m)
{
    while (*pattern && *path) {
        if (*pattern == '{') {
            const char *pe = strchr(pattern, '}'), *se = strchr(path, '/');
            size_t n = se ? (size_t)(se - path) : strlen(path);
            if (!pe || n == 0 || n >= sizeof m->seg) return false;
            memcpy(m->seg, path, n);
            m->seg[n] = '\0';
            pattern = pe + 1;
            path += n;
            continue;
        }
        if (*pattern++ != *path++) return false;
    }
    return !*pattern && !*path;
}

/* Whether r answers without the token: the public routes, and reads with public_reads. */
static bool route_open(const struct api *a, const struct route *r)
{
    return (r->flags & R_PUBLIC) || (!(r->flags & R_WRITE) && a->public_reads);
}

/* ---- the OpenAPI document ---- */

static const char *status_text(int s)
{
    switch (s) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted: the scheduler runs it within about a second";
    case 400: return "Bad request: malformed JSON, a wrong type, an unknown field or parameter";
    case 401: return "No bearer token, or a wrong one";
    case 404: return "No such job, schedule or route";
    case 409: return "Conflict: the job's state does not allow it, or the unique key is taken";
    case 413: return "The request body is larger than max_body";
    case 503: return "Redis is unavailable (Retry-After given)";
    default: return "";
    }
}

static cJSON *ref(const char *schema)
{
    cJSON *o = cJSON_CreateObject();
    char *r = xasprintf("#/components/schemas/%s", schema);
    cJSON_AddStringToObject(o, "$ref", r);
    free(r);
    return o;
}

static cJSON *json_content(cJSON *schema)
{
    cJSON *c = cJSON_CreateObject(), *mt = cJSON_AddObjectToObject(c, "application/json");
    cJSON_AddItemToObject(mt, "schema", schema);
    return c;
}

/* One answer of a route: its success schema, or Error (but /health's 503 is a Health too). */
static void add_response(cJSON *resps, int status, const char *schema)
{
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    cJSON *r = cJSON_AddObjectToObject(resps, code);
    cJSON_AddStringToObject(r, "description", status_text(status));
    if (status >= 400 && !(schema && !strcmp(schema, "Health")))
        cJSON_AddItemToObject(r, "content", json_content(ref("Error")));
    else if (schema)
        cJSON_AddItemToObject(r, "content", json_content(ref(schema)));
    else
        cJSON_AddItemToObject(r, "content", json_content(cJSON_CreateObject()));
}

static void add_param(cJSON *params, const char *name, const char *in, bool required,
                      const char *type, const char *desc)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "in", in);
    cJSON_AddBoolToObject(p, "required", required);
    cJSON_AddStringToObject(p, "description", desc);
    cJSON *s = cJSON_AddObjectToObject(p, "schema");
    cJSON_AddStringToObject(s, "type", type);
    cJSON_AddItemToArray(params, p);
}

/* The component schemas, as JSON text (shapes, not behaviour: that is in the routes). */
static const char schemas_json[] =
    "{"
    "\"Error\":{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{"
    "\"type\":\"object\",\"required\":[\"code\",\"message\"],\"properties\":{"
    "\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"},"
    "\"field\":{\"type\":\"string\",\"description\":\"the field or query parameter at fault\"}}},"
    "\"id\":{\"type\":\"string\",\"description\":\"409 unique_taken: the job holding the key\"}}},"
    "\"JobNew\":{\"type\":\"object\",\"required\":[\"queue\",\"type\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"queue\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_.:-]{1,64}$\"},"
    "\"type\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_.:-]{1,64}$\"},"
    "\"payload\":{\"description\":\"any JSON value, at most 1 MiB\"},"
    "\"delay\":{\"type\":\"string\",\"example\":\"30s\"},"
    "\"at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"unique\":{\"type\":\"string\",\"maxLength\":200},"
    "\"max_attempts\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000}}},"
    "\"Job\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"string\"},\"queue\":{\"type\":\"string\"},\"type\":{\"type\":\"string\"},"
    "\"payload\":{},\"state\":{\"type\":\"string\",\"enum\":[\"queued\",\"delayed\",\"active\","
    "\"done\",\"dead\",\"cancelled\"]},\"attempts\":{\"type\":\"integer\"},"
    "\"max_attempts\":{\"type\":\"integer\",\"nullable\":true},"
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"run_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"started_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"finished_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"last_error\":{\"type\":\"string\",\"nullable\":true},"
    "\"unique\":{\"type\":\"string\",\"nullable\":true},"
    "\"worker\":{\"type\":\"string\",\"nullable\":true}}},"
    "\"JobPage\":{\"type\":\"object\",\"properties\":{\"jobs\":{\"type\":\"array\",\"items\":{"
    "\"$ref\":\"#/components/schemas/Job\"}},\"next_cursor\":{\"type\":\"string\","
    "\"nullable\":true}}},"
    "\"Enqueued\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
    "\"state\":{\"type\":\"string\"}}},"
    "\"Changed\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
    "\"state\":{\"type\":\"string\"}}},"
    "\"Queues\":{\"type\":\"object\",\"properties\":{\"queues\":{\"type\":\"array\",\"items\":{"
    "\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
    "\"depth\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}},"
    "\"counters\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}},"
    "\"rates\":{\"type\":\"object\",\"nullable\":true,\"additionalProperties\":{"
    "\"type\":\"number\"}}}}}}},"
    "\"Schedules\":{\"type\":\"object\",\"properties\":{\"schedules\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
    "\"role\":{\"type\":\"string\"},\"cron\":{\"type\":\"string\"},\"tz\":{\"type\":\"string\"},"
    "\"action\":{\"type\":\"string\",\"enum\":[\"command\",\"http\"]},"
    "\"next\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"format\":\"date-time\"}},"
    "\"last_runs\":{\"type\":\"array\",\"nullable\":true,\"items\":{\"type\":\"object\"}}}}}}},"
    "\"Triggered\":{\"type\":\"object\",\"properties\":{\"schedule\":{\"type\":\"string\"},"
    "\"requested_at\":{\"type\":\"string\",\"format\":\"date-time\"}}},"
    "\"Health\":{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\"},"
    "\"redis\":{\"type\":\"object\"}}}"
    "}";

static char *openapi_build(const struct api *a)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.0.3");
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "roster jobs API");
    cJSON_AddStringToObject(info, "version", "1");
    cJSON_AddStringToObject(info, "description",
                            "Jobs on roster's Redis queue, and the schedules of its scheduler "
                            "roles. Every error is {\"error\":{\"code\",\"message\",\"field\"}}.");
    cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
    for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
        const struct route *r = &routes[i];
        cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, r->path);
        if (!item) item = cJSON_AddObjectToObject(paths, r->path);
        char method[8];
        size_t k = 0;
        for (; r->method[k] && k < sizeof method - 1; k++)
            method[k] = (char)(r->method[k] - 'A' + 'a');
        method[k] = '\0';
        cJSON *op = cJSON_AddObjectToObject(item, method);
        cJSON_AddStringToObject(op, "summary", r->summary);
        bool open = route_open(a, r);
        if (open) cJSON_AddItemToObject(op, "security", cJSON_CreateArray());
        cJSON *params = cJSON_CreateArray();
        if (strstr(r->path, "{id}")) add_param(params, "id", "path", true, "string", "a job id");
        if (strstr(r->path, "{name}"))
            add_param(params, "name", "path", true, "string", "a schedule's name");
        if (!strcmp(r->method, "GET") && !strcmp(r->path, "/jobs")) {
            add_param(params, "queue", "query", false, "string", "only this queue's jobs");
            add_param(params, "state", "query", false, "string",
                      "queued (default), delayed, active, done or dead");
            add_param(params, "limit", "query", false, "integer", "1 to 1000, default 50");
            add_param(params, "cursor", "query", false, "string", "next_cursor of the page before");
        }
        if (cJSON_GetArraySize(params))
            cJSON_AddItemToObject(op, "parameters", params);
        else
            cJSON_Delete(params);
        if (r->flags & R_BODY) {
            cJSON *body = cJSON_AddObjectToObject(op, "requestBody");
            cJSON_AddBoolToObject(body, "required", true);
            cJSON_AddItemToObject(body, "content", json_content(ref("JobNew")));
        }
        cJSON *resps = cJSON_AddObjectToObject(op, "responses");
        for (const char *p = r->responses; *p;) {
            int s = (int)strtol(p, (char **)&p, 10);
            add_response(resps, s, r->schema);
            while (*p == ' ')
                p++;
        }
        if (!open) add_response(resps, 401, NULL);
        if (!(r->flags & R_PUBLIC)) add_response(resps, 503, NULL);
    }
    cJSON *comp = cJSON_AddObjectToObject(doc, "components");
    cJSON_AddItemToObject(comp, "schemas", cJSON_Parse(schemas_json));
    cJSON *sec = cJSON_AddObjectToObject(comp, "securitySchemes");
    cJSON *bearer = cJSON_AddObjectToObject(sec, "bearer");
    cJSON_AddStringToObject(bearer, "type", "http");
    cJSON_AddStringToObject(bearer, "scheme", "bearer");
    cJSON *req = cJSON_CreateObject();
    cJSON_AddItemToObject(req, "bearer", cJSON_CreateArray());
    cJSON *secs = cJSON_AddArrayToObject(doc, "security");
    cJSON_AddItemToArray(secs, req);
    char *txt = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    char *out = xasprintf("%s\n", txt);
    free(txt);
    return out;
}

/* ---- the router ---- */

/* Constant-time in the token: every byte of what was given is compared, whatever matched. */
static bool token_ok(const char *want, const char *given, size_t glen)
{
    size_t wlen = strlen(want);
    unsigned char acc = (unsigned char)(wlen != glen);
    for (size_t i = 0; i < glen; i++)
        acc |= (unsigned char)(given[i] ^ want[i % wlen]);
    return acc == 0;
}

/* The request's bearer token, or NULL when it has no "Authorization: Bearer" header. */
static const char *bearer(const struct httpd_req *req)
{
    const char *h = httpd_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    const char *t = h + 7;
    while (*t == ' ')
        t++;
    return t;
}

/* RFC 6750: no credentials is 401 with a bare challenge; a wrong token is 401 with
 * error="invalid_token". Returns false when the request may not go on (answered). */
static bool authorized(struct api *a, struct httpd_req *req)
{
    const char *h = httpd_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        fail(req, 401, "unauthorized", "",
             h ? "the Authorization header is not \"Bearer TOKEN\""
               : "this needs the bearer token (Authorization: Bearer TOKEN)");
        httpd_add_header(req, "WWW-Authenticate", "Bearer realm=\"roster\"");
        return false;
    }
    const char *t = bearer(req);
    if (!token_ok(a->token, t, strlen(t))) {
        fail(req, 401, "invalid_token", "", "the bearer token is not this API's");
        httpd_add_header(req, "WWW-Authenticate",
                         "Bearer realm=\"roster\", error=\"invalid_token\"");
        return false;
    }
    return true;
}

/* The route of method and path, or NULL; allow (when given) gets the methods of the routes
 * of that path. */
static const struct route *route_find(const char *method, const char *path, struct match *m,
                                      char *allow, size_t allow_len)
{
    for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
        if (!path_match(routes[i].path, path, m)) continue;
        if (!strcmp(routes[i].method, method) ||
            (!strcmp(routes[i].method, "GET") && !strcmp(method, "HEAD")))
            return &routes[i];
        size_t n = allow ? strlen(allow) : 0;
        if (allow) snprintf(allow + n, allow_len - n, "%s%s", n ? ", " : "", routes[i].method);
    }
    return NULL;
}

/* The body filter: a request's body is kept only when its route reads one and the request may
 * go on (the token, unless the route is open); handle refuses the others, or answers them, without
 * it, so that no client can make the server hold max_body for each connection but one with the
 * token, enqueueing. */
static bool take_body(void *ud, const struct httpd_req *req)
{
    struct api *a = ud;
    struct match m;
    const struct route *r = route_find(req->method, req->path, &m, NULL, 0);
    if (a->stopping || !r || !(r->flags & R_BODY)) return false;
    if (route_open(a, r)) return true;
    const char *t = bearer(req);
    return t && token_ok(a->token, t, strlen(t));
}

static void handle(void *ud, struct httpd_req *req)
{
    struct api *a = ud;
    if (a->stopping) {
        fail(req, 503, "stopping", "", "the API is stopping; try again");
        return;
    }
    struct match m = {0};
    char allow[64] = "";
    const struct route *hit = route_find(req->method, req->path, &m, allow, sizeof allow);
    if (!hit && allow[0]) {
        static char allow_kept[64];
        snprintf(allow_kept, sizeof allow_kept, "%s", allow);
        char msg[128];
        snprintf(msg, sizeof msg, "%s is not allowed here (allowed: %s)", req->method, allow);
        fail(req, 405, "method_not_allowed", "", msg);
        req->allow = allow_kept;
        return;
    }
    if (!hit) {
        fail(req, 404, "not_found", "", "no such route (see /openapi.json)");
        return;
    }
    if (!route_open(a, hit) && !authorized(a, req)) return;
    if (hit->fn != get_jobs && !(hit->flags & R_PUBLIC) && (req->nargs || req->query_overflow)) {
        /* only GET /jobs reads a query: a parameter elsewhere is a mistake worth saying (a
         * probe's cache-busting query on /health is let be) */
        struct apireq_error e;
        apireq_fail(&e, 400, "unknown_parameter", req->nargs ? req->args[0].key : "",
                    "%s %s takes no query parameters ('%.40s' given)", hit->method, hit->path,
                    req->nargs ? req->args[0].key : "");
        answer_error(req, &e);
        return;
    }
    if (strstr(hit->path, "{id}") && !apireq_parse_id(m.seg, strlen(m.seg), &m.id)) {
        char msg[200];
        snprintf(msg, sizeof msg, "'%.64s' is no job id (a number from 1)", m.seg);
        fail(req, 404, "not_found", "", msg);
        return;
    }
    hit->fn(a, req, &m);
}

/* ---- the process ---- */

static void on_redis_state(void *ud, bool up, const char *err)
{
    (void)ud;
    if (up)
        printf("redis: connected\n");
    else
        printf("redis: down (%s)\n", err ? err : "?");
    fflush(stdout);
}

static void on_stop_timer(uv_timer_t *t)
{
    struct api *a = t->data;
    httpd_stop(a->http);
    a->http = NULL;
    /* the store's calls in flight are answered (failed) as the connection closes: the store
     * goes after */
    redisconn_close(a->redis);
    a->redis = NULL;
    jobs_store_free(a->store);
    a->store = NULL;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->stop_timer, NULL);
}

/* SIGTERM, SIGINT: requests waiting for Redis are answered 503 now (a JSON error, where
 * httpd_stop's would be a bare one), and so is any request that comes meanwhile; the server
 * stops API_STOP_GRACE_MS later, once those answers are written. Their Redis callbacks, when
 * they come, only free them. */
static void on_signal(uv_signal_t *h, int sig)
{
    struct api *a = h->data;
    (void)sig;
    if (a->stopping) return;
    a->stopping = true;
    for (struct call *c = a->calls; c; c = c->next) {
        if (!c->later) continue;
        struct httpd_req ans = call_reply();
        fail(&ans, 503, "stopping", "", "the API is stopping; try again");
        httpd_answer(c->later, &ans);
        sbuf_free(&ans.body);
        c->later = NULL;
    }
    uv_timer_start(&a->stop_timer, on_stop_timer, API_STOP_GRACE_MS, 0);
}

static int scheds_load(struct api *a, const struct roster_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->nroles; i++)
        if (cfg->roles[i].builtin == BUILTIN_SCHEDULER) n += cfg->roles[i].nschedules;
    a->scheds = xcalloc(n ? n : 1, sizeof *a->scheds);
    const char *dir = getenv("TZDIR"), *deflt = getenv("TZ");
    for (size_t i = 0; i < cfg->nroles; i++) {
        const struct role_config *r = &cfg->roles[i];
        for (size_t k = 0; r->builtin == BUILTIN_SCHEDULER && k < r->nschedules; k++) {
            struct api_sched *s = &a->scheds[a->nscheds];
            s->cfg = &r->schedules[k];
            s->role = r->name;
            struct cron_error ce;
            const char *zone = s->cfg->tz ? s->cfg->tz : deflt && *deflt ? deflt : "UTC";
            if (cron_parse(s->cfg->cron, &s->cron, &ce) != CRON_OK ||
                tz_load(zone, dir, &s->tz) != TZ_OK) {
                fprintf(stderr, "roster role %s: schedule %s: cannot read its cron or zone\n",
                        a->role, s->cfg->name);
                return -1;
            }
            a->nscheds++;
        }
    }
    return 0;
}

int api_main(const struct roster_config *cfg, const char *role, char **environ_)
{
    const struct role_config *rc = config_find_role(cfg, role);
    if (!rc || rc->builtin != BUILTIN_API) {
        fprintf(stderr, "roster role: '%s' is no role with builtin: api in %s\n", role, cfg->path);
        return 2;
    }
    const char *token = NULL, *port_env = NULL;
    for (char **e = environ_; e && *e; e++) {
        if (!strncmp(*e, "ROSTER_API_TOKEN=", 17)) token = *e + 17;
        if (!strncmp(*e, "PORT=", 5)) port_env = *e + 5;
    }
    if (!token || !*token) {
        fprintf(stderr,
                "roster role %s: ROSTER_API_TOKEN is not set: the jobs API does not start "
                "without a bearer token (set it in the role's env:, e.g. "
                "ROSTER_API_TOKEN: \"$${API_TOKEN}\" read from the environment)\n",
                role);
        return 2;
    }
    if (!cfg->redis.enabled || !cfg->redis.url) {
        fprintf(stderr, "roster role %s: builtin: api needs redis: (the job store) in %s\n", role,
                cfg->path);
        return 2;
    }
    /* roster killed outright (SIGKILL) cannot stop its roles: this one then stops itself */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct api a = {.loop = &loop,
                    .role = role,
                    .app = cfg->app,
                    .token = xstrdup(token),
                    .public_reads = rc->api_public_reads};
    int ret = 0;
    char err[256];
    if (lazylib_require(LAZYLIB_BIT(LAZYLIB_MHD), err, sizeof err) < 0) {
        fprintf(stderr, "roster role %s: %s\n", role, err);
        ret = 2;
        goto out;
    }
    if (scheds_load(&a, cfg) < 0) {
        ret = 2;
        goto out;
    }
    a.openapi = openapi_build(&a);
    struct redisconn_opts ro = {.url = cfg->redis.url, .command_timeout_ms = 5000};
    a.redis = redisconn_new(&loop, &ro, on_redis_state, &a, err, sizeof err);
    if (!a.redis) {
        fprintf(stderr, "roster role %s: redis: %s\n", role, err);
        ret = 2;
        goto out;
    }
    a.store = jobs_store_new(&loop, a.redis, cfg->app);
    int port = port_env && *port_env ? atoi(port_env) : rc->port;
    char listen[32];
    /* every interface, as a web app listens on $PORT: the token guards it */
    snprintf(listen, sizeof listen, "0.0.0.0:%d", port);
    int fd = httpd_listen_tcp(listen, NULL);
    if (fd < 0) {
        fprintf(stderr, "roster role %s: cannot listen on %s: %s\n", role, listen, strerror(-fd));
        ret = 1;
        goto out;
    }
    struct httpd_limits lim = {.connections = 256,
                               .timeout_s = 30,
                               .memory = 32 * 1024,
                               .header_deadline_ms = 10000,
                               .per_client = 64,
                               .reserve = 16,
                               .max_body =
                                   rc->api_max_body ? rc->api_max_body : CONFIG_API_MAX_BODY};
    a.http = httpd_start(&loop, fd, &lim, handle, &a, err, sizeof err);
    if (!a.http) {
        fprintf(stderr, "roster role %s: %s\n", role, err);
        ret = 1;
        goto out;
    }
    httpd_set_body_filter(a.http, take_body);
    redisconn_start(a.redis);
    uv_signal_init(&loop, &a.sigterm);
    uv_signal_init(&loop, &a.sigint);
    uv_timer_init(&loop, &a.stop_timer);
    a.sigterm.data = a.sigint.data = a.stop_timer.data = &a;
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    /* never the token: only whether reads need it */
    printf("jobs API on port %d (%zu schedule%s; reads %s)\n", port, a.nscheds,
           a.nscheds == 1 ? "" : "s", a.public_reads ? "public" : "need the token");
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
out:
    if (a.http) httpd_stop(a.http);
    if (a.redis) redisconn_close(a.redis);
    if (a.store) jobs_store_free(a.store);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    for (size_t i = 0; i < a.nscheds; i++)
        tz_free(&a.scheds[i].tz);
    free(a.scheds);
    free(a.openapi);
    free(a.token);
    free(a.prev.qs);
    free(a.cur.qs);
    return ret;
}
