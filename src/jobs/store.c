/* store.c — the job store on Redis (see store.h for the keys): the calls, their Lua scripts and
 * the parsing of what they answer. */
#include "jobs/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "datastore/redisconn.h"
#include "jobs/scripts.h"
#include "jobs/sha1.h"

/* Unanswered fetches a store remembers (jobs_store.lost). */
#define LOST_FETCHES_MAX 64

struct jobs_store {
    uv_loop_t *loop;
    struct redisconn *conn;
    char *prefix;
    char *wake;
    struct jobs_retention ret;
    char sha[JS_COUNT][41]; /* each script's SHA-1, for EVALSHA */
    uint64_t seed;          /* xorshift state: the weighted pick of jobs_fetch, fetch tokens */
    /* Fetches sent and never answered (timed out, connection lost): each may have moved a job
     * into its worker's active list. The worker's next fetch asks for that job again (oldest
     * first); a fetch's answer settles its entry. Bounded: beyond it the oldest is forgotten. */
    struct {
        char worker[JOBS_WORKER_MAX + 1];
        char token[17];
    } lost[LOST_FETCHES_MAX];
    int nlost;
};

const char *jobs_strerror(enum jobs_err e)
{
    switch (e) {
    case JOBS_OK: return "ok";
    case JOBS_E_INVALID: return "invalid job or argument";
    case JOBS_E_DOWN: return "Redis is not connected";
    case JOBS_E_REDIS: return "Redis command failed";
    case JOBS_E_NOTFOUND: return "no such job";
    case JOBS_E_UNIQUE: return "unique key taken";
    case JOBS_E_STATE: return "not allowed in the job's state";
    case JOBS_E_NOTACTIVE: return "job no longer active on this worker";
    case JOBS_E_NOSYS: return "not implemented";
    }
    return "unknown error";
}

static const char *const state_names[JOB_STATE_COUNT] = {"queued", "delayed", "active",
                                                         "done",   "dead",    "cancelled"};

const char *job_state_name(enum job_state s)
{
    return (unsigned)s < JOB_STATE_COUNT ? state_names[s] : "?";
}

bool job_state_parse(const char *name, enum job_state *out)
{
    for (int i = 0; name && i < JOB_STATE_COUNT; i++)
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum job_state)i;
            return true;
        }
    return false;
}

struct job *job_copy(const struct job *j)
{
    struct job *c = xcalloc(1, sizeof *c);
    *c = *j;
    c->queue = xstrdup(j->queue);
    c->type = xstrdup(j->type);
    c->payload = xmalloc(j->payload_len + 1);
    memcpy(c->payload, j->payload, j->payload_len);
    c->payload[j->payload_len] = '\0';
    c->last_error = xstrdup(j->last_error);
    c->unique = xstrdup(j->unique);
    c->worker = xstrdup(j->worker);
    return c;
}

void job_free(struct job *j)
{
    if (!j) return;
    free(j->queue);
    free(j->type);
    free(j->payload);
    free(j->last_error);
    free(j->unique);
    free(j->worker);
    free(j);
}

struct jobs_store *jobs_store_new(uv_loop_t *loop, struct redisconn *conn, const char *app)
{
    if (!loop || !conn || !app || !*app) return NULL;
    struct jobs_store *st = xcalloc(1, sizeof *st);
    st->loop = loop;
    st->conn = conn;
    st->prefix = xasprintf("roster:%s:jobs:", app);
    st->wake = xasprintf("%swake", st->prefix);
    jobs_store_set_retention(st, NULL);
    for (int i = 0; i < JS_COUNT; i++)
        jobs_sha1_hex(jobs_scripts[i].lua, strlen(jobs_scripts[i].lua), st->sha[i]);
    st->seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid() << 17 ^ (uintptr_t)st;
    if (!st->seed) st->seed = 1;
    return st;
}

void jobs_store_set_retention(struct jobs_store *st, const struct jobs_retention *r)
{
    struct jobs_retention d = {7 * 24 * 3600 * 1000LL, 10000, 24 * 3600 * 1000LL, 10000};
    if (r) {
        if (r->dead_max_age_ms > 0) d.dead_max_age_ms = r->dead_max_age_ms;
        if (r->dead_max_jobs > 0) d.dead_max_jobs = r->dead_max_jobs;
        if (r->done_max_age_ms > 0) d.done_max_age_ms = r->done_max_age_ms;
        if (r->done_max_jobs > 0) d.done_max_jobs = r->done_max_jobs;
    }
    st->ret = d;
}

