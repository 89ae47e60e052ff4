/* worker.c — the built-in worker role: at most `concurrency` jobs running at once.
 *
 * A job lives in a slot: FREE → RUNNING (fetched, its handler started) → WRITING (its outcome
 * sent to the store) → FREE. There are twice `concurrency` slots, so that the next job is fetched
 * as soon as a handler ends, while its outcome is still on its way (Redis runs the two in order
 * on the one connection): the slots are the bound on what the worker holds. When Redis is down
 * an outcome is HELD in its slot and written once Redis is back; fetching pauses meanwhile,
 * while running handlers go on. The worker itself goes RUNNING → DRAINING (SIGTERM:
 * no more fetches; running jobs may finish until shortly before stop.timeout, then their
 * handlers are stopped) → REQUEUEING (what this worker still holds goes back to its queues) →
 * exit. Heartbeats keep its jobs its own; the reaper (elected in Redis) gives back the jobs of
 * workers that died; delayed jobs are promoted when due. */
#include "roles/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "base/backoff.h"
#include "base/units.h"
#include "base/util.h"
#include "datastore/redisconn.h"
#include "jobs/store.h"
#include "roles/handler.h"
#include "roles/jobhist.h"

/* The heartbeat's time to live, and how often it is renewed (a third of it). */
#define WORKER_HEARTBEAT_TTL_MS   15000
#define WORKER_HEARTBEAT_EVERY_MS (WORKER_HEARTBEAT_TTL_MS / 3)
/* How often a worker tries to become the reaper, and how long it holds the election. */
#define WORKER_REAP_EVERY_MS 5000
#define WORKER_REAP_LOCK_MS  4000
/* Delayed jobs are promoted at their due time, and at least this often. */
#define WORKER_PROMOTE_EVERY_MS 1000
#define WORKER_PROMOTE_BATCH    1000
/* An idle worker is woken by the store's wake channel (a job became ready); it asks the queues
 * anyway after this long, the safety net for a wake missed while the subscription was down. */
#define WORKER_IDLE_POLL_MS 1000
/* A held outcome, or a failed store call, is tried again after this long. */
#define WORKER_RETRY_WRITE_MS 1000
/* The drain stops the handlers this long before stop.timeout, to requeue in time. */
#define WORKER_DRAIN_MARGIN_MS 1000
/* Stopped, the history rows still queued get this long to be written (within the margin). */
#define WORKER_HISTORY_FLUSH_MS 500

struct worker;

enum slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_WRITING, SLOT_HELD };
/* What a finished job's outcome asks of the store. */
enum outcome_kind { OUT_DONE, OUT_FAIL, OUT_NONE };

struct slot {
    struct worker *w;
    enum slot_state state;
    struct job *job;
    struct handler_run *run;
    enum outcome_kind kind;
    char error[300];
    int64_t retry_at_ms; /* OUT_FAIL: 0 = dead */
    double started;      /* wall clock when its handler started, for the history */
    bool said;           /* a failure to record the outcome was logged */
};

enum worker_state { W_RUNNING, W_DRAINING, W_REQUEUEING, W_STOPPED };

struct worker {
    uv_loop_t *loop;
    const struct role_config *rc;
    const struct worker_config *wc;
    char id[160];
    struct redisconn *conn, *sub; /* sub: subscribed to the wake channel */
    struct jobs_store *st;
    struct handlers *hs;
    struct jobhist *hist; /* roster_jobs in Postgres; NULL: no history */
    struct slot *slots;
    int nslots, concurrency, fetches; /* fetches: in flight */
    const char **qnames;
    unsigned *weights;
    enum worker_state state;
    bool up, was_up, down_logged, requeue_sent;
    bool past_deadline; /* the drain reached stop.timeout less its margin */
    bool fetch_said; /* a failed fetch was logged (until one works again) */
    bool woken; /* a wake came while a fetch was out: an empty answer is asked again */
    int exit_code;
    uint64_t idle_since; /* loop ms of the first empty fetch in a row; 0: not idle */
    uv_timer_t fetch_timer, beat_timer, reap_timer, promote_timer, retry_timer, drain_timer;
    uv_signal_t sigterm, sigint;
    uint64_t done, failed, dead;
};

