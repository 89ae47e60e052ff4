/* jobs_client.c — a test program that runs job store operations (src/jobs/store.h) against a
 * real Redis and prints each outcome as one JSON line, so the end-to-end tests (the job store's,
 * the worker's, the api's) can drive the store without a role around it.
 *
 *   jobs_client REDIS_URL APP          reads operations from stdin, one JSON array a line
 *   jobs_client REDIS_URL APP 'OP'     runs the one operation OP (a JSON array)
 *
 * Operations, each answered with {"ok":true,...} or {"ok":false,"err":NAME,"detail":TEXT}:
 *   ["enqueue", {"queue","type","payload"(any JSON; a string is sent as its text with "raw":
 *                true),"delay_ms","run_at_ms","unique","max_attempts"}]   → "id"
 *   ["fetch", WORKER, [QUEUES], [WEIGHTS]]                              → "job" (or null)
 *   ["fetchn", WORKER, [QUEUES], [WEIGHTS], N]  N fetches (stops at none) → "by_queue", "ids"
 *   ["fetchpar", WORKER, [QUEUES], [WEIGHTS], N]  N fetches in flight at once (N ≤ 16) → "ids"
 *                                                 (0 for none), "errs" (answers not ok)
 *   ["done", WORKER, ID]  ["fail", WORKER, ID, ERROR, RETRY_AT_MS]       → "state" (fail)
 *   ["heartbeat", WORKER, TTL_MS]  ["reap", LOCK_TTL_MS]  ["requeue", WORKER]  → "n"
 *   ["promote", MAX]                                                    → "n", "next_ms"
 *   ["get", ID]  ["retry", ID]  ["cancel", ID]  ["queues"]  ["eviction"] → "policy", "safe"
 *   ["list", QUEUE, STATE, LIMIT, CURSOR|null]                          → "jobs", "next"
 *   ["raw", [ARGV...], TIMEOUT_MS]   redisconn_command itself            → "reply" or err
 *   ["raw_close", [ARGV...], TIMEOUT_MS, N]  N such commands in flight at once; the first
 *                     callback closes the connection → "answers" (each callback's ok/err, in
 *                     the order called); the client can run nothing on Redis after it, and exits
 *                     3 if the connection's state callback runs after the close or a command's
 *                     callback runs twice
 *   ["wait_ms", MS]   waits on the loop (no store call)
 *   ["wake_listen"]   subscribes a second connection to the wake channel → when subscribed
 *   ["wake_wait", QUEUE, TIMEOUT_MS]  waits for a wake message naming QUEUE (one received since
 *                     the last wake_wait counts) → "waited_us", "subscribes" (times the
 *                     subscription was made); err "timeout" when none came
 * Exit: 0 when every line was run (whatever each answered), 1 when Redis never came up
 * (connect timeout 3 s), 2 on a malformed operation. */
#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "datastore/redisconn.h"
#include "jobs/store.h"

static uv_loop_t *loop;
static struct redisconn *conn;
static struct jobs_store *st;
static const char *one_op;
static int exit_code;
static uv_timer_t timer;
static bool started;

/* the wake channel's listener */
static struct redisconn *sub;
static int subscribes;
static bool listen_pending;  /* wake_listen waits for its first subscribe */
static char *wake_want;      /* wake_wait's queue while it waits */
static uint64_t wake_since;  /* when wake_wait began (uv_hrtime) */
static char woke[JOBS_FETCH_QUEUES_MAX][JOBS_NAME_MAX + 1]; /* queues woken, not yet waited */
static int nwoke;

/* fetchn's tally */
static struct {
    cJSON *op;
    long left;
    cJSON *by_queue, *ids;
} fn;

static void next_op(void);

static void emit(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    cJSON_Delete(o);
}

static const char *err_name(enum jobs_err e)
{
    static const char *names[] = {"ok",       "invalid", "down",      "redis", "notfound",
                                  "unique",   "state",   "notactive", "nosys"};
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "?";
}