void jobs_store_free(struct jobs_store *st)
{
    if (!st) return;
    free(st->prefix);
    free(st->wake);
    free(st);
}

const char *jobs_store_prefix(const struct jobs_store *st)
{
    return st->prefix;
}

const char *jobs_wake_channel(const struct jobs_store *st)
{
    return st->wake;
}

static uint64_t next_rand(struct jobs_store *st)
{
    st->seed ^= st->seed << 13, st->seed ^= st->seed >> 7, st->seed ^= st->seed << 17;
    return st->seed;
}

/* The oldest lost fetch of worker, or -1. */
static int lost_find(const struct jobs_store *st, const char *worker)
{
    for (int i = 0; i < st->nlost; i++)
        if (!strcmp(st->lost[i].worker, worker)) return i;
    return -1;
}

static void lost_add(struct jobs_store *st, const char *worker, const char *token)
{
    if (st->nlost == LOST_FETCHES_MAX) {
        memmove(&st->lost[0], &st->lost[1], (size_t)(st->nlost - 1) * sizeof st->lost[0]);
        st->nlost--;
    }
    snprintf(st->lost[st->nlost].worker, sizeof st->lost[0].worker, "%s", worker);
    snprintf(st->lost[st->nlost].token, sizeof st->lost[0].token, "%s", token);
    st->nlost++;
}

static void lost_settle(struct jobs_store *st, const char *worker, const char *token)
{
    for (int i = 0; i < st->nlost; i++)
        if (!strcmp(st->lost[i].token, token) && !strcmp(st->lost[i].worker, worker)) {
            memmove(&st->lost[i], &st->lost[i + 1],
                    (size_t)(st->nlost - i - 1) * sizeof st->lost[0]);
            st->nlost--;
            return;
        }
}


/* ---- calls: one command (or script) in flight, its arguments kept for the EVAL fallback ---- */

enum op {
    OP_ENQUEUE, OP_FETCH, OP_DONE, OP_FAIL, OP_HEARTBEAT, OP_REAP, OP_REQUEUE, OP_PROMOTE,
    OP_GET, OP_LIST, OP_RETRY, OP_CANCEL, OP_QUEUES, OP_EVICT_CONFIG, OP_EVICT_INFO
};

#define CALL_ARGS_MAX 2 * JOBS_FETCH_QUEUES_MAX + 8

struct call {
    struct jobs_store *st;
    enum op op;
    int script; /* a jobs_script_id, or -1: args are a plain command */
    bool evaled; /* sent as EVAL after NOSCRIPT */
    int nargs;
    char *args[CALL_ARGS_MAX]; /* owned */
    size_t lens[CALL_ARGS_MAX];
    union {
        jobs_result_cb r;
        jobs_job_cb j;
        jobs_list_cb l;
        jobs_queues_cb q;
    } cb;
    void *ud;
};

static struct call *call_new(struct jobs_store *st, enum op op, int script)
{
    struct call *c = xcalloc(1, sizeof *c);
    c->st = st;
    c->op = op;
    c->script = script;
    if (script >= 0) {
        c->args[0] = xstrdup(st->prefix); /* every script's ARGV[1] */
        c->lens[0] = strlen(st->prefix);
        c->nargs = 1;
    }
    return c;
}

static void arg_bin(struct call *c, const char *p, size_t n)
{
    if (c->nargs >= CALL_ARGS_MAX) abort(); /* the calls below never pass this many */
    c->args[c->nargs] = xstrndup(p ? p : "", p ? n : 0);
    c->lens[c->nargs++] = p ? n : 0;
}

static void arg(struct call *c, const char *s)
{
    arg_bin(c, s, s ? strlen(s) : 0);
}

static void arg_int(struct call *c, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    arg(c, b);
}

static void call_free(struct call *c)
{
    for (int i = 0; i < c->nargs; i++) free(c->args[i]);
    free(c);
}

static void on_reply(void *ud, struct redisReply *reply, const char *err);

