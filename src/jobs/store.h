/* store.h — the job store: roster's job queue kept in one Redis (or Valkey), used by the
 * built-in worker and api roles and by `roster enqueue`. Everything is asynchronous on the
 * caller's uv loop through a redisconn the caller owns; every multi-key step is one Lua script,
 * so a job is never half moved (a worker SIGKILLed mid-step leaves the job where it was).
 *
 * Keys, all under P = "roster:<app>:jobs:" (app: the config's app name):
 *   P seq             string  INCR gives job ids (decimal, from 1)
 *   P job:<id>        hash    id queue type payload state attempts max_attempts created_at
 *                             run_at started_at finished_at last_error unique worker fetch
 *                             (times in ms since the epoch, "" when not yet; fetch: the
 *                             token of the fetch that took it; state one of
 *                             queued delayed active done dead cancelled). Done and dead
 *                             hashes are deleted when trimmed from P done / P dead; cancelled
 *                             ones expire (PEXPIRE) after done_max_age.
 *   P queue:<q>       list    ready ids: LPUSH in, the worker takes from the right (FIFO)
 *   P delayed         zset    delayed ids, score = due ms; jobs_promote moves the due ones
 *   P active:<w>      list    ids worker w is running
 *   P workers         set     worker ids that have active lists or heartbeats
 *   P worker:<w>      string  heartbeat, PX ttl; expired = worker gone (the reaper's cue)
 *   P dead            zset    dead ids, score = death ms; trimmed to dead_max_jobs and
 *                             dead_max_age on each add (the trimmed hashes are deleted)
 *   P done            zset    recently done ids, score = done ms; trimmed like dead
 *   P unique:<key>    string  the id holding the unique key while queued, delayed or active
 *   P queues          set     every queue name ever enqueued to
 *   P stats:<q>       hash    counters: enqueued done failed retried dead cancelled
 *   P reaper          string  the reaper election lock (SET NX PX)
 *   P wake            channel PUBLISHed <queue> by every step that makes a job ready
 * Redis Cluster is not supported (the scripts touch keys they compute); one Redis ≥ 2.8 or
 * Valkey is. Times come from the caller's clock (scripts take "now" as an argument). README.md
 * "Job storage in Redis" says how a worker is meant to use the calls (wake-up, promotion,
 * heartbeats, the reaper). */
#ifndef ROSTER_JOBS_STORE_H
#define ROSTER_JOBS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct redisconn;
struct jobs_store;

/* Limits a job must keep (jobs_validate). */
#define JOBS_PAYLOAD_MAX (1024 * 1024) /* bytes of payload JSON */
#define JOBS_NAME_MAX 64               /* queue and type names: [A-Za-z0-9_.:-]{1,64} */
#define JOBS_UNIQUE_MAX 200            /* bytes of a unique key */
#define JOBS_ERROR_MAX 4096            /* bytes of last_error kept (longer is cut) */
#define JOBS_PAST_MAX_MS (60 * 1000LL) /* run_at may be this far in the past (clock skew) */
#define JOBS_AHEAD_MAX_MS (366 * 24 * 3600 * 1000LL) /* and at most this far ahead */
#define JOBS_MAX_ATTEMPTS_MAX 1000
#define JOBS_WORKER_MAX 128 /* characters of a worker id (jobs_worker_ok) */
#define JOBS_LIST_MAX 1000  /* jobs_list's limit at most */
#define JOBS_LIST_BYTES (8 * 1024 * 1024) /* a page ends once its jobs pass this (list_lua's) */
#define JOBS_FETCH_QUEUES_MAX 64 /* queues one jobs_fetch may take from */

enum jobs_err {
    JOBS_OK = 0,
    JOBS_E_INVALID,    /* bad argument or job (the detail says which field) */
    JOBS_E_DOWN,       /* the Redis connection is not up, or too many commands in flight */
    JOBS_E_REDIS,      /* Redis answered an error, or none within the timeout (detail) */
    JOBS_E_NOTFOUND,   /* no such job (or it expired) */
    JOBS_E_UNIQUE,     /* the unique key is held by another job (res->id is that job) */
    JOBS_E_STATE,      /* the job is not in a state that allows this (res->state is its state) */
    JOBS_E_NOTACTIVE,  /* done/fail of a job this worker no longer holds (reaped meanwhile) */
    JOBS_E_NOSYS,      /* not implemented (no call answers it any more; kept for callers) */
};
const char *jobs_strerror(enum jobs_err e);

enum job_state { JOB_QUEUED, JOB_DELAYED, JOB_ACTIVE, JOB_DONE, JOB_DEAD, JOB_CANCELLED };
#define JOB_STATE_COUNT 6
const char *job_state_name(enum job_state s);
/* false when name is not a state. */
bool job_state_parse(const char *name, enum job_state *out);

/* A job as read from Redis. Strings are never NULL ("" when unset); times are ms since the
 * epoch, 0 when not yet. A job a callback is given lives until the callback returns: keep it
 * with job_copy. */
