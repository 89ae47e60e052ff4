/* schedreport.c — the scheduler's state, metrics and run history. See schedreport.h. */
#include "roles/schedreport.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strmap.h"
#include "base/units.h"
#include "base/util.h"
#include "datastore/pghist.h"
#include "os/lazylib.h"
#include "roles/status.h"

/* The run duration histogram's buckets, in seconds. */
static const double dur_le[] = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600};
#define NBUCKETS ((int)ARRAY_SIZE(dur_le))
/* Skip reasons kept per schedule; another is counted under the last. */
#define MAX_REASONS 8
/* Retention runs at start and then this often. */
#define RETENTION_EVERY_MS (3600 * 1000)
/* A schedule's state that found the channel full is sent again this much later (state is
 * idempotent: the latest is all roster keeps; metrics and records that do not fit are dropped). */
#define RESEND_MS 200
/* Rows waiting for Postgres while it is away. */
#define HISTORY_MAX_ROWS 256

static const char *const outcome_names[SCHED_OUTCOMES] = {"ok", "failed", "timeout", "error",
                                                          "stopped"};

const char *sched_outcome_name(enum sched_outcome o)
{
    return o < SCHED_OUTCOMES ? outcome_names[o] : "?";
}

struct sched_stats {
    const struct schedule_config *cfg;
    char next[48]; /* "" when none */
    uint64_t runs[SCHED_OUTCOMES];
    struct {
        char name[32];
        uint64_t n;
    } skipped[MAX_REASONS];
    int nreasons;
    uint64_t skipped_total;
    double last_success;
    uint64_t buckets[NBUCKETS];
    double dur_sum;
    uint64_t dur_count;
    cJSON *last; /* the last run, as its record, or NULL */
    enum sched_outcome last_outcome;
    bool unsent; /* its latest state found the channel full: sent again on the resend timer */
    /* its latest occurrence was skipped because Redis was unreachable (redis_down: skip): warn
     * until a run, or a claim Redis answered, says otherwise */
    bool down_skip;
};

struct schedreport {
    uv_loop_t *loop;
    const struct role_config *rc;
    struct rstatus ch;
    uint64_t dropped_told; /* the channel's drops last reported */
    struct sched_stats *st;
    size_t n;
    strmap ix; /* a schedule's name to its stats */
    char host[256];
    struct pghist *hist;
    uv_timer_t retention;
    bool retention_on;
    uv_timer_t resend; /* the states that found the channel full */
    bool resend_on;
    int closing; /* handles still closing at the end */
    char *keep_ms, *names; /* the retention's parameters */
};

static struct sched_stats *find(struct schedreport *r, const char *name)
{
    size_t i;
    return strmap_get(&r->ix, name, &i) ? &r->st[i] : NULL;
}

static bool failed(enum sched_outcome o)
{
    return o == SCHED_FAILED || o == SCHED_TIMEOUT || o == SCHED_ERROR;
}

static void send_component(struct schedreport *r, struct sched_stats *s);

/* Sends again the states that found the channel full, until one finds it full again. */
static void on_resend(uv_timer_t *t)
{
    struct schedreport *r = t->data;
    for (size_t i = 0; i < r->n; i++)
        if (r->st[i].unsent) {
            send_component(r, &r->st[i]);
            if (r->st[i].unsent) return; /* still full: the timer was started again */
        }
}

/* scheduler:<name> as /health shows it; when the channel is full, sent again later (the
 * burst of a thousand schedules' states at start may not fit at once). */