/* Sends c (EVALSHA, or EVAL once the script is unknown to Redis): redisconn_command's answer. */
static int call_send_raw(struct call *c)
{
    const char *argv[CALL_ARGS_MAX + 3];
    size_t lens[CALL_ARGS_MAX + 3];
    int n = 0;
    if (c->script >= 0) {
        const char *lua = jobs_scripts[c->script].lua;
        argv[n] = c->evaled ? "EVAL" : "EVALSHA", lens[n] = strlen(argv[n]), n++;
        argv[n] = c->evaled ? lua : c->st->sha[c->script], lens[n] = strlen(argv[n]), n++;
        argv[n] = "0", lens[n] = 1, n++;
    }
    for (int i = 0; i < c->nargs; i++) argv[n] = c->args[i], lens[n] = c->lens[i], n++;
    return redisconn_command(c->st->conn, on_reply, c, n, argv, lens, 0);
}

/* Sends c: JOBS_OK, or the error and c is freed (its callback never called). */
static enum jobs_err call_send(struct call *c)
{
    int rc = call_send_raw(c);
    if (rc == 0) return JOBS_OK;
    call_free(c);
    return rc == -EINVAL ? JOBS_E_INVALID : JOBS_E_DOWN;
}

/* ---- answers ------------------------------------------------------------------------------ */

static const char *rstr(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
                 r->type == REDIS_REPLY_ERROR) ? r->str : NULL;
}

static long long rint_(const redisReply *r)
{
    if (!r) return 0;
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING) return strtoll(r->str, NULL, 10);
    return 0;
}

/* Fills j from an HGETALL answer; its strings point into r. false when r is not a job. */
static bool parse_job(const redisReply *r, struct job *j)
{
    memset(j, 0, sizeof *j);
    j->queue = j->type = j->payload = j->last_error = j->unique = j->worker = (char *)"";
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2) return false;
    bool have_state = false;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        const char *f = k->str;
        char *s = v->str;
        long long x = strtoll(s, NULL, 10);
        if (!strcmp(f, "id")) j->id = (uint64_t)x;
        else if (!strcmp(f, "queue")) j->queue = s;
        else if (!strcmp(f, "type")) j->type = s;
        else if (!strcmp(f, "payload")) j->payload = s, j->payload_len = v->len;
        else if (!strcmp(f, "state")) have_state = job_state_parse(s, &j->state);
        else if (!strcmp(f, "attempts")) j->attempts = (int)x;
        else if (!strcmp(f, "max_attempts")) j->max_attempts = (int)x;
        else if (!strcmp(f, "created_at")) j->created_at = x;
        else if (!strcmp(f, "run_at")) j->run_at = x;
        else if (!strcmp(f, "started_at")) j->started_at = x;
        else if (!strcmp(f, "finished_at")) j->finished_at = x;
        else if (!strcmp(f, "last_error")) j->last_error = s;
        else if (!strcmp(f, "unique")) j->unique = s;
        else if (!strcmp(f, "worker")) j->worker = s;
    }
    return j->id > 0 && have_state;
}

static void finish(struct call *c, struct jobs_result *res, const redisReply *r)
{
    if (!res->detail) res->detail = res->err == JOBS_OK ? "" : jobs_strerror(res->err);
    switch (c->op) {
    case OP_FETCH:
    case OP_GET: {
        struct job j;
        bool ok = res->err == JOBS_OK && r && r->type == REDIS_REPLY_ARRAY && r->elements > 0;
        if (ok && !parse_job(r, &j)) {
            res->err = JOBS_E_REDIS;
            res->detail = "the job's hash in Redis is not a job (no id or state)";
            ok = false;
        }
        if (c->op == OP_GET && res->err == JOBS_OK && !ok) {
            res->err = JOBS_E_NOTFOUND;
            res->detail = jobs_strerror(JOBS_E_NOTFOUND);
        }
        c->cb.j(c->ud, res, ok ? &j : NULL);
        break;
    }
    case OP_LIST: {
        struct job *jobs = NULL;
        size_t n = 0;
        const char *next = NULL;
        if (res->err == JOBS_OK) {
            jobs = xcalloc(r->elements, sizeof *jobs);
            for (size_t i = 1; i < r->elements; i++)
                if (parse_job(r->element[i], &jobs[n])) n++;
            next = rstr(r->element[0]);
            if (next && !*next) next = NULL;
        }
        c->cb.l(c->ud, res, jobs, n, next);
        free(jobs);
        break;
    }
    case OP_QUEUES: {
        struct jobs_queue_stat *qs = NULL;
        size_t n = 0;
        if (res->err == JOBS_OK) {
            qs = xcalloc(r->elements / 12 + 1, sizeof *qs);
            for (size_t i = 0; i + 12 <= r->elements; i += 12, n++) {
                struct redisReply **e = r->element + i;
                snprintf(qs[n].name, sizeof qs[n].name, "%s", rstr(e[0]) ? rstr(e[0]) : "");
                qs[n].depth[JOB_QUEUED] = rint_(e[1]);
                qs[n].depth[JOB_DELAYED] = rint_(e[2]);
                qs[n].depth[JOB_ACTIVE] = rint_(e[3]);
                qs[n].depth[JOB_DEAD] = rint_(e[4]);
                qs[n].depth[JOB_DONE] = rint_(e[5]);
                qs[n].enqueued = rint_(e[6]);
                qs[n].done = rint_(e[7]);
                qs[n].failed = rint_(e[8]);
                qs[n].retried = rint_(e[9]);
                qs[n].dead = rint_(e[10]);
                qs[n].cancelled = rint_(e[11]);
            }
        }
        c->cb.q(c->ud, res, qs, n);
        free(qs);
        break;
    }
    default:
        c->cb.r(c->ud, res);
        break;
    }
    call_free(c);
}