struct job {
    uint64_t id;
    char *queue, *type;
    char *payload; /* JSON text as enqueued */
    size_t payload_len;
    enum job_state state;
    int attempts;     /* runs started (fetches) */
    int max_attempts; /* 0: the worker's retry.max_attempts decides */
    int64_t created_at, run_at, started_at, finished_at;
    char *last_error;
    char *unique; /* "" when none */
    char *worker; /* the worker running it (active), or the last one that did */
};
struct job *job_copy(const struct job *j);
void job_free(struct job *j);

/* What to enqueue. run_at_ms (absolute) wins over delay_ms; neither: ready now. */
struct job_new {
    const char *queue, *type;
    const char *payload; /* JSON text; NULL: "null" */
    size_t payload_len;  /* 0: strlen(payload) */
    int64_t delay_ms;
    int64_t run_at_ms;
    const char *unique;  /* NULL or "": none */
    int max_attempts;    /* 0: the worker's setting */
};

/* Pure: checks every field of j (names, payload is JSON of at most JOBS_PAYLOAD_MAX bytes,
 * unique key length, delay/run_at within [now - JOBS_PAST_MAX_MS, now + JOBS_AHEAD_MAX_MS],
 * max_attempts in 0..JOBS_MAX_ATTEMPTS_MAX). JOBS_OK, or JOBS_E_INVALID with err saying which
 * field and why ("queue: ...", "payload: ...", ...). */
enum jobs_err jobs_validate(const struct job_new *j, int64_t now_ms, char *err, size_t errlen);
/* Pure: a queue or type name is [A-Za-z0-9_.:-]{1,64}. */
bool jobs_name_ok(const char *s);
/* Pure: a worker id is [A-Za-z0-9_.:-]{1,128} (room for host:pid:slot). */
bool jobs_worker_ok(const char *s);

/* How long finished jobs are kept. Zeros take the defaults (JOBS_RETENTION_DEFAULTS). */
struct jobs_retention {
    int64_t dead_max_age_ms; /* default 7 days */
    long dead_max_jobs;      /* default 10000 */
    int64_t done_max_age_ms; /* default 24 hours: done/cancelled hashes expire then */
    long done_max_jobs;      /* default 10000 */
};

/* The outcome of a store call, given to its callback (valid during the callback). */
struct jobs_result {
    enum jobs_err err;
    const char *detail;   /* a message for err (Redis's error text, which field, ...); "" if OK */
    uint64_t id;          /* jobs_enqueue: the new id, or the holder of a taken unique key */
    long long n;          /* a count: promoted, reaped, requeued (see each call) */
    enum job_state state; /* jobs_fail: where the job went; JOBS_E_STATE: the job's state */
    int64_t next_ms;      /* jobs_promote: the earliest due time still delayed, 0: none */
};
typedef void (*jobs_result_cb)(void *ud, const struct jobs_result *res);
/* job is NULL with res->err JOBS_OK when there is none (jobs_fetch: no job ready). */
typedef void (*jobs_job_cb)(void *ud, const struct jobs_result *res, const struct job *job);
/* next_cursor NULL: the last page. */
typedef void (*jobs_list_cb)(void *ud, const struct jobs_result *res, const struct job *jobs,
                             size_t n, const char *next_cursor);

/* Depths and counters of one queue (jobs_queues). */
struct jobs_queue_stat {
    char name[JOBS_NAME_MAX + 1];
    long long depth[JOB_STATE_COUNT]; /* jobs now in each state (done: kept in P done) */
    long long enqueued, done, failed, retried, dead, cancelled; /* counters since created */
};
typedef void (*jobs_queues_cb)(void *ud, const struct jobs_result *res,
                               const struct jobs_queue_stat *qs, size_t n);

/* The store on conn (not owned: the caller closes it after jobs_store_free). app is copied.
 * NULL when app is empty. */
struct jobs_store *jobs_store_new(uv_loop_t *loop, struct redisconn *conn, const char *app);
void jobs_store_set_retention(struct jobs_store *st, const struct jobs_retention *r);
/* Callbacks of calls in flight are still called (with JOBS_E_REDIS) when the connection closes;
 * free the store after that, or after they were answered. */
void jobs_store_free(struct jobs_store *st);
/* "roster:<app>:jobs:" — the key prefix (for tests and diagnostics). */
const char *jobs_store_prefix(const struct jobs_store *st);

/* Every call below returns JOBS_OK and later calls cb exactly once on the loop; or returns an
 * error (JOBS_E_INVALID, JOBS_E_DOWN) at once and never calls cb. */

/* Validates j (jobs_validate, with the loop's wall clock) and stores it: queued (LPUSH, wake
 * published) or delayed. res->id is the new id. With a unique key held by a queued, delayed or
 * active job: JOBS_E_UNIQUE with res->id that job's id, nothing stored. */
enum jobs_err jobs_enqueue(struct jobs_store *st, const struct job_new *j, jobs_result_cb cb,
                           void *ud);