static void logw(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The worker's own lines, on stdout (the supervisor frames them with the role's prefix). */
static void logw(struct worker *w, const char *fmt, ...)
{
    va_list ap;
    (void)w;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
}

uint64_t worker_retry_delay_ms(uint64_t initial_ms, uint64_t max_ms, int attempt, double r)
{
    uint64_t d = backoff_delay_ms(initial_ms, max_ms, attempt < 1 ? 2u : (unsigned)attempt + 1, r);
    return d > max_ms ? max_ms : d;
}

static double rand01(void)
{
    return (double)(random() % 1000000) / 1000000.0;
}

static void try_fetch(struct worker *w);
static void maybe_finish(struct worker *w);
static void write_outcome(struct slot *s);

static int running_slots(const struct worker *w, enum slot_state st)
{
    int n = 0;
    for (int i = 0; i < w->nslots; i++)
        n += w->slots[i].state == st;
    return n;
}

/* --- outcomes ------------------------------------------------------------------------------- */

static void slot_free(struct slot *s)
{
    job_free(s->job);
    s->job = NULL;
    s->run = NULL;
    s->said = false;
    s->state = SLOT_FREE;
}

static void on_retry(uv_timer_t *t);

/* An outcome that could not be sent waits in its slot; the retry timer sends it again. */
static void hold(struct slot *s)
{
    struct worker *w = s->w;
    s->state = SLOT_HELD;
    if (!uv_is_active((uv_handle_t *)&w->retry_timer))
        uv_timer_start(&w->retry_timer, on_retry, WORKER_RETRY_WRITE_MS, 0);
}

static void on_written(void *ud, const struct jobs_result *res)
{
    struct slot *s = ud;
    struct worker *w = s->w;
    if (res->err == JOBS_OK) {
        if (s->kind == OUT_FAIL && res->state == JOB_DEAD) {
            w->dead++;
            logw(w, "%s#%llu dead after attempt %d: %s", s->job->type,
                 (unsigned long long)s->job->id, s->job->attempts, s->error);
        }
        slot_free(s);
    } else if (res->err == JOBS_E_NOTACTIVE || res->err == JOBS_E_NOTFOUND) {
        /* the reaper gave the job back while this worker could not be seen: it runs again */
        logw(w,
             "%s#%llu was given back to its queue meanwhile (this worker's heartbeat "
             "lapsed): its outcome is dropped and it runs again",
             s->job->type, (unsigned long long)s->job->id);
        slot_free(s);
    } else {
        /* Redis refused it or did not answer: kept, and tried again (said once per job, and
         * not while Redis is down, which is said once for all) */
        if (!s->said && w->up) {
            s->said = true;
            logw(w, "cannot record the outcome of %s#%llu (%s%s%s): kept, and tried again every "
                    "%ds",
                 s->job->type, (unsigned long long)s->job->id, jobs_strerror(res->err),
                 res->detail && *res->detail ? ": " : "", res->detail ? res->detail : "",
                 WORKER_RETRY_WRITE_MS / 1000);
        }
        hold(s);
        return;
    }
    maybe_finish(w);
    try_fetch(w);
}

/* Sends a slot's outcome to the store, or holds it until Redis is back. */
static void write_outcome(struct slot *s)
{
    struct worker *w = s->w;
    enum jobs_err e = JOBS_OK;
    s->state = SLOT_WRITING;
    if (s->kind == OUT_DONE)
        e = jobs_done(w->st, w->id, s->job->id, on_written, s);
    else
        e = jobs_fail(w->st, w->id, s->job->id, s->error, s->retry_at_ms, on_written, s);
    if (e != JOBS_OK) hold(s);
}

/* Writes every held outcome (Redis is back, or the retry timer fired). */
static void flush_held(struct worker *w)
{
    for (int i = 0; i < w->nslots && w->up; i++)
        if (w->slots[i].state == SLOT_HELD) write_outcome(&w->slots[i]);
}

static void on_retry(uv_timer_t *t)
{
    struct worker *w = t->data;
    flush_held(w);
    if (w->state == W_REQUEUEING) maybe_finish(w);
}