/* {0, state} from done/fail/retry/cancel: the job is not where the step needs it. */
static void refused(struct jobs_result *res, const redisReply *r, enum jobs_err e)
{
    const char *s = r->elements > 1 ? rstr(r->element[1]) : NULL;
    if (!s || !*s) {
        res->err = JOBS_E_NOTFOUND;
        return;
    }
    res->err = e;
    job_state_parse(s, &res->state);
}

/* jobs_fetch's arguments: P worker now seed token lost n ... */
#define FETCH_ARG_WORKER 1
#define FETCH_ARG_TOKEN 4
#define FETCH_ARG_LOST 5

static void on_reply(void *ud, struct redisReply *r, const char *err)
{
    struct call *c = ud;
    struct jobs_result res = {0};
    char detail[512];
    if (c->op == OP_FETCH && !r) /* it may have run: the worker's next fetch asks */
        lost_add(c->st, c->args[FETCH_ARG_WORKER], c->args[FETCH_ARG_TOKEN]);
    else if (c->op == OP_FETCH && r->type != REDIS_REPLY_ERROR && *c->args[FETCH_ARG_LOST])
        lost_settle(c->st, c->args[FETCH_ARG_WORKER], c->args[FETCH_ARG_LOST]);
    if (!r) {
        snprintf(detail, sizeof detail, "Redis: %s", err ? err : "no answer");
        res.err = JOBS_E_REDIS;
        res.detail = detail;
        finish(c, &res, NULL);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (c->script >= 0 && !c->evaled && !strncmp(r->str, "NOSCRIPT", 8)) {
            /* Redis restarted or SCRIPT FLUSH: send the text once; it is cached again. */
            c->evaled = true;
            if (call_send_raw(c) == 0) return;
            res.err = JOBS_E_REDIS;
            res.detail = "Redis: connection lost (sending the script again after NOSCRIPT)";
            finish(c, &res, NULL);
            return;
        }
        if (c->op == OP_EVICT_CONFIG) {
            /* CONFIG is disabled or renamed on managed Redis: INFO memory says it too. */
            struct call *i = call_new(c->st, OP_EVICT_INFO, -1);
            arg(i, "INFO");
            arg(i, "memory");
            i->cb = c->cb;
            i->ud = c->ud;
            if (call_send(i) == JOBS_OK) {
                call_free(c);
                return;
            }
        }
        snprintf(detail, sizeof detail, "Redis: %s", r->str);
        res.err = JOBS_E_REDIS;
        res.detail = detail;
        finish(c, &res, NULL);
        return;
    }
    bool arr2 = r->type == REDIS_REPLY_ARRAY && r->elements >= 1;
    switch (c->op) {
    case OP_ENQUEUE:
        if (!arr2 || r->elements < 2) goto odd;
        res.id = (uint64_t)rint_(r->element[1]);
        if (rint_(r->element[0]) != 1) {
            res.err = JOBS_E_UNIQUE;
            snprintf(detail, sizeof detail, "unique key taken by job %llu",
                     (unsigned long long)res.id);
            res.detail = detail;
        }
        break;
    case OP_FETCH:
    case OP_GET:
        if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_ARRAY) goto odd;
        break;
    case OP_DONE:
    case OP_FAIL:
    case OP_RETRY:
    case OP_CANCEL:
        if (!arr2) goto odd;
        if (rint_(r->element[0]) != 1) {
            refused(&res, r, c->op == OP_DONE || c->op == OP_FAIL ? JOBS_E_NOTACTIVE : JOBS_E_STATE);
            if (res.err != JOBS_E_NOTFOUND) {
                snprintf(detail, sizeof detail, "%s (the job is %s)", jobs_strerror(res.err),
                         job_state_name(res.state));
                res.detail = detail;
            }
        } else if (c->op == OP_FAIL) {
            const char *s = r->elements > 1 ? rstr(r->element[1]) : NULL;
            if (!s || !job_state_parse(s, &res.state)) goto odd;
        }
        break;
    case OP_HEARTBEAT:
    case OP_REAP:
    case OP_REQUEUE:
        if (r->type != REDIS_REPLY_INTEGER) goto odd;
        res.n = r->integer < 0 ? 0 : r->integer;
        break;
    case OP_PROMOTE:
        if (!arr2 || r->elements < 2) goto odd;
        res.n = rint_(r->element[0]);
        res.next_ms = rint_(r->element[1]);
        break;
    case OP_LIST:
        if (!arr2) goto odd;
        break;
    case OP_QUEUES:
        if (r->type != REDIS_REPLY_ARRAY) goto odd;
        break;
    case OP_EVICT_CONFIG:
    case OP_EVICT_INFO: {
        const char *policy = NULL;
        char buf[64] = "";
        if (c->op == OP_EVICT_CONFIG && r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
            policy = rstr(r->element[1]);
        if (c->op == OP_EVICT_INFO && rstr(r)) {
            const char *p = strstr(rstr(r), "maxmemory_policy:");
            if (p) {
                sscanf(p + strlen("maxmemory_policy:"), "%63[^\r\n]", buf);
                policy = buf;
            }
        }
        if (!policy || !*policy) {
            res.err = JOBS_E_REDIS;
            res.detail = "Redis did not say its maxmemory-policy (CONFIG GET and INFO memory)";
            break;
        }
        snprintf(detail, sizeof detail, "%s", policy);
        res.detail = detail;
        res.n = strcmp(policy, "noeviction") == 0;
        break;
    }
    }
    finish(c, &res, r);
    return;
odd:
    res.err = JOBS_E_REDIS;
    snprintf(detail, sizeof detail, "Redis: an answer of an unexpected shape to %s",
             c->script >= 0 ? jobs_scripts[c->script].name : c->args[0]);
    res.detail = detail;
    finish(c, &res, NULL);
}