/* Takes one ready job for worker: picks among queues[0..n) that have jobs, by weight (a queue
 * of weight 3 is picked three times as often as one of weight 1 while both have jobs; weights
 * 1..1000, NULL: all 1), and moves the job atomically from its ready list to P active:<worker> with state
 * active, started_at now, attempts+1, worker set. job NULL when every queue is empty.
 * A fetch of worker that went unanswered (JOBS_E_REDIS: timed out, connection lost) may still
 * have taken a job; the store remembers it, and a later fetch of the same worker on the same
 * store gives that job (still active, attempts as they were) before any other, so a live worker
 * is not left holding a job it never heard of (the reaper takes only dead workers' jobs). */
enum jobs_err jobs_fetch(struct jobs_store *st, const char *worker, const char *const *queues,
                         const unsigned *weights, size_t n, jobs_job_cb cb, void *ud);

/* A job worker ran successfully: out of its active list, state done, into P done, unique key
 * freed. JOBS_E_NOTACTIVE when worker no longer holds it (the reaper requeued it). */
enum jobs_err jobs_done(struct jobs_store *st, const char *worker, uint64_t id, jobs_result_cb cb,
                        void *ud);

/* A job worker ran failed with error (cut to JOBS_ERROR_MAX): delayed until retry_at_ms
 * (res->state JOB_DELAYED), or dead (JOB_DEAD: unique key freed) when retry_at_ms is 0 or the
 * job's max_attempts is set and reached. JOBS_E_NOTACTIVE as jobs_done. */
enum jobs_err jobs_fail(struct jobs_store *st, const char *worker, uint64_t id, const char *error,
                        int64_t retry_at_ms, jobs_result_cb cb, void *ud);

/* Worker is alive for ttl_ms more (P worker:<w> with PX, worker added to P workers). */
enum jobs_err jobs_heartbeat(struct jobs_store *st, const char *worker, uint64_t ttl_ms,
                             jobs_result_cb cb, void *ud);

/* If this caller wins P reaper (SET NX PX lock_ttl_ms): every worker in P workers without a live
 * heartbeat gets its active jobs put back at the front of their queues (state queued, attempts
 * kept) and is removed; a job whose attempts are spent (the lost run was its last) is dead
 * instead, so a job that kills its worker does not come back forever. res->n: jobs requeued (0
 * also when the lock was held elsewhere). */
enum jobs_err jobs_reap(struct jobs_store *st, uint64_t lock_ttl_ms, jobs_result_cb cb, void *ud);

/* Drain: worker's own active jobs back to their queues (state queued, attempts kept); worker
 * and its heartbeat removed. res->n: jobs requeued. */
enum jobs_err jobs_requeue_active(struct jobs_store *st, const char *worker, jobs_result_cb cb,
                                  void *ud);

/* Moves at most max (1..10000) due delayed jobs to their queues (state queued, wake published).
 * res->n: promoted; res->next_ms: the earliest due time still delayed (0: none), for a timer. */
enum jobs_err jobs_promote(struct jobs_store *st, long max, jobs_result_cb cb, void *ud);

/* One job by id (JOBS_E_NOTFOUND when there is none). */
enum jobs_err jobs_get(struct jobs_store *st, uint64_t id, jobs_job_cb cb, void *ud);

/* Jobs in state (queued, delayed, active, dead or done; cancelled ones are not listed), of
 * queue (NULL or "": every queue), at most limit (1..JOBS_LIST_MAX), from cursor (NULL or "":
 * the start; else a next_cursor given before: one not of that form is JOBS_E_INVALID). Order:
 * queued oldest first (next to run), delayed soonest first, dead and done newest first, active
 * by worker. A page ends early, with a cursor, once its jobs' fields pass JOBS_LIST_BYTES. */
enum jobs_err jobs_list(struct jobs_store *st, const char *queue, enum job_state state, int limit,
                        const char *cursor, jobs_list_cb cb, void *ud);

/* A dead job back to its queue: state queued, attempts 0, last_error kept. JOBS_E_STATE when it
 * is not dead. */
enum jobs_err jobs_retry(struct jobs_store *st, uint64_t id, jobs_result_cb cb, void *ud);

/* A queued or delayed job cancelled (taken off its list, unique key freed, state cancelled).
 * JOBS_E_STATE with res->state for an active, done, dead or cancelled job. */
enum jobs_err jobs_cancel(struct jobs_store *st, uint64_t id, jobs_result_cb cb, void *ud);

/* Every queue in P queues with its depths and counters, by name. */
enum jobs_err jobs_queues(struct jobs_store *st, jobs_queues_cb cb, void *ud);

/* Redis's maxmemory-policy (CONFIG GET, or INFO memory where CONFIG is disabled): res->detail is
 * the policy, res->n 1 when it is noeviction (safe), 0 when Redis may evict queued jobs. */
enum jobs_err jobs_check_eviction(struct jobs_store *st, jobs_result_cb cb, void *ud);

/* The wake channel's name ("roster:<app>:jobs:wake"): subscribe to it on a connection of its own
 * (redisconn_subscribe); each message's payload is the queue a job became ready on. */
const char *jobs_wake_channel(const struct jobs_store *st);

#endif