/* The attempt that just ended as a row of roster_jobs (res NULL: the job never ran). */
static void record_attempt(struct slot *s, const struct handler_result *res)
{
    double now = (double)wall_ms() / 1000.0;
    struct jobhist_row row = {
        .job_id = s->job->id,
        .queue = s->job->queue,
        .type = s->job->type,
        .attempt = s->job->attempts,
        .outcome = s->kind == OUT_DONE ? JOBHIST_DONE
                   : s->retry_at_ms    ? JOBHIST_RETRY
                                       : JOBHIST_DEAD,
        .error = s->error,
        .exit_code = res ? res->exit_code : -1,
        .http_status = res ? res->http_status : 0,
        .started = res ? s->started : now,
        .finished = now,
        .duration_ms = res ? (int64_t)(res->seconds * 1000 + 0.5) : 0,
    };
    jobhist_add(s->w->hist, &row);
}

static void on_handler(void *ud, const struct handler_result *res)
{
    struct slot *s = ud;
    struct worker *w = s->w;
    const struct job *j = s->job;
    s->run = NULL;
    if (res->outcome == HANDLER_STOPPED) {
        /* the drain ran out of time: the job goes back to its queue with the requeue */
        logw(w, "%s#%llu stopped by the drain after %.3fs; it goes back to its queue", j->type,
             (unsigned long long)j->id, res->seconds);
        slot_free(s);
        maybe_finish(w);
        return;
    }
    if (res->outcome == HANDLER_OK) {
        w->done++;
        s->kind = OUT_DONE;
        s->error[0] = '\0';
    } else {
        int max = j->max_attempts > 0 ? j->max_attempts : w->wc->max_attempts;
        s->kind = OUT_FAIL;
        w->failed++;
        snprintf(s->error, sizeof s->error, "%s", res->error);
        if (j->attempts >= max) {
            s->retry_at_ms = 0;
        } else {
            /* Retry-After is the app's word, bounded by backoff.max (checked before the
             * multiplication, which a hostile header could overflow) */
            uint64_t d = res->outcome != HANDLER_LATER
                             ? worker_retry_delay_ms(w->wc->backoff_initial_ms,
                                                     w->wc->backoff_max_ms, j->attempts, rand01())
                         : (uint64_t)res->retry_after_s > w->wc->backoff_max_ms / 1000
                             ? w->wc->backoff_max_ms
                             : (uint64_t)res->retry_after_s * 1000;
            if (d > w->wc->backoff_max_ms) d = w->wc->backoff_max_ms;
            s->retry_at_ms = wall_ms() + (int64_t)d;
            char in[32];
            units_format_duration(d, in, sizeof in);
            logw(w, "%s#%llu failed (attempt %d of %d) after %.3fs: %s; retry in %s", j->type,
                 (unsigned long long)j->id, j->attempts, max, res->seconds, res->error, in);
        }
    }
    record_attempt(s, res);
    if (w->up)
        write_outcome(s);
    else
        s->state = SLOT_HELD; /* written when Redis is back (on_redis) */
    maybe_finish(w);
    try_fetch(w); /* the next job, asked for right behind this one's outcome */
}

/* --- fetching ------------------------------------------------------------------------------- */

static const struct handler_config *handler_for(const struct worker *w, const char *type)
{
    for (size_t i = 0; i < w->wc->nhandlers; i++)
        if (!strcmp(w->wc->handlers[i].type, type)) return &w->wc->handlers[i];
    return NULL;
}

static struct slot *free_slot(struct worker *w)
{
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].state == SLOT_FREE) return &w->slots[i];
    return NULL;
}

static void start_job(struct worker *w, struct slot *s, const struct job *job)
{
    s->job = job_copy(job);
    const struct handler_config *h = handler_for(w, job->type);
    if (!h) {
        s->kind = OUT_FAIL;
        s->retry_at_ms = 0;
        snprintf(s->error, sizeof s->error, "no handler for type %s", job->type);
        record_attempt(s, NULL);
        write_outcome(s);
        return;
    }
    s->state = SLOT_RUNNING;
    s->started = (double)wall_ms() / 1000.0;
    struct handler_job hj = {
        .id = NULL,
        .type = job->type,
        .queue = job->queue,
        .attempt = job->attempts,
        .payload = job->payload,
        .payload_len = job->payload_len,
    };
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)job->id);
    hj.id = id;
    s->run = handler_start(w->hs, h, &hj, on_handler, s);
}