/* ---- the calls ---------------------------------------------------------------------------- */

/* Sends c, answered through a jobs_result_cb. */
static enum jobs_err send_r(struct call *c, jobs_result_cb cb, void *ud)
{
    c->cb.r = cb;
    c->ud = ud;
    return call_send(c);
}

/* The retention arguments of a script that trims set ("dead" or "done"). */
static void arg_retention(struct call *c, bool dead)
{
    const struct jobs_retention *r = &c->st->ret;
    arg_int(c, dead ? r->dead_max_age_ms : r->done_max_age_ms);
    arg_int(c, dead ? r->dead_max_jobs : r->done_max_jobs);
}

enum jobs_err jobs_enqueue(struct jobs_store *st, const struct job_new *j, jobs_result_cb cb,
                           void *ud)
{
    if (!st || !j || !cb) return JOBS_E_INVALID;
    int64_t now = wall_ms();
    if (jobs_validate(j, now, NULL, 0) != JOBS_OK) return JOBS_E_INVALID;
    int64_t at = j->run_at_ms ? j->run_at_ms : j->delay_ms > 0 ? now + j->delay_ms : 0;
    struct call *c = call_new(st, OP_ENQUEUE, JS_ENQUEUE);
    arg(c, j->queue);
    arg(c, j->type);
    if (j->payload) arg_bin(c, j->payload, j->payload_len ? j->payload_len : strlen(j->payload));
    else arg(c, "null");
    arg_int(c, now);
    arg_int(c, at);
    arg(c, j->unique ? j->unique : "");
    arg_int(c, j->max_attempts);
    return send_r(c, cb, ud);
}