static cJSON *result_json(const struct jobs_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", r->err == JOBS_OK);
    if (r->err != JOBS_OK) {
        cJSON_AddStringToObject(o, "err", err_name(r->err));
        cJSON_AddStringToObject(o, "detail", r->detail);
        if (r->err == JOBS_E_STATE || r->err == JOBS_E_NOTACTIVE)
            cJSON_AddStringToObject(o, "state", job_state_name(r->state));
    }
    return o;
}

static cJSON *job_json(const struct job *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddStringToObject(o, "queue", j->queue);
    cJSON_AddStringToObject(o, "type", j->type);
    char *pl = strndup(j->payload, j->payload_len);
    cJSON_AddStringToObject(o, "payload", pl);
    free(pl);
    cJSON_AddStringToObject(o, "state", job_state_name(j->state));
    cJSON_AddNumberToObject(o, "attempts", j->attempts);
    cJSON_AddNumberToObject(o, "max_attempts", j->max_attempts);
    cJSON_AddNumberToObject(o, "created_at", (double)j->created_at);
    cJSON_AddNumberToObject(o, "run_at", (double)j->run_at);
    cJSON_AddNumberToObject(o, "started_at", (double)j->started_at);
    cJSON_AddNumberToObject(o, "finished_at", (double)j->finished_at);
    cJSON_AddStringToObject(o, "last_error", j->last_error);
    cJSON_AddStringToObject(o, "unique", j->unique);
    cJSON_AddStringToObject(o, "worker", j->worker);
    return o;
}

static void on_result(void *ud, const struct jobs_result *r)
{
    const char *op = ud;
    cJSON *o = result_json(r);
    if (!strcmp(op, "enqueue") && (r->err == JOBS_OK || r->err == JOBS_E_UNIQUE))
        cJSON_AddNumberToObject(o, "id", (double)r->id);
    if (!strcmp(op, "fail") && r->err == JOBS_OK)
        cJSON_AddStringToObject(o, "state", job_state_name(r->state));
    if (!strcmp(op, "heartbeat") || !strcmp(op, "reap") || !strcmp(op, "requeue") ||
        !strcmp(op, "promote"))
        cJSON_AddNumberToObject(o, "n", (double)r->n);
    if (!strcmp(op, "promote")) cJSON_AddNumberToObject(o, "next_ms", (double)r->next_ms);
    if (!strcmp(op, "eviction") && r->err == JOBS_OK) {
        cJSON_AddStringToObject(o, "policy", r->detail);
        cJSON_AddBoolToObject(o, "safe", r->n == 1);
    }
    emit(o);
    next_op();
}

static void on_job(void *ud, const struct jobs_result *r, const struct job *j)
{
    (void)ud;
    cJSON *o = result_json(r);
    if (r->err == JOBS_OK) cJSON_AddItemToObject(o, "job", j ? job_json(j) : cJSON_CreateNull());
    emit(o);
    next_op();
}

static void on_list(void *ud, const struct jobs_result *r, const struct job *jobs, size_t n,
                    const char *next)
{
    (void)ud;
    cJSON *o = result_json(r);
    if (r->err == JOBS_OK) {
        cJSON *a = cJSON_AddArrayToObject(o, "jobs");
        for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, job_json(&jobs[i]));
        cJSON_AddItemToObject(o, "next", next ? cJSON_CreateString(next) : cJSON_CreateNull());
    }
    emit(o);
    next_op();
}

static void on_queues(void *ud, const struct jobs_result *r, const struct jobs_queue_stat *qs,
                      size_t n)
{
    (void)ud;
    cJSON *o = result_json(r);
    if (r->err == JOBS_OK) {
        cJSON *a = cJSON_AddObjectToObject(o, "queues");
        for (size_t i = 0; i < n; i++) {
            cJSON *q = cJSON_AddObjectToObject(a, qs[i].name);
            for (int s = 0; s < JOB_STATE_COUNT; s++)
                if (s != JOB_CANCELLED)
                    cJSON_AddNumberToObject(q, job_state_name((enum job_state)s),
                                            (double)qs[i].depth[s]);
            cJSON_AddNumberToObject(q, "enqueued_total", (double)qs[i].enqueued);
            cJSON_AddNumberToObject(q, "done_total", (double)qs[i].done);
            cJSON_AddNumberToObject(q, "failed_total", (double)qs[i].failed);
            cJSON_AddNumberToObject(q, "retried_total", (double)qs[i].retried);
            cJSON_AddNumberToObject(q, "dead_total", (double)qs[i].dead);
            cJSON_AddNumberToObject(q, "cancelled_total", (double)qs[i].cancelled);
        }
    }
    emit(o);
    next_op();
}