static void on_idle_timer(uv_timer_t *t)
{
    try_fetch(t->data);
}

static void on_fetched(void *ud, const struct jobs_result *res, const struct job *job)
{
    struct worker *w = ud;
    w->fetches--;
    if (res->err != JOBS_OK) {
        /* said once until a fetch works again; Redis down is said by on_redis */
        if (!w->down_logged && !w->fetch_said && res->err != JOBS_E_DOWN)
            logw(w, "cannot fetch jobs (%s%s%s): tried again every %ds", jobs_strerror(res->err),
                 res->detail && *res->detail ? ": " : "", res->detail ? res->detail : "",
                 WORKER_RETRY_WRITE_MS / 1000);
        w->fetch_said = true;
        if (w->state == W_RUNNING)
            uv_timer_start(&w->fetch_timer, on_idle_timer, WORKER_RETRY_WRITE_MS, 0);
        return;
    }
    if (w->fetch_said) logw(w, "fetching jobs again");
    w->fetch_said = false;
    if (!job) {
        if (!w->idle_since) w->idle_since = uv_now(w->loop);
        if (w->woken && w->fetches == 0) {
            /* the wake may have come after this fetch was answered in Redis */
            w->woken = false;
            try_fetch(w);
            return;
        }
        if (w->state == W_RUNNING && !uv_is_active((uv_handle_t *)&w->fetch_timer))
            uv_timer_start(&w->fetch_timer, on_idle_timer, WORKER_IDLE_POLL_MS, 0);
        return;
    }
    w->idle_since = 0;
    struct slot *s = free_slot(w);
    if (!s) abort(); /* a fetch is sent only for a free slot */
    start_job(w, s, job);
    try_fetch(w);
}

/* A job became ready on some queue (or the subscription was made again: msg NULL, and jobs
 * may have come meanwhile): an idle worker asks at once. */
static void on_wake(void *ud, const char *channel, const char *msg, size_t len)
{
    struct worker *w = ud;
    (void)channel;
    if (msg) {
        bool mine = false;
        for (size_t i = 0; i < w->wc->nqueues && !mine; i++)
            mine = strlen(w->qnames[i]) == len && !memcmp(w->qnames[i], msg, len);
        if (!mine) return;
    }
    if (!w->idle_since) return; /* busy: it fetches again as each slot frees */
    if (w->fetches) {
        w->woken = true;
        return;
    }
    uv_timer_stop(&w->fetch_timer);
    try_fetch(w);
}

/* The wake connection's ups and downs are the main connection's too, which says them. */
static void on_sub_state(void *ud, bool up, const char *err)
{
    (void)ud;
    (void)up;
    (void)err;
}

/* Asks for as many jobs as may start (concurrency less those running) and have a free slot,
 * less those already asked for. */
static void try_fetch(struct worker *w)
{
    if (w->state != W_RUNNING || !w->up) return;
    w->woken = false;
    int free_n = w->concurrency - running_slots(w, SLOT_RUNNING);
    int cells = running_slots(w, SLOT_FREE);
    if (cells < free_n) free_n = cells;
    while (w->fetches < free_n) {
        if (jobs_fetch(w->st, w->id, w->qnames, w->weights, w->wc->nqueues, on_fetched, w) !=
            JOBS_OK) {
            uv_timer_start(&w->fetch_timer, on_idle_timer, WORKER_RETRY_WRITE_MS, 0);
            return;
        }
        w->fetches++;
        /* after an empty answer, one question at a time until a job comes */
        if (w->idle_since) break;
    }
}

/* --- upkeep --------------------------------------------------------------------------------- */

static void on_beat_done(void *ud, const struct jobs_result *res)
{
    (void)ud;
    (void)res; /* a missed beat is retried by the next; the TTL allows two */
}