static void send_component(struct schedreport *r, struct sched_stats *s)
{
    if (r->ch.fd < 0) return;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "cron", s->cfg->cron);
    if (s->next[0])
        cJSON_AddStringToObject(d, "nextFire", s->next);
    else
        cJSON_AddNullToObject(d, "nextFire");
    uint64_t runs = 0;
    for (int i = 0; i < SCHED_OUTCOMES; i++)
        runs += s->runs[i];
    cJSON_AddNumberToObject(d, "runs", (double)runs);
    cJSON_AddNumberToObject(d, "skipped", (double)s->skipped_total);
    bool warn = (s->last && failed(s->last_outcome)) || s->down_skip;
    if (s->down_skip)
        cJSON_AddStringToObject(d, "output", "the last occurrence was skipped: Redis was "
                                             "unreachable (redis_down: skip)");
    if (s->last) {
        cJSON_AddItemToObject(d, "lastRun", cJSON_Duplicate(s->last, true));
        if (warn && !s->down_skip) {
            const char *det = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s->last, "detail"));
            char out[200];
            snprintf(out, sizeof out, "the last run %s%s%s",
                     s->last_outcome == SCHED_TIMEOUT ? "timed out" : "failed", det ? ": " : "",
                     det ? det : "");
            cJSON_AddStringToObject(d, "output", out);
        }
    }
    char name[96];
    snprintf(name, sizeof name, "scheduler:%s", s->cfg->name);
    s->unsent = rstatus_component(&r->ch, name, "schedule", warn ? "warn" : "ok", d) == -EAGAIN;
    if (!s->unsent) return;
    if (!r->resend_on) {
        uv_timer_init(r->loop, &r->resend);
        r->resend.data = r;
        r->resend_on = true;
    }
    if (!uv_is_active((uv_handle_t *)&r->resend)) uv_timer_start(&r->resend, on_resend, RESEND_MS, 0);
}

static cJSON *labels1(const char *k, const char *v)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, k, v);
    return l;
}

static cJSON *labels2(const char *k1, const char *v1, const char *k2, const char *v2)
{
    cJSON *l = labels1(k1, v1);
    cJSON_AddStringToObject(l, k2, v2);
    return l;
}

/* ---- history in Postgres ------------------------------------------------------------------ */

static const char history_ddl[] =
    "CREATE TABLE IF NOT EXISTS roster_schedule_runs (id bigserial PRIMARY KEY, schedule text "
    "NOT NULL, scheduled_at timestamptz NOT NULL, started timestamptz NOT NULL, finished "
    "timestamptz NOT NULL, outcome text NOT NULL, exit_code int, http_status int, host text NOT "
    "NULL, duration_ms bigint NOT NULL)";
static const char history_insert[] =
    "INSERT INTO roster_schedule_runs (schedule, scheduled_at, started, finished, outcome, "
    "exit_code, http_status, host, duration_ms) VALUES ($1, to_timestamp($2::double precision), "
    "to_timestamp($3::double precision), to_timestamp($4::double precision), $5, "
    "NULLIF($6, '')::int, NULLIF($7, '')::int, $8, $9::bigint)";
/* This role's schedules only: another scheduler role may keep its own for longer. */
static const char history_retention[] =
    "DELETE FROM roster_schedule_runs WHERE finished < now() - $1::bigint * interval '1 "
    "millisecond' AND schedule = ANY($2::text[])";

static void hist_log(void *ud, const char *line)
{
    (void)ud;
    printf("%s\n", line);
    fflush(stdout);
}

static void retention(struct schedreport *r)
{
    const char *p[2] = {r->keep_ms, r->names};
    pghist_queue(r->hist, history_retention, 2, p);
}

static void on_retention(uv_timer_t *t)
{
    retention(t->data);
}

static void history_open(struct schedreport *r, const struct roster_config *cfg,
                         char **environ_)
{
    const char *pool = NULL, *app = NULL;
    for (char **e = environ_; e && *e; e++) {
        if (!strncmp(*e, "ROSTER_PG_POOL_SIZE=", 20)) pool = *e + 20;
        if (!strncmp(*e, "PGAPPNAME=", 10)) app = *e + 10;
    }
    if (!cfg->pg.enabled || !cfg->pg.url) {
        printf("history: the last runs are kept in memory (no postgres: configured)\n");
        return;
    }
    if (!pool || atoi(pool) < 1) {
        printf("history: this role's Postgres share is 0 connections: the last runs are kept "
               "in memory only\n");
        return;
    }
    char err[256];
    if (lazylib_load(LAZYLIB_PQ, err, sizeof err) < 0) {
        printf("history: %s: the last runs are kept in memory only\n", err);
        return;
    }
    struct pghist_opts o = {.url = cfg->pg.url,
                            .appname = app ? app : r->rc->name,
                            .table = "roster_schedule_runs",
                            .ddl = history_ddl,
                            .max_rows = HISTORY_MAX_ROWS,
                            .log = hist_log,
                            .ud = r};
    r->hist = pghist_new(r->loop, &o);
    uint64_t keep = r->rc->history_keep_ms ? r->rc->history_keep_ms : CONFIG_HISTORY_KEEP_DEFAULT_MS;
    r->keep_ms = xasprintf("%llu", (unsigned long long)keep);
    sbuf b;
    sbuf_init(&b);
    sbuf_putc(&b, '{');
    for (size_t i = 0; i < r->n; i++)
        sbuf_printf(&b, "%s%s", i ? "," : "", r->st[i].cfg->name); /* names need no quoting */
    sbuf_putc(&b, '}');
    r->names = sbuf_detach(&b);
    retention(r); /* sent once the table is there */
    uv_timer_init(r->loop, &r->retention);
    r->retention.data = r;
    uv_timer_start(&r->retention, on_retention, RETENTION_EVERY_MS, RETENTION_EVERY_MS);
    r->retention_on = true;
    char k[32];
    units_format_duration(keep, k, sizeof k);
    printf("history: each run is a row of roster_schedule_runs in Postgres, kept %s\n", k);
}