static cJSON *reply_json(const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_INTEGER: return cJSON_CreateNumber((double)r->integer);
    case REDIS_REPLY_NIL: return cJSON_CreateNull();
    case REDIS_REPLY_ARRAY: {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < r->elements; i++) cJSON_AddItemToArray(a, reply_json(r->element[i]));
        return a;
    }
    default: return cJSON_CreateString(r->str);
    }
}

static void on_next(uv_timer_t *t);

/* raw_close's tally */
static struct {
    int sent, answered;
    bool closed;
    cJSON *answers;
} rc_;

static void on_raw_close(void *ud, struct redisReply *r, const char *err)
{
    int i = (int)(intptr_t)ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "i", i);
    cJSON_AddBoolToObject(o, "ok", r && r->type != REDIS_REPLY_ERROR);
    if (!r) cJSON_AddStringToObject(o, "err", err ? err : "");
    cJSON_AddItemToArray(rc_.answers, o);
    if (++rc_.answered > rc_.sent) {
        fprintf(stderr, "jobs_client: a command's callback ran twice\n");
        exit_code = 3;
    }
    if (!rc_.closed) {
        rc_.closed = true;
        redisconn_close(conn);
        conn = NULL; /* freed once its handles close */
    }
    if (rc_.answered == rc_.sent) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddBoolToObject(a, "ok", true);
        cJSON_AddItemToObject(a, "answers", rc_.answers);
        rc_.answers = NULL;
        emit(a);
        uv_timer_start(&timer, on_next, 0, 0); /* not on hiredis's stack */
    }
}

static void on_raw(void *ud, struct redisReply *r, const char *err)
{
    (void)ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", r && r->type != REDIS_REPLY_ERROR);
    if (!r) {
        cJSON_AddStringToObject(o, "err", "redis");
        cJSON_AddStringToObject(o, "detail", err ? err : "");
    } else {
        cJSON_AddItemToObject(o, "reply", reply_json(r));
    }
    emit(o);
    next_op();
}

static void on_fetchn(void *ud, const struct jobs_result *r, const struct job *j);

static enum jobs_err fetch_from(cJSON *op, jobs_job_cb cb)
{
    const char *w = cJSON_GetStringValue(cJSON_GetArrayItem(op, 1));
    cJSON *qa = cJSON_GetArrayItem(op, 2), *wa = cJSON_GetArrayItem(op, 3);
    /* room for more than the store takes, so its refusal is what a test sees */
    const char *qs[2 * JOBS_FETCH_QUEUES_MAX];
    unsigned ws[2 * JOBS_FETCH_QUEUES_MAX];
    int n = cJSON_GetArraySize(qa);
    if (n > 2 * JOBS_FETCH_QUEUES_MAX) n = 2 * JOBS_FETCH_QUEUES_MAX;
    for (int i = 0; i < n; i++) {
        qs[i] = cJSON_GetStringValue(cJSON_GetArrayItem(qa, i));
        cJSON *wi = cJSON_GetArrayItem(wa, i);
        ws[i] = wi ? (unsigned)wi->valuedouble : 1;
    }
    return jobs_fetch(st, w, qs, ws, (size_t)n, cb, NULL);
}

static void fetchn_end(const struct jobs_result *r)
{
    cJSON *o = result_json(r);
    cJSON_AddItemToObject(o, "by_queue", fn.by_queue);
    cJSON_AddItemToObject(o, "ids", fn.ids);
    fn.by_queue = fn.ids = NULL;
    emit(o);
    next_op();
}

