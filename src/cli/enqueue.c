/* enqueue.c — `roster enqueue QUEUE TYPE [JSON|-]`: one job on the app's queue in Redis (the
 * config's redis.url and app:, or REDIS_URL and ROSTER_APP without a config), its id printed.
 * Exit 0 with the id; 0 also when the unique key is held (the holder's id printed, a note on
 * stderr: the job the caller wanted is queued); 1 when Redis cannot be reached or answers an
 * error; 2 for bad arguments, JSON or config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "base/redisurl.h"
#include "base/units.h"
#include "cli/commands.h"
#include "datastore/redisconn.h"
#include "jobs/store.h"
#include "sched/cron.h"

struct enq {
    uv_loop_t *loop;
    struct redisconn *conn;
    struct jobs_store *st;
    struct job_new job;
    uv_timer_t deadline;
    const char *where; /* host:port, for messages (no password) */
    bool sent;
    bool stopped; /* enq_stop ran: what closing reports is not news */
    int rc;
};

static void enq_stop(struct enq *e, int rc)
{
    if (e->stopped) return;
    e->stopped = true;
    e->rc = rc;
    uv_timer_stop(&e->deadline);
    uv_close((uv_handle_t *)&e->deadline, NULL);
    redisconn_close(e->conn);
}

static void on_enqueued(void *ud, const struct jobs_result *res)
{
    struct enq *e = ud;
    if (res->err == JOBS_OK) {
        printf("%llu\n", (unsigned long long)res->id);
        enq_stop(e, 0);
    } else if (res->err == JOBS_E_UNIQUE) {
        printf("%llu\n", (unsigned long long)res->id);
        fprintf(stderr, "roster enqueue: unique key '%s' is held by job %llu: not enqueued again\n",
                e->job.unique, (unsigned long long)res->id);
        enq_stop(e, 0);
    } else {
        fprintf(stderr, "roster enqueue: %s\n", res->detail);
        enq_stop(e, 1);
    }
}

static void on_state(void *ud, bool up, const char *err)
{
    struct enq *e = ud;
    if (e->stopped) return;
    if (!up && !e->sent) {
        /* the first attempt failed: say so now rather than retrying (a one-shot command) */
        fprintf(stderr, "roster enqueue: Redis at %s cannot be reached: %s\n", e->where,
                err && *err ? err : "connection failed");
        enq_stop(e, 1);
        return;
    }
    if (!up || e->sent) return;
    e->sent = true;
    enum jobs_err r = jobs_enqueue(e->st, &e->job, on_enqueued, e);
    if (r != JOBS_OK) {
        fprintf(stderr, "roster enqueue: %s\n", jobs_strerror(r));
        enq_stop(e, r == JOBS_E_INVALID ? 2 : 1);
    }
}

static void on_deadline(uv_timer_t *t)
{
    struct enq *e = t->data;
    const char *why = redisconn_error(e->conn);
    fprintf(stderr, "roster enqueue: Redis at %s %s: %s\n", e->where,
            e->sent ? "did not answer in time" : "cannot be reached",
            why && *why ? why : "timed out");
    enq_stop(e, 1);
}

/* The JSON argument, or stdin for "-" (at most JOBS_PAYLOAD_MAX + 1 bytes read, so a larger
 * one is refused by the validation, not truncated). */
static char *read_payload(const char *arg, size_t *len)
{
    if (strcmp(arg, "-") != 0) {
        *len = strlen(arg);
        return strdup(arg);
    }
    size_t cap = JOBS_PAYLOAD_MAX + 2, n = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
    size_t got;
    while (n < cap - 1 && (got = fread(b + n, 1, cap - 1 - n, stdin)) > 0) n += got;
    b[n] = '\0';
    *len = n;
    return b;
}

