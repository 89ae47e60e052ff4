/* store.c — the job store on Redis (see store.h for the keys): the calls, their Lua scripts and
 * the parsing of what they answer. */
#include "jobs/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "datastore/redisconn.h"

struct jobs_store {
    uv_loop_t *loop;
    struct redisconn *conn;
    char *prefix;
    char *wake;
    struct jobs_retention ret;
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

/* Not written yet: each returns JOBS_E_NOSYS until it is. */
#define STUB(...) \
    do { (void)st; return JOBS_E_NOSYS; } while (0)
enum jobs_err jobs_enqueue(struct jobs_store *st, const struct job_new *j, jobs_result_cb cb,
                           void *ud) { (void)j; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_fetch(struct jobs_store *st, const char *worker, const char *const *queues,
                         const unsigned *weights, size_t n, jobs_job_cb cb, void *ud)
{ (void)worker; (void)queues; (void)weights; (void)n; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_done(struct jobs_store *st, const char *worker, uint64_t id, jobs_result_cb cb,
                        void *ud) { (void)worker; (void)id; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_fail(struct jobs_store *st, const char *worker, uint64_t id, const char *error,
                        int64_t retry_at_ms, jobs_result_cb cb, void *ud)
{ (void)worker; (void)id; (void)error; (void)retry_at_ms; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_heartbeat(struct jobs_store *st, const char *worker, uint64_t ttl_ms,
                             jobs_result_cb cb, void *ud)
{ (void)worker; (void)ttl_ms; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_reap(struct jobs_store *st, uint64_t lock_ttl_ms, jobs_result_cb cb, void *ud)
{ (void)lock_ttl_ms; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_requeue_active(struct jobs_store *st, const char *worker, jobs_result_cb cb,
                                  void *ud) { (void)worker; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_promote(struct jobs_store *st, long max, jobs_result_cb cb, void *ud)
{ (void)max; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_get(struct jobs_store *st, uint64_t id, jobs_job_cb cb, void *ud)
{ (void)id; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_list(struct jobs_store *st, const char *queue, enum job_state state, int limit,
                        const char *cursor, jobs_list_cb cb, void *ud)
{ (void)queue; (void)state; (void)limit; (void)cursor; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_retry(struct jobs_store *st, uint64_t id, jobs_result_cb cb, void *ud)
{ (void)id; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_cancel(struct jobs_store *st, uint64_t id, jobs_result_cb cb, void *ud)
{ (void)id; (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_queues(struct jobs_store *st, jobs_queues_cb cb, void *ud)
{ (void)cb; (void)ud; STUB(); }
enum jobs_err jobs_check_eviction(struct jobs_store *st, jobs_result_cb cb, void *ud)
{ (void)cb; (void)ud; STUB(); }