static void on_fetchn(void *ud, const struct jobs_result *r, const struct job *j)
{
    (void)ud;
    if (r->err != JOBS_OK || !j) {
        fetchn_end(r);
        return;
    }
    cJSON *c = cJSON_GetObjectItem(fn.by_queue, j->queue);
    if (c) cJSON_SetNumberValue(c, c->valuedouble + 1);
    else cJSON_AddNumberToObject(fn.by_queue, j->queue, 1);
    cJSON_AddItemToArray(fn.ids, cJSON_CreateNumber((double)j->id));
    if (--fn.left <= 0) {
        fetchn_end(r);
        return;
    }
    enum jobs_err e = fetch_from(fn.op, on_fetchn);
    if (e != JOBS_OK) {
        struct jobs_result x = {.err = e, .detail = jobs_strerror(e)};
        fetchn_end(&x);
    }
}

/* fetchpar's tally */
static struct {
    int left;
    cJSON *ids, *errs;
} fp;

/* One fetch of fetchpar answered; the last answers the operation (from the next loop turn when
 * sync: a refusal inside run()). */
static void fetchpar_one(const struct jobs_result *r, const struct job *j, bool sync)
{
    if (r->err != JOBS_OK) cJSON_AddItemToArray(fp.errs, result_json(r));
    else cJSON_AddItemToArray(fp.ids, cJSON_CreateNumber(j ? (double)j->id : 0));
    if (--fp.left > 0) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", cJSON_GetArraySize(fp.errs) == 0);
    cJSON_AddItemToObject(o, "ids", fp.ids);
    cJSON_AddItemToObject(o, "errs", fp.errs);
    fp.ids = fp.errs = NULL;
    emit(o);
    if (sync) uv_timer_start(&timer, on_next, 0, 0);
    else next_op();
}

static void on_fetchpar(void *ud, const struct jobs_result *r, const struct job *j)
{
    (void)ud;
    fetchpar_one(r, j, false);
}

static void on_next(uv_timer_t *t)
{
    (void)t;
    next_op();
}

static void wake_answer(bool ok)
{
    uv_timer_stop(&timer);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", ok);
    if (!ok) cJSON_AddStringToObject(o, "err", "timeout");
    cJSON_AddNumberToObject(o, "waited_us", (double)((uv_hrtime() - wake_since) / 1000));
    cJSON_AddNumberToObject(o, "subscribes", subscribes);
    free(wake_want);
    wake_want = NULL;
    emit(o);
    uv_timer_start(&timer, on_next, 0, 0); /* not on hiredis's stack, nor run()'s */
}

/* A queue woken while wake_wait looks for it answers it; else it is kept (bounded). */
static bool take_woken(const char *q)
{
    for (int i = 0; i < nwoke; i++)
        if (!strcmp(woke[i], q)) {
            memmove(woke[i], woke[i + 1], (size_t)(nwoke - i - 1) * sizeof woke[0]);
            nwoke--;
            return true;
        }
    return false;
}

static void on_wake(void *ud, const char *channel, const char *msg, size_t len)
{
    (void)ud;
    (void)channel;
    if (!msg) {
        subscribes++;
        if (listen_pending) {
            listen_pending = false;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddBoolToObject(o, "ok", true);
            emit(o);
            uv_timer_start(&timer, on_next, 0, 0);
        }
        return;
    }
    if (wake_want && len == strlen(wake_want) && !memcmp(msg, wake_want, len)) {
        wake_answer(true);
        return;
    }
    if (len <= JOBS_NAME_MAX && nwoke < JOBS_FETCH_QUEUES_MAX) {
        for (int i = 0; i < nwoke; i++)
            if (strlen(woke[i]) == len && !memcmp(woke[i], msg, len)) return;
        memcpy(woke[nwoke], msg, len);
        woke[nwoke++][len] = '\0';
    }
}

static void on_wake_timeout(uv_timer_t *t)
{
    (void)t;
    wake_answer(false);
}


static void on_wait(uv_timer_t *t)
{
    (void)t;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", true);
    emit(o);
    next_op();
}

static cJSON *cur_op;
static const char *redis_url;

static void on_sub_state(void *ud, bool up, const char *err)
{
    (void)ud;
    (void)up;
    (void)err;
}