static const char *env_get(char **environ_, const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ_; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

int commands_enqueue(const struct cli *c, char **environ_)
{
    struct enq e = {.rc = 1};
    char err[512];
    /* the job, checked before anything is read or connected */
    e.job.queue = c->enq_queue;
    e.job.type = c->enq_type;
    e.job.unique = c->unique;
    if (c->max_attempts) {
        char *end;
        long n = strtol(c->max_attempts, &end, 10);
        if (!*c->max_attempts || *end || n < 1 || n > JOBS_MAX_ATTEMPTS_MAX) {
            fprintf(stderr, "roster enqueue: --max-attempts must be a number from 1 to 1000, not "
                            "'%.40s'\n",
                    c->max_attempts);
            return 2;
        }
        e.job.max_attempts = (int)n;
    }
    if (c->delay) {
        uint64_t ms;
        const char *why;
        if (units_parse_duration(c->delay, &ms, &why) < 0) {
            fprintf(stderr, "roster enqueue: --delay '%.40s': %s (such as 30s, 5m, 2h)\n", c->delay,
                    why ? why : "not a duration");
            return 2;
        }
        e.job.delay_ms = (int64_t)ms;
    }
    if (c->at) {
        int64_t t;
        if (cron_parse_time(c->at, &t) < 0) {
            fprintf(stderr,
                    "roster enqueue: --at '%.80s' is not an ISO-8601 time with an offset "
                    "(2026-03-08T01:00:00-05:00 or 2026-03-08T06:00:00Z)\n",
                    c->at);
            return 2;
        }
        e.job.run_at_ms = t * 1000;
    }
    char *payload = NULL;
    if (c->enq_json) {
        payload = read_payload(c->enq_json, &e.job.payload_len);
        if (!payload) {
            fprintf(stderr, "roster enqueue: %s\n", strerror(errno));
            return 1;
        }
        e.job.payload = payload;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (jobs_validate(&e.job, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, err, sizeof err)) {
        fprintf(stderr, "roster enqueue: %s\n", err);
        free(payload);
        return 2;
    }

    /* where: the config's redis and app, else REDIS_URL (or REDIS_HOST...) and ROSTER_APP */
    struct roster_config cfg;
    bool have_cfg = false;
    char *url = NULL, *app = NULL;
    bool procfile;
    diags d = {0};
    struct config_opts co = cli_config_opts(c, environ_);
    char *path = config_locate(&co, &procfile, &d);
    diags_free(&d);
    if (path) {
        free(path);
        if (cli_load_config(c, environ_, &cfg) < 0) {
            free(payload);
            return 2;
        }
        have_cfg = true;
        app = strdup(cfg.app);
        if (cfg.redis.url && *cfg.redis.url) url = strdup(cfg.redis.url);
    } else {
        const char *a = env_get(environ_, "ROSTER_APP");
        if (a && *a) app = strdup(a);
    }
    if (!url) {
        envmap env = {0};
        envmap_from_environ(&env, environ_);
        url = redisurl_resolve(env_get(environ_, "REDIS_URL"), &env, err, sizeof err);
        envmap_free(&env);
    }
    if (have_cfg) config_free(&cfg);
    if (!url || !app) {
        if (!url)
            fprintf(stderr, "roster enqueue: %s\n", err);
        else
            fprintf(stderr, "roster enqueue: no config found: set ROSTER_APP (the app: the worker "
                            "reads) with REDIS_URL, or give -c FILE\n");
        free(url), free(app), free(payload);
        return 2;
    }

    struct redis_target t;
    char where[300] = "?";
    if (redisurl_parse(url, &t, err, sizeof err) == 0) {
        snprintf(where, sizeof where, "%s:%d", t.host, t.port);
        redisurl_free(&t);
    }
    e.where = where;
    uv_loop_t loop;
    uv_loop_init(&loop);
    e.loop = &loop;
    struct redisconn_opts o = {.url = url, .connect_timeout_ms = 3000, .command_timeout_ms = 5000};
    e.conn = redisconn_new(&loop, &o, on_state, &e, err, sizeof err);
    if (!e.conn) {
        fprintf(stderr, "roster enqueue: %s\n", err);
        uv_loop_close(&loop);
        free(url), free(app), free(payload);
        return 1;
    }
    e.st = jobs_store_new(&loop, e.conn, app);
    uv_timer_init(&loop, &e.deadline);
    e.deadline.data = &e;
    /* the connect timeout, and the command's after it */
    uv_timer_start(&e.deadline, on_deadline, 3000 + 5000, 0);
    redisconn_start(e.conn);
    uv_run(&loop, UV_RUN_DEFAULT);
    jobs_store_free(e.st);
    uv_loop_close(&loop);
    free(url), free(app), free(payload);
    return e.rc;
}