static void history_row(struct schedreport *r, const struct sched_run_report *run)
{
    if (!r->hist) return;
    char sched_at[32], started[32], finished[32], code[16] = "", status[16] = "", ms[32];
    snprintf(sched_at, sizeof sched_at, "%lld", (long long)run->scheduled_at);
    snprintf(started, sizeof started, "%.3f", run->started);
    snprintf(finished, sizeof finished, "%.3f", run->finished);
    if (run->exit_code >= 0) snprintf(code, sizeof code, "%d", run->exit_code);
    if (run->http_status > 0) snprintf(status, sizeof status, "%d", run->http_status);
    snprintf(ms, sizeof ms, "%lld", (long long)((run->finished - run->started) * 1000 + 0.5));
    const char *p[9] = {run->schedule, sched_at, started, finished,
                        sched_outcome_name(run->outcome), code, status, r->host, ms};
    pghist_queue(r->hist, history_insert, 9, p);
}

/* ---- the interface ------------------------------------------------------------------------ */

struct schedreport *schedreport_new(uv_loop_t *loop, const struct roster_config *cfg,
                                    const struct role_config *rc, char **environ_)
{
    struct schedreport *r = xcalloc(1, sizeof *r);
    r->loop = loop;
    r->rc = rc;
    r->n = rc->nschedules;
    r->st = xcalloc(r->n ? r->n : 1, sizeof *r->st);
    for (size_t i = 0; i < r->n; i++) {
        r->st[i].cfg = &rc->schedules[i];
        strmap_put(&r->ix, r->st[i].cfg->name, i);
    }
    if (gethostname(r->host, sizeof r->host - 1) < 0) snprintf(r->host, sizeof r->host, "?");
    rstatus_open(&r->ch, environ_);
    history_open(r, cfg, environ_);
    fflush(stdout);
    return r;
}

void schedreport_next(struct schedreport *r, const char *schedule, const char *next_iso)
{
    struct sched_stats *s = r ? find(r, schedule) : NULL;
    if (!s) return;
    snprintf(s->next, sizeof s->next, "%s", next_iso ? next_iso : "");
    send_component(r, s);
}