static uint64_t num(cJSON *op, int i)
{
    cJSON *v = cJSON_GetArrayItem(op, i);
    return v && cJSON_IsNumber(v) ? (uint64_t)v->valuedouble : 0;
}

static const char *str(cJSON *op, int i)
{
    return cJSON_GetStringValue(cJSON_GetArrayItem(op, i));
}

/* Runs one operation; false when it is malformed. */
static bool run(cJSON *op)
{
    const char *name = str(op, 0);
    if (!cJSON_IsArray(op) || !name) return false;
    enum jobs_err e = JOBS_OK;
    static char payload_buf[2 * JOBS_PAYLOAD_MAX + 64];
    if (!strcmp(name, "enqueue")) {
        cJSON *a = cJSON_GetArrayItem(op, 1);
        struct job_new j = {0};
        j.queue = cJSON_GetStringValue(cJSON_GetObjectItem(a, "queue"));
        j.type = cJSON_GetStringValue(cJSON_GetObjectItem(a, "type"));
        cJSON *pl = cJSON_GetObjectItem(a, "payload");
        if (pl && cJSON_IsTrue(cJSON_GetObjectItem(a, "raw"))) j.payload = cJSON_GetStringValue(pl);
        else if (pl && cJSON_PrintPreallocated(pl, payload_buf, sizeof payload_buf, false))
            j.payload = payload_buf;
        cJSON *v;
        if ((v = cJSON_GetObjectItem(a, "delay_ms"))) j.delay_ms = (int64_t)v->valuedouble;
        if ((v = cJSON_GetObjectItem(a, "run_at_ms"))) j.run_at_ms = (int64_t)v->valuedouble;
        if ((v = cJSON_GetObjectItem(a, "max_attempts"))) j.max_attempts = (int)v->valuedouble;
        j.unique = cJSON_GetStringValue(cJSON_GetObjectItem(a, "unique"));
        char err[256];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (jobs_validate(&j, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, err, sizeof err)) {
            struct jobs_result r = {.err = JOBS_E_INVALID, .detail = err};
            emit(result_json(&r));
            uv_timer_start(&timer, on_next, 0, 0);
            return true;
        }
        e = jobs_enqueue(st, &j, on_result, "enqueue");
    } else if (!strcmp(name, "fetch")) {
        e = fetch_from(op, on_job);
    } else if (!strcmp(name, "fetchn")) {
        fn.op = op;
        fn.left = (long)num(op, 4);
        fn.by_queue = cJSON_CreateObject();
        fn.ids = cJSON_CreateArray();
        e = fetch_from(op, on_fetchn);
    } else if (!strcmp(name, "fetchpar")) {
        int n = (int)num(op, 4);
        if (n < 1 || n > 16) return false;
        fp.ids = cJSON_CreateArray();
        fp.errs = cJSON_CreateArray();
        fp.left = n;
        for (int i = 0; i < n; i++) {
            enum jobs_err fe = fetch_from(op, on_fetchpar);
            if (fe != JOBS_OK) {
                struct jobs_result x = {.err = fe, .detail = jobs_strerror(fe)};
                fetchpar_one(&x, NULL, true);
            }
        }
        return true;
    } else if (!strcmp(name, "done")) {
        e = jobs_done(st, str(op, 1), num(op, 2), on_result, "done");
    } else if (!strcmp(name, "fail")) {
        e = jobs_fail(st, str(op, 1), num(op, 2), str(op, 3), (int64_t)num(op, 4), on_result,
                      "fail");
    } else if (!strcmp(name, "heartbeat")) {
        e = jobs_heartbeat(st, str(op, 1), num(op, 2), on_result, "heartbeat");
    } else if (!strcmp(name, "reap")) {
        e = jobs_reap(st, num(op, 1), on_result, "reap");
    } else if (!strcmp(name, "requeue")) {
        e = jobs_requeue_active(st, str(op, 1), on_result, "requeue");
    } else if (!strcmp(name, "promote")) {
        e = jobs_promote(st, (long)num(op, 1), on_result, "promote");
    } else if (!strcmp(name, "get")) {
        e = jobs_get(st, num(op, 1), on_job, NULL);
    } else if (!strcmp(name, "retry")) {
        e = jobs_retry(st, num(op, 1), on_result, "retry");
    } else if (!strcmp(name, "cancel")) {
        e = jobs_cancel(st, num(op, 1), on_result, "cancel");
    } else if (!strcmp(name, "queues")) {
        e = jobs_queues(st, on_queues, NULL);
    } else if (!strcmp(name, "eviction")) {
        e = jobs_check_eviction(st, on_result, "eviction");
    } else if (!strcmp(name, "list")) {
        enum job_state s = JOB_QUEUED;
        if (!job_state_parse(str(op, 2), &s)) s = JOB_CANCELLED; /* refused by jobs_list */
        e = jobs_list(st, str(op, 1), s, (int)num(op, 3), str(op, 4), on_list, NULL);
    } else if (!strcmp(name, "raw")) {
        cJSON *a = cJSON_GetArrayItem(op, 1);
        const char *argv[64];
        int n = cJSON_GetArraySize(a);
        if (n < 1 || n > 64) return false;
        for (int i = 0; i < n; i++) argv[i] = cJSON_GetStringValue(cJSON_GetArrayItem(a, i));
        int rc = redisconn_command(conn, on_raw, NULL, n, argv, NULL, num(op, 2));
        if (rc < 0) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddBoolToObject(o, "ok", false);
            cJSON_AddStringToObject(o, "err", "down");
            cJSON_AddNumberToObject(o, "errno", -rc);
            emit(o);
            uv_timer_start(&timer, on_next, 0, 0);
        }
        return true;
    } else if (!strcmp(name, "raw_close")) {
        cJSON *a = cJSON_GetArrayItem(op, 1);
        const char *argv[64];
        int n = cJSON_GetArraySize(a), copies = (int)num(op, 3);
        if (n < 1 || n > 64 || copies < 1 || copies > 100 || rc_.sent) return false;
        for (int i = 0; i < n; i++) argv[i] = cJSON_GetStringValue(cJSON_GetArrayItem(a, i));
        rc_.answers = cJSON_CreateArray();
        for (int i = 0; i < copies; i++)
            if (redisconn_command(conn, on_raw_close, (void *)(intptr_t)i, n, argv, NULL,
                                  num(op, 2)) == 0)
                rc_.sent++;
        if (!rc_.sent) return false;
        return true;
    } else if (!strcmp(name, "wake_listen")) {
        char err[256];
        struct redisconn_opts o = {.url = redis_url, .connect_timeout_ms = 3000};
        if (sub) return false;
        sub = redisconn_new(loop, &o, on_sub_state, NULL, err, sizeof err);
        if (!sub || redisconn_subscribe(sub, jobs_wake_channel(st), on_wake, NULL) < 0)
            return false;
        listen_pending = true;
        redisconn_start(sub);
        return true;
    } else if (!strcmp(name, "wake_wait")) {
        const char *q = str(op, 1);
        if (!sub || !q) return false;
        wake_since = uv_hrtime();
        if (take_woken(q)) {
            wake_want = strdup(q);
            wake_answer(true);
            return true;
        }
        wake_want = strdup(q);
        uv_timer_start(&timer, on_wake_timeout, num(op, 2), 0);
        return true;
    } else if (!strcmp(name, "wait_ms")) {
        uv_timer_start(&timer, on_wait, num(op, 1), 0);
        return true;
    } else {
        return false;
    }
    if (e != JOBS_OK) {
        struct jobs_result r = {.err = e, .detail = jobs_strerror(e)};
        emit(result_json(&r));
        if (fn.by_queue) {
            cJSON_Delete(fn.by_queue);
            cJSON_Delete(fn.ids);
            fn.by_queue = fn.ids = NULL;
        }
        /* nothing is in flight: go on from the next loop turn */
        uv_timer_start(&timer, on_next, 0, 0);
    }
    return true;
}