enum jobs_err jobs_fetch(struct jobs_store *st, const char *worker, const char *const *queues,
                         const unsigned *weights, size_t n, jobs_job_cb cb, void *ud)
{
    if (!st || !cb || !jobs_worker_ok(worker) || !queues || n < 1 || n > JOBS_FETCH_QUEUES_MAX)
        return JOBS_E_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!jobs_name_ok(queues[i]) || (weights && (weights[i] < 1 || weights[i] > 1000)))
            return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_FETCH, JS_FETCH);
    arg(c, worker);
    arg_int(c, wall_ms());
    arg_int(c, (long long)(next_rand(st) % 1000000007u));
    char token[17];
    snprintf(token, sizeof token, "%016llx", (unsigned long long)next_rand(st));
    arg(c, token);
    int l = lost_find(st, worker);
    arg(c, l >= 0 ? st->lost[l].token : "");
    arg_int(c, (long long)n);
    for (size_t i = 0; i < n; i++) {
        arg(c, queues[i]);
        arg_int(c, weights ? weights[i] : 1);
    }
    c->cb.j = cb;
    c->ud = ud;
    return call_send(c);
}

enum jobs_err jobs_done(struct jobs_store *st, const char *worker, uint64_t id, jobs_result_cb cb,
                        void *ud)
{
    if (!st || !cb || !jobs_worker_ok(worker) || !id) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_DONE, JS_DONE);
    arg(c, worker);
    arg_int(c, (long long)id);
    arg_int(c, wall_ms());
    arg_retention(c, false);
    return send_r(c, cb, ud);
}

enum jobs_err jobs_fail(struct jobs_store *st, const char *worker, uint64_t id, const char *error,
                        int64_t retry_at_ms, jobs_result_cb cb, void *ud)
{
    if (!st || !cb || !jobs_worker_ok(worker) || !id || retry_at_ms < 0) return JOBS_E_INVALID;
    size_t n = error ? strlen(error) : 0;
    if (n > JOBS_ERROR_MAX) {
        /* cut at a character's start, so the text stays UTF-8 */
        n = JOBS_ERROR_MAX;
        while (n > 0 && ((unsigned char)error[n] & 0xC0) == 0x80) n--;
    }
    struct call *c = call_new(st, OP_FAIL, JS_FAIL);
    arg(c, worker);
    arg_int(c, (long long)id);
    arg_int(c, wall_ms());
    arg_bin(c, error ? error : "", n);
    arg_int(c, retry_at_ms);
    arg_retention(c, true);
    return send_r(c, cb, ud);
}

enum jobs_err jobs_heartbeat(struct jobs_store *st, const char *worker, uint64_t ttl_ms,
                             jobs_result_cb cb, void *ud)
{
    if (!st || !cb || !jobs_worker_ok(worker) || ttl_ms < 1) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_HEARTBEAT, JS_HEARTBEAT);
    arg(c, worker);
    arg_int(c, (long long)ttl_ms);
    return send_r(c, cb, ud);
}

enum jobs_err jobs_reap(struct jobs_store *st, uint64_t lock_ttl_ms, jobs_result_cb cb, void *ud)
{
    if (!st || !cb || lock_ttl_ms < 1) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_REAP, JS_REAP);
    char token[64];
    snprintf(token, sizeof token, "%ld:%lld", (long)getpid(), (long long)wall_ms());
    arg(c, token);
    arg_int(c, (long long)lock_ttl_ms);
    arg_int(c, wall_ms());
    arg_retention(c, true);
    return send_r(c, cb, ud);
}

enum jobs_err jobs_requeue_active(struct jobs_store *st, const char *worker, jobs_result_cb cb,
                                  void *ud)
{
    if (!st || !cb || !jobs_worker_ok(worker)) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_REQUEUE, JS_REQUEUE);
    arg(c, worker);
    return send_r(c, cb, ud);
}

enum jobs_err jobs_promote(struct jobs_store *st, long max, jobs_result_cb cb, void *ud)
{
    if (!st || !cb || max < 1 || max > 10000) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_PROMOTE, JS_PROMOTE);
    arg_int(c, wall_ms());
    arg_int(c, max);
    arg_retention(c, false);
    return send_r(c, cb, ud);
}