static void on_beat(uv_timer_t *t)
{
    struct worker *w = t->data;
    if (w->up) jobs_heartbeat(w->st, w->id, WORKER_HEARTBEAT_TTL_MS, on_beat_done, w);
}

static void on_reaped(void *ud, const struct jobs_result *res)
{
    struct worker *w = ud;
    if (res->err == JOBS_OK && res->n > 0)
        logw(w, "gave %lld job%s of stopped workers back to their queues", res->n,
             res->n == 1 ? "" : "s");
}

static void on_reap(uv_timer_t *t)
{
    struct worker *w = t->data;
    if (w->up && w->state == W_RUNNING) jobs_reap(w->st, WORKER_REAP_LOCK_MS, on_reaped, w);
}

static void on_promote(uv_timer_t *t);

static void on_promoted(void *ud, const struct jobs_result *res)
{
    struct worker *w = ud;
    uint64_t next = WORKER_PROMOTE_EVERY_MS;
    if (res->err == JOBS_OK) {
        if (res->n >= WORKER_PROMOTE_BATCH) next = 0; /* more are due */
        if (res->next_ms > 0) {
            int64_t in = res->next_ms - wall_ms();
            if (in < 0) in = 0;
            if ((uint64_t)in < next) next = (uint64_t)in;
        }
        if (res->n > 0) try_fetch(w);
    }
    if (w->state == W_RUNNING) uv_timer_start(&w->promote_timer, on_promote, next, 0);
}

static void on_promote(uv_timer_t *t)
{
    struct worker *w = t->data;
    if (w->state != W_RUNNING) return;
    if (!w->up || jobs_promote(w->st, WORKER_PROMOTE_BATCH, on_promoted, w) != JOBS_OK)
        uv_timer_start(&w->promote_timer, on_promote, WORKER_PROMOTE_EVERY_MS, 0);
}

static void on_eviction(void *ud, const struct jobs_result *res)
{
    struct worker *w = ud;
    if (res->err == JOBS_OK && res->n == 0)
        logw(w,
             "warning: Redis's maxmemory-policy is %s, not noeviction: under memory pressure "
             "Redis may evict queued jobs",
             res->detail && *res->detail ? res->detail : "unknown");
}

static void on_redis(void *ud, bool up, const char *err)
{
    struct worker *w = ud;
    w->up = up;
    if (!up) {
        if (!w->down_logged)
            logw(w,
                 "Redis is down (%s): fetching paused; %d running job%s go on, their outcomes "
                 "kept until it is back",
                 err ? err : "connection lost", running_slots(w, SLOT_RUNNING),
                 running_slots(w, SLOT_RUNNING) == 1 ? "" : "s");
        w->down_logged = true;
        return;
    }
    if (w->down_logged)
        logw(w, "Redis is back: writing %d held outcome%s, fetching again",
             running_slots(w, SLOT_HELD), running_slots(w, SLOT_HELD) == 1 ? "" : "s");
    w->down_logged = false;
    /* the heartbeat first: this worker's jobs are its own again before anything else */
    on_beat(&w->beat_timer);
    if (!w->was_up) {
        w->was_up = true;
        jobs_check_eviction(w->st, on_eviction, w);
        on_promote(&w->promote_timer);
        on_reap(&w->reap_timer);
    }
    flush_held(w);
    maybe_finish(w);
    try_fetch(w);
}

/* --- the drain ------------------------------------------------------------------------------ */

static void on_requeued(void *ud, const struct jobs_result *res)
{
    struct worker *w = ud;
    if (w->state == W_STOPPED) return;
    if (res->err == JOBS_OK) {
        if (res->n > 0)
            logw(w, "drained: %lld job%s given back to their queues", res->n,
                 res->n == 1 ? "" : "s");
        w->state = W_STOPPED;
        uv_stop(w->loop);
        return;
    }
    /* tried again; if Redis stays away, the reaper gives the jobs back after the heartbeat */
    w->requeue_sent = false;
    uv_timer_start(&w->retry_timer, on_retry, WORKER_RETRY_WRITE_MS, 0);
}

/* In the drain: once no handler runs and no outcome waits, this worker's remaining jobs go back
 * to their queues and the loop ends. */
