/* jobhist.c — the worker's job history in Postgres (roster_jobs). See jobhist.h. */
#include "roles/jobhist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsoncheck.h"
#include "base/units.h"
#include "base/util.h"
#include "datastore/pghist.h"
#include "os/lazylib.h"

/* Old rows are deleted at start and this often. */
#define JOBHIST_RETENTION_EVERY_MS (3600 * 1000)
/* Rows kept while Postgres is away or behind; more are dropped and counted. A worker finishes
 * many more jobs than a scheduler runs schedules. */
#define JOBHIST_MAX_ROWS 1024
/* The error column keeps this much of the error. */
#define JOBHIST_ERROR_MAX 1024

static const char jobs_ddl[] =
    "CREATE TABLE IF NOT EXISTS roster_jobs (id bigserial PRIMARY KEY, job_id bigint NOT NULL, "
    "queue text NOT NULL, type text NOT NULL, attempt int NOT NULL, outcome text NOT NULL, "
    "error text, exit_code int, http_status int, started timestamptz NOT NULL, finished "
    "timestamptz NOT NULL, duration_ms bigint NOT NULL, worker text NOT NULL)";
static const char jobs_insert[] =
    "INSERT INTO roster_jobs (job_id, queue, type, attempt, outcome, error, exit_code, "
    "http_status, started, finished, duration_ms, worker) VALUES ($1::bigint, $2, $3, $4::int, "
    "$5, NULLIF($6, ''), NULLIF($7, '')::int, NULLIF($8, '')::int, "
    "to_timestamp($9::double precision), to_timestamp($10::double precision), $11::bigint, $12)";
/* This role's queues only: another worker role may keep its own for longer. */
static const char jobs_retention[] =
    "DELETE FROM roster_jobs WHERE finished < now() - $1::bigint * interval '1 millisecond' AND "
    "queue = ANY($2::text[])";

static const char *const outcome_names[] = {
    [JOBHIST_DONE] = "done", [JOBHIST_RETRY] = "retry", [JOBHIST_DEAD] = "dead"};

struct jobhist {
    struct pghist *pg;
    uv_timer_t retention;
    char *worker, *keep_ms, *queues; /* queues: a text[] literal of the role's queues */
    bool said_full;                  /* rows dropped while Postgres was there was said */
};

static void hist_log(void *ud, const char *line)
{
    (void)ud;
    printf("%s\n", line);
    fflush(stdout);
}

static void retention(struct jobhist *h)
{
    const char *p[2] = {h->keep_ms, h->queues};
    pghist_queue(h->pg, jobs_retention, 2, p);
}

static void on_retention(uv_timer_t *t)
{
    retention(t->data);
}

/* {"a","b"}: every element quoted, so that any queue name is one element. */
static char *text_array(const struct worker_config *wc)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_putc(&b, '{');
    for (size_t i = 0; i < wc->nqueues; i++) {
        sbuf_puts(&b, i ? ",\"" : "\"");
        for (const char *c = wc->queues[i].name; *c; c++) {
            if (*c == '"' || *c == '\\') sbuf_putc(&b, '\\');
            sbuf_putc(&b, *c);
        }
        sbuf_putc(&b, '"');
    }
    sbuf_putc(&b, '}');
    return sbuf_detach(&b);
}

struct jobhist *jobhist_new(uv_loop_t *loop, const struct roster_config *cfg,
                            const struct role_config *rc, const char *worker, char **environ_)
{
    if (!cfg->pg.enabled || !cfg->pg.url) return NULL;
    const char *pool = NULL, *app = NULL;
    for (char **e = environ_; e && *e; e++) {
        if (!strncmp(*e, "ROSTER_PG_POOL_SIZE=", 20)) pool = *e + 20;
        if (!strncmp(*e, "PGAPPNAME=", 10)) app = *e + 10;
    }
    if (!pool || atoi(pool) < 1) {
        printf("history: this role's Postgres share is 0 connections: no job history is kept "
               "(roster_jobs)\n");
        fflush(stdout);
        return NULL;
    }
    char err[256];
    if (lazylib_load(LAZYLIB_PQ, err, sizeof err) < 0) {
        printf("history: %s: no job history is kept (roster_jobs)\n", err);
        fflush(stdout);
        return NULL;
    }
    struct jobhist *h = xcalloc(1, sizeof *h);
    struct pghist_opts o = {.url = cfg->pg.url,
                            .appname = app ? app : rc->name,
                            .table = "roster_jobs",
                            .what = "jobs",
                            .ddl = jobs_ddl,
                            .max_rows = JOBHIST_MAX_ROWS,
                            .log = hist_log,
                            .ud = h};
    h->pg = pghist_new(loop, &o);
    h->worker = xstrdup(worker);
    uint64_t keep = rc->history_keep_ms ? rc->history_keep_ms : CONFIG_HISTORY_KEEP_DEFAULT_MS;
    h->keep_ms = xasprintf("%llu", (unsigned long long)keep);
    h->queues = text_array(&rc->worker);
    retention(h); /* sent once the table is there */
    uv_timer_init(loop, &h->retention);
    h->retention.data = h;
    uv_timer_start(&h->retention, on_retention, JOBHIST_RETENTION_EVERY_MS,
                   JOBHIST_RETENTION_EVERY_MS);
    char k[32];
    units_format_duration(keep, k, sizeof k);
    printf("history: each finished job attempt is a row of roster_jobs in Postgres, kept %s\n", k);
    fflush(stdout);
    return h;
}