enum jobs_err jobs_get(struct jobs_store *st, uint64_t id, jobs_job_cb cb, void *ud)
{
    if (!st || !cb || !id) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_GET, -1);
    char key[64 + 256];
    snprintf(key, sizeof key, "%sjob:%llu", st->prefix, (unsigned long long)id);
    arg(c, "HGETALL");
    arg(c, key);
    c->cb.j = cb;
    c->ud = ud;
    return call_send(c);
}

/* s[0..n) is 1..max decimal digits. */
static bool digits_ok(const char *s, size_t n, size_t max)
{
    if (n < 1 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* A cursor is one a page of state gave: "name\npos" (queued: a queue, active: a worker) or
 * "score\nid" (a finite number and an id). An API client may send anything: what the script
 * cannot use is refused here, not answered by Redis with an error or a page from nowhere. */
static bool cursor_ok(enum job_state state, const char *cursor)
{
    const char *nl = strchr(cursor, '\n');
    if (!nl || strlen(cursor) > 300) return false;
    size_t n1 = (size_t)(nl - cursor), n2 = strlen(nl + 1);
    char first[301];
    memcpy(first, cursor, n1);
    first[n1] = '\0';
    if (state == JOB_QUEUED || state == JOB_ACTIVE)
        return (state == JOB_QUEUED ? jobs_name_ok(first) : jobs_worker_ok(first)) &&
               digits_ok(nl + 1, n2, 9);
    char *end;
    errno = 0;
    double sc = strtod(first, &end);
    return n1 > 0 && *end == '\0' && errno == 0 && sc == sc && sc - sc == 0 &&
           digits_ok(nl + 1, n2, 20);
}

enum jobs_err jobs_list(struct jobs_store *st, const char *queue, enum job_state state, int limit,
                        const char *cursor, jobs_list_cb cb, void *ud)
{
    if (!st || !cb || limit < 1 || limit > JOBS_LIST_MAX || state == JOB_CANCELLED ||
        (unsigned)state >= JOB_STATE_COUNT)
        return JOBS_E_INVALID;
    if (queue && *queue && !jobs_name_ok(queue)) return JOBS_E_INVALID;
    if (cursor && *cursor && !cursor_ok(state, cursor)) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_LIST, JS_LIST);
    arg(c, job_state_name(state));
    arg(c, queue ? queue : "");
    arg_int(c, limit);
    arg(c, cursor ? cursor : "");
    c->cb.l = cb;
    c->ud = ud;
    return call_send(c);
}

static enum jobs_err by_id(struct jobs_store *st, enum op op, int script, uint64_t id,
                           jobs_result_cb cb, void *ud)
{
    if (!st || !cb || !id) return JOBS_E_INVALID;
    struct call *c = call_new(st, op, script);
    arg_int(c, (long long)id);
    if (op == OP_CANCEL) {
        arg_int(c, wall_ms());
        arg_int(c, st->ret.done_max_age_ms);
    }
    return send_r(c, cb, ud);
}

enum jobs_err jobs_retry(struct jobs_store *st, uint64_t id, jobs_result_cb cb, void *ud)
{
    return by_id(st, OP_RETRY, JS_RETRY, id, cb, ud);
}

enum jobs_err jobs_cancel(struct jobs_store *st, uint64_t id, jobs_result_cb cb, void *ud)
{
    return by_id(st, OP_CANCEL, JS_CANCEL, id, cb, ud);
}

/* Queues jobs_queues reports at most (by name). */
#define JOBS_QUEUES_MAX 1000

enum jobs_err jobs_queues(struct jobs_store *st, jobs_queues_cb cb, void *ud)
{
    if (!st || !cb) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_QUEUES, JS_QUEUES);
    arg_int(c, JOBS_QUEUES_MAX);
    c->cb.q = cb;
    c->ud = ud;
    return call_send(c);
}

enum jobs_err jobs_check_eviction(struct jobs_store *st, jobs_result_cb cb, void *ud)
{
    if (!st || !cb) return JOBS_E_INVALID;
    struct call *c = call_new(st, OP_EVICT_CONFIG, -1);
    arg(c, "CONFIG");
    arg(c, "GET");
    arg(c, "maxmemory-policy");
    return send_r(c, cb, ud);
}