static void finish_all(void)
{
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
    if (sub) redisconn_close(sub);
    jobs_store_free(st);
    st = NULL;
    redisconn_close(conn);
}

/* stdin, read on the loop (a blocking read would hold the loop's timers, reconnects among
 * them, while the test is between two operations). */
static uv_pipe_t in;
static char *inbuf;
static size_t inlen;
static bool in_eof, busy;
#define INBUF_MAX (4 * JOBS_PAYLOAD_MAX)

static void stop_input(void)
{
    if (!one_op && !uv_is_closing((uv_handle_t *)&in)) uv_close((uv_handle_t *)&in, NULL);
}

/* The next line of stdin (or the one operation), run; at the end, everything closed. */
static void next_op(void)
{
    if (cur_op) cJSON_Delete(cur_op), cur_op = NULL;
    busy = false;
    for (;;) {
        char *text;
        if (one_op) {
            if (one_op == (const char *)1) break;
            text = strdup(one_op);
            one_op = (const char *)1;
        } else {
            char *nl = inbuf ? memchr(inbuf, '\n', inlen) : NULL;
            if (!nl) {
                if (!in_eof) return; /* on_read calls again */
                if (inlen == 0) break;
                nl = inbuf + inlen; /* a last line without its newline */
                inbuf = realloc(inbuf, inlen + 1);
                nl = inbuf + inlen;
                inlen++;
            }
            *nl = '\0';
            size_t n = (size_t)(nl - inbuf) + 1;
            text = strdup(inbuf);
            memmove(inbuf, inbuf + n, inlen - n);
            inlen -= n;
            if (text[strspn(text, " \t\r")] == '\0') {
                free(text);
                continue;
            }
        }
        cur_op = cJSON_Parse(text);
        busy = true;
        if (!cur_op || !run(cur_op)) {
            fprintf(stderr, "jobs_client: malformed operation: %.200s\n", text);
            free(text);
            exit_code = 2;
            break;
        }
        free(text);
        return;
    }
    busy = true; /* done: nothing more is run */
    stop_input();
    finish_all();
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *buf)
{
    (void)h;
    (void)want;
    static char chunk[65536];
    *buf = uv_buf_init(chunk, sizeof chunk);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)s;
    if (n < 0) {
        in_eof = true;
        uv_read_stop((uv_stream_t *)&in);
    } else if (n > 0) {
        if (inlen + (size_t)n > INBUF_MAX) {
            fprintf(stderr, "jobs_client: a line longer than %d bytes\n", INBUF_MAX);
            exit(2);
        }
        inbuf = realloc(inbuf, inlen + (size_t)n + 1);
        memcpy(inbuf + inlen, buf->base, (size_t)n);
        inlen += (size_t)n;
    }
    if (!busy && started) next_op();
}