void schedreport_run(struct schedreport *r, const struct sched_run_report *run)
{
    struct sched_stats *s = r ? find(r, run->schedule) : NULL;
    if (!s) return;
    double secs = run->finished - run->started;
    if (secs < 0) secs = 0;
    s->runs[run->outcome]++;
    s->down_skip = false;
    if (run->outcome == SCHED_OK) s->last_success = run->finished;
    for (int i = 0; i < NBUCKETS; i++)
        if (secs <= dur_le[i]) s->buckets[i]++;
    s->dur_sum += secs;
    s->dur_count++;

    cJSON *rec = cJSON_CreateObject();
    char iso[40];
    cJSON_AddStringToObject(rec, "outcome", sched_outcome_name(run->outcome));
    format_iso8601(iso, sizeof iso, (double)run->scheduled_at);
    cJSON_AddStringToObject(rec, "scheduledAt", iso);
    format_iso8601(iso, sizeof iso, run->started);
    cJSON_AddStringToObject(rec, "startedAt", iso);
    format_iso8601(iso, sizeof iso, run->finished);
    cJSON_AddStringToObject(rec, "finishedAt", iso);
    cJSON_AddNumberToObject(rec, "durationMs", (double)(long long)(secs * 1000 + 0.5));
    if (run->exit_code >= 0) cJSON_AddNumberToObject(rec, "exitCode", run->exit_code);
    if (run->http_status > 0) cJSON_AddNumberToObject(rec, "httpStatus", run->http_status);
    if (run->detail) cJSON_AddStringToObject(rec, "detail", run->detail);
    cJSON_Delete(s->last);
    s->last = cJSON_Duplicate(rec, true);
    s->last_outcome = run->outcome;

    char key[96];
    snprintf(key, sizeof key, "scheduler:%s", s->cfg->name);
    rstatus_record(&r->ch, key, rec);
    send_component(r, s);
    const char *name = s->cfg->name;
    rstatus_metric(&r->ch, "roster_schedule_runs_total", "counter",
                   "Runs of the schedule by outcome (ok, failed, timeout, error, stopped).",
                   labels2("schedule", name, "outcome", sched_outcome_name(run->outcome)),
                   (double)s->runs[run->outcome]);
    if (s->last_success > 0)
        rstatus_metric(&r->ch, "roster_schedule_last_success_timestamp_seconds", "gauge",
                       "Unix time the schedule's last successful run finished.",
                       labels1("schedule", name), s->last_success);
    rstatus_histogram(&r->ch, "roster_schedule_run_duration_seconds",
                      "How long the schedule's runs took.", labels1("schedule", name), dur_le,
                      s->buckets, NBUCKETS, s->dur_sum, s->dur_count);
    history_row(r, run);
    /* messages that did not fit are counted, and the count itself goes once there is room */
    if (r->ch.dropped > r->dropped_told &&
        rstatus_metric(&r->ch, "roster_schedule_status_dropped_total", "counter",
                       "The scheduler's status messages dropped: roster was slow to read them.",
                       NULL, (double)r->ch.dropped) == 0)
        r->dropped_told = r->ch.dropped;
}

void schedreport_skipped(struct schedreport *r, const char *schedule, const char *reason)
{
    struct sched_stats *s = r ? find(r, schedule) : NULL;
    if (!s) return;
    int k = 0;
    while (k < s->nreasons && strcmp(s->skipped[k].name, reason))
        k++;
    if (k == s->nreasons) {
        if (s->nreasons == MAX_REASONS)
            k = MAX_REASONS - 1;
        else
            snprintf(s->skipped[s->nreasons++].name, sizeof s->skipped[0].name, "%s", reason);
    }
    s->skipped[k].n++;
    s->skipped_total++;
    if (!strcmp(reason, "redis_down"))
        s->down_skip = true;
    else if (!strcmp(reason, "another_replica"))
        s->down_skip = false; /* Redis answered the claim */
    rstatus_metric(&r->ch, "roster_schedule_skipped_total", "counter",
                   "Occurrences of the schedule that did not run, by reason.",
                   labels2("schedule", s->cfg->name, "reason", s->skipped[k].name),
                   (double)s->skipped[k].n);
    send_component(r, s);
}

static void on_flush_deadline(uv_timer_t *t)
{
    (void)t; /* it only wakes the loop */
}

void schedreport_flush(struct schedreport *r, uint64_t ms)
{
    if (!r || !r->hist || !r->retention_on) return;
    uint64_t start = uv_now(r->loop);
    uv_timer_start(&r->retention, on_flush_deadline, ms, 0);
    while (pghist_pending(r->hist) && uv_now(r->loop) - start < ms)
        uv_run(r->loop, UV_RUN_ONCE);
    uv_timer_stop(&r->retention);
}

static void report_free(uv_handle_t *h)
{
    struct schedreport *r = h->data;
    if (--r->closing == 0) free(r);
}

void schedreport_close(struct schedreport *r)
{
    if (!r) return;
    pghist_close(r->hist);
    rstatus_close(&r->ch);
    for (size_t i = 0; i < r->n; i++)
        cJSON_Delete(r->st[i].last);
    free(r->st);
    strmap_free(&r->ix);
    free(r->keep_ms);
    free(r->names);
    r->closing = r->retention_on + r->resend_on;
    if (r->retention_on) {
        r->retention.data = r;
        uv_close((uv_handle_t *)&r->retention, report_free);
    }
    if (r->resend_on) uv_close((uv_handle_t *)&r->resend, report_free);
    if (!r->closing) free(r);
}