void jobhist_clip_utf8(const char *text, size_t max, char *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), i = 0, o = 0;
    while (i < n) {
        size_t len = utf8_seq_len(s, n, i);
        if (len == 0) {
            if (o + 1 > max) break;
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + len > max) break;
        memcpy(out + o, s + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
}

void jobhist_add(struct jobhist *h, const struct jobhist_row *row)
{
    if (!h) return;
    char id[24], attempt[16], code[16] = "", status[16] = "", started[32], finished[32], ms[24];
    char error[JOBHIST_ERROR_MAX + 1];
    snprintf(id, sizeof id, "%llu", (unsigned long long)row->job_id);
    snprintf(attempt, sizeof attempt, "%d", row->attempt);
    if (row->exit_code >= 0) snprintf(code, sizeof code, "%d", row->exit_code);
    if (row->http_status > 0) snprintf(status, sizeof status, "%d", row->http_status);
    snprintf(started, sizeof started, "%.3f", row->started);
    snprintf(finished, sizeof finished, "%.3f", row->finished);
    snprintf(ms, sizeof ms, "%lld", (long long)(row->duration_ms > 0 ? row->duration_ms : 0));
    jobhist_clip_utf8(row->error ? row->error : "", JOBHIST_ERROR_MAX, error);
    const char *p[12] = {id,    row->queue, row->type, attempt, outcome_names[row->outcome],
                         error, code,       status,    started, finished,
                         ms,    h->worker};
    uint64_t dropped = pghist_dropped(h->pg);
    pghist_queue(h->pg, jobs_insert, 12, p);
    /* dropped while Postgres is there: it writes rows slower than jobs finish (an outage is
     * said by pghist itself) */
    if (pghist_dropped(h->pg) > dropped && pghist_pending(h->pg) && !h->said_full) {
        h->said_full = true;
        printf("history: jobs finish faster than Postgres takes their rows: past %d waiting, "
               "rows are dropped (counted, said at exit)\n",
               JOBHIST_MAX_ROWS);
        fflush(stdout);
    }
}

static void on_flush_deadline(uv_timer_t *t)
{
    (void)t; /* it only wakes the loop */
}

void jobhist_flush(struct jobhist *h, uint64_t ms)
{
    if (!h) return;
    uv_loop_t *loop = h->retention.loop;
    uint64_t start = uv_now(loop);
    uv_timer_start(&h->retention, on_flush_deadline, ms, 0);
    while (pghist_pending(h->pg) && uv_now(loop) - start < ms)
        uv_run(loop, UV_RUN_ONCE);
    uv_timer_stop(&h->retention);
    /* what is still queued now is dropped by jobhist_close */
    uint64_t lost = pghist_dropped(h->pg) + pghist_queued(h->pg);
    if (lost)
        printf("history: %llu row%s of roster_jobs not written (Postgres away or slower than the "
               "jobs)\n",
               (unsigned long long)lost, lost == 1 ? "" : "s");
    fflush(stdout);
}

static void hist_free(uv_handle_t *t)
{
    free(t->data);
}

void jobhist_close(struct jobhist *h)
{
    if (!h) return;
    pghist_close(h->pg);
    free(h->worker);
    free(h->keep_ms);
    free(h->queues);
    h->retention.data = h;
    uv_close((uv_handle_t *)&h->retention, hist_free);
}