static void maybe_finish(struct worker *w)
{
    if (w->state == W_DRAINING && running_slots(w, SLOT_RUNNING) == 0) w->state = W_REQUEUEING;
    if (w->state != W_REQUEUEING || w->requeue_sent) return;
    if (running_slots(w, SLOT_WRITING) || w->fetches) return;
    if (!w->up) {
        /* Redis is away. Nothing held here: nothing to wait for (what this worker may still
         * hold in Redis goes back when its heartbeat lapses, by the reaper). Outcomes held: wait
         * for Redis until stop.timeout is near, then go (those jobs run again). */
        int held = running_slots(w, SLOT_HELD);
        if (held == 0 || w->past_deadline) {
            if (held)
                logw(w, "Redis is still down at stop.timeout: the outcomes of %d job%s are not "
                        "recorded; they run again once the reaper gives them back",
                     held, held == 1 ? "" : "s");
            else
                logw(w, "Redis is down: stopping now; jobs this worker still held there go back "
                        "to their queues when its heartbeat lapses");
            w->state = W_STOPPED;
            uv_stop(w->loop);
            return;
        }
        uv_timer_start(&w->retry_timer, on_retry, WORKER_RETRY_WRITE_MS, 0);
        return;
    }
    if (running_slots(w, SLOT_HELD)) {
        flush_held(w);
        return;
    }
    if (jobs_requeue_active(w->st, w->id, on_requeued, w) == JOBS_OK)
        w->requeue_sent = true;
    else
        uv_timer_start(&w->retry_timer, on_retry, WORKER_RETRY_WRITE_MS, 0);
}

/* stop.timeout is close: the handlers still running are stopped (their jobs requeued). */
static void on_drain_timer(uv_timer_t *t)
{
    struct worker *w = t->data;
    int n = running_slots(w, SLOT_RUNNING);
    if (n)
        logw(w, "stop.timeout is near: stopping %d running job%s to give them back", n,
             n == 1 ? "" : "s");
    w->past_deadline = true;
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].state == SLOT_RUNNING && w->slots[i].run) handler_stop(w->slots[i].run);
    maybe_finish(w);
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct worker *w = h->data;
    if (w->state != W_RUNNING) {
        /* a second signal: stop now */
        on_drain_timer(&w->drain_timer);
        return;
    }
    w->state = W_DRAINING;
    uv_timer_stop(&w->fetch_timer);
    uv_timer_stop(&w->promote_timer);
    uv_timer_stop(&w->reap_timer);
    uint64_t to = w->rc->stop_timeout_ms;
    uint64_t at = to > 2 * WORKER_DRAIN_MARGIN_MS ? to - WORKER_DRAIN_MARGIN_MS : to / 2;
    int n = running_slots(w, SLOT_RUNNING);
    char in[32];
    units_format_duration(at, in, sizeof in);
    logw(w, "%s: draining: no more jobs taken; %d running job%s may finish within %s",
         sig == SIGTERM ? "SIGTERM" : "SIGINT", n, n == 1 ? "" : "s", in);
    uv_timer_start(&w->drain_timer, on_drain_timer, at, 0);
    maybe_finish(w);
}

/* --- the process ---------------------------------------------------------------------------- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void make_id(struct worker *w)
{
    char host[100] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    /* the store takes [A-Za-z0-9_.:-] in a worker id */
    for (char *c = host; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.' || *c == '-'))
            *c = '-';
    unsigned char r[4] = {0};
    uv_random(NULL, NULL, r, sizeof r, 0, NULL);
    snprintf(w->id, sizeof w->id, "%s:%ld:%02x%02x%02x%02x", host, (long)getpid(), r[0], r[1], r[2],
             r[3]);
    srandom((unsigned)(r[0] | r[1] << 8 | r[2] << 16 | (unsigned)r[3] << 24) ^ (unsigned)getpid());
}

static void timer_init(struct worker *w, uv_timer_t *t)
{
    uv_timer_init(w->loop, t);
    t->data = w;
}