static void on_state(void *ud, bool up, const char *err)
{
    (void)ud;
    if (rc_.closed) {
        fprintf(stderr, "jobs_client: the state callback ran after redisconn_close (%s)\n",
                up ? "up" : err ? err : "down");
        exit_code = 3;
        return;
    }
    if (up && !started) {
        started = true;
        uv_timer_stop(&timer);
        next_op();
    } else if (!up && !started) {
        (void)err;
    }
}

static void on_connect_timeout(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "jobs_client: Redis did not come up: %s\n",
            redisconn_error(conn) ? redisconn_error(conn) : "?");
    exit_code = 1;
    started = true;
    stop_input();
    finish_all();
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: jobs_client REDIS_URL APP ['[\"OP\", ...]']\n");
        return 2;
    }
    one_op = argc == 4 ? argv[3] : NULL;
    redis_url = argv[1];
    loop = uv_default_loop();
    char err[256];
    struct redisconn_opts o = {.url = argv[1], .connect_timeout_ms = 3000};
    conn = redisconn_new(loop, &o, on_state, NULL, err, sizeof err);
    if (!conn) {
        fprintf(stderr, "jobs_client: %s\n", err);
        return 1;
    }
    st = jobs_store_new(loop, conn, argv[2]);
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, on_connect_timeout, 3000, 0);
    if (!one_op) {
        uv_pipe_init(loop, &in, 0);
        uv_pipe_open(&in, 0);
        uv_read_start((uv_stream_t *)&in, on_alloc, on_read);
    }
    redisconn_start(conn);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    free(inbuf);
    return exit_code;
}