int worker_main(const struct roster_config *cfg, const char *role, char **environ_)
{
    const struct role_config *rc = config_find_role(cfg, role);
    if (!rc || rc->builtin != BUILTIN_WORKER) {
        fprintf(stderr, "roster role: '%s' is no role with builtin: worker in %s\n", role,
                cfg->path);
        return 2;
    }
    if (!cfg->redis.enabled || !cfg->redis.url) {
        fprintf(stderr, "roster role %s: builtin: worker needs redis: in %s\n", role, cfg->path);
        return 2;
    }
    /* roster killed outright (SIGKILL) cannot stop its roles: this one then drains itself */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct worker w = {.loop = &loop, .rc = rc, .wc = &rc->worker, .exit_code = 0};
    make_id(&w);
    char err[256];
    struct redisconn_opts ro = {.url = cfg->redis.url};
    w.conn = redisconn_new(&loop, &ro, on_redis, &w, err, sizeof err);
    if (!w.conn) {
        fprintf(stderr, "roster role %s: redis: %s\n", role, err);
        uv_loop_close(&loop);
        return 1;
    }
    w.st = jobs_store_new(&loop, w.conn, cfg->app ? cfg->app : "roster");
    w.sub = redisconn_new(&loop, &ro, on_sub_state, &w, err, sizeof err);
    if (w.sub) redisconn_subscribe(w.sub, jobs_wake_channel(w.st), on_wake, &w);
    w.hs = handlers_new(&loop, role, rc->cwd, environ_);
    w.hist = jobhist_new(&loop, cfg, rc, w.id, environ_);
    w.concurrency = w.wc->concurrency;
    handlers_set_concurrency(w.hs, (size_t)w.concurrency);
    w.nslots = 2 * w.concurrency;
    w.slots = xcalloc((size_t)w.nslots, sizeof *w.slots);
    for (int i = 0; i < w.nslots; i++)
        w.slots[i].w = &w;
    w.qnames = xcalloc(w.wc->nqueues, sizeof *w.qnames);
    w.weights = xcalloc(w.wc->nqueues, sizeof *w.weights);
    for (size_t i = 0; i < w.wc->nqueues; i++) {
        w.qnames[i] = w.wc->queues[i].name;
        w.weights[i] = (unsigned)w.wc->queues[i].weight;
    }
    timer_init(&w, &w.fetch_timer);
    timer_init(&w, &w.beat_timer);
    timer_init(&w, &w.reap_timer);
    timer_init(&w, &w.promote_timer);
    timer_init(&w, &w.retry_timer);
    timer_init(&w, &w.drain_timer);
    uv_timer_start(&w.beat_timer, on_beat, WORKER_HEARTBEAT_EVERY_MS, WORKER_HEARTBEAT_EVERY_MS);
    uv_timer_start(&w.reap_timer, on_reap, WORKER_REAP_EVERY_MS, WORKER_REAP_EVERY_MS);
    uv_signal_init(&loop, &w.sigterm);
    uv_signal_init(&loop, &w.sigint);
    w.sigterm.data = w.sigint.data = &w;
    uv_signal_start(&w.sigterm, on_signal, SIGTERM);
    uv_signal_start(&w.sigint, on_signal, SIGINT);
    logw(&w, "worker %s: %d slot%s, %zu queue%s, %zu handler%s", w.id, w.concurrency,
         w.concurrency == 1 ? "" : "s", w.wc->nqueues, w.wc->nqueues == 1 ? "" : "s",
         w.wc->nhandlers, w.wc->nhandlers == 1 ? "" : "s");
    redisconn_start(w.conn);
    if (w.sub) redisconn_start(w.sub);
    uv_run(&loop, UV_RUN_DEFAULT);

    w.state = W_STOPPED;
    jobhist_flush(w.hist, WORKER_HISTORY_FLUSH_MS);
    jobhist_close(w.hist);
    redisconn_close(w.conn);
    if (w.sub) redisconn_close(w.sub);
    handlers_close(w.hs);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    jobs_store_free(w.st);
    uv_loop_close(&loop);
    for (int i = 0; i < w.nslots; i++)
        job_free(w.slots[i].job);
    free(w.slots);
    free(w.qnames);
    free(w.weights);
    return w.exit_code;
}
