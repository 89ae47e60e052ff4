/* scheduler.c — the built-in scheduler role: one uv timer (and a wall-clock alarm) per
 * schedule, armed for the next occurrence that cron_next computes; each occurrence runs the
 * schedule's command (in a process group of its own, its output marked with the schedule's name:
 * log/taskmark.h) or its http request (httpc for http://, libcurl for https://, both on the
 * loop), and each run is logged with its outcome and duration. It runs in its own process
 * (`roster role NAME`), so it reaps only its own children and may use uv_spawn. */
#include "roles/scheduler.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "base/util.h"
#include "checks/curlm.h"
#include "checks/httpc.h"
#include "log/linebuf.h"
#include "log/logfmt.h"
#include "os/sys.h"
#include "roles/cmdrun.h"
#include "roles/schedfleet.h"
#include "roles/schedjobs.h"
#include "roles/schedreport.h"
#include "sched/cron.h"
#include "sched/tz.h"

/* A timer wakes at least this often, so that a change of the system clock is noticed within it
 * (uv timers run on the monotonic clock; occurrences are wall-clock instants). */
#define SCHED_MAX_SLEEP_MS 60000
/* An occurrence found more than this late (the clock jumped forward, the machine slept) is
 * missed and logged, not run: the next one is computed from now. */
#define SCHED_LATE_MS 30000
/* A command's group is sent SIGKILL this long after SIGTERM (timeout, or roster stopping). */
#define SCHED_KILL_GRACE_MS 5000
/* After a command's process exits, its output pipes are read this much longer: a grandchild
 * that keeps them open must not hold the run open. */
#define SCHED_DRAIN_MS 1000
/* One line of a command's output is framed in pieces of at most this many bytes. */
#define SCHED_MAX_LINE 16384
/* With overlap: allow, at most this many runs of one schedule go at once; more are skipped. */
#define SCHED_MAX_RUNS 64
/* At most this many schedules (the first in the config) get a wall-clock alarm, a descriptor
 * each: a role may have 1000 schedules, and under the common soft limit of 1024 descriptors
 * alarms for all left too few for the runs' pipes and sockets ("too many open files"). The
 * others keep to the loop's timer, a couple of ms later at most. */
#define SCHED_MAX_ALARMS 64
/* An http action without timeout: gives up after this long. */
#define SCHED_HTTP_TIMEOUT_MS (5 * 60 * 1000)
/* Stopping, the history rows still queued get this long to be written. */
#define SCHED_FLUSH_MS 3000
/* Of a failed request's answer, the log shows the first line, cut at this many bytes. */
#define SCHED_HTTP_SHOWN 200

struct sched;

/* One run of a schedule: a command or an http request. */
struct run {
    struct job *job;
    int64_t scheduled_at;
    uint64_t started_ms; /* the loop's clock (uv_now), which the timeout runs on */
    int64_t started_wall_ms; /* the wall clock, for the runs list */
    struct cmdrun cmd; /* a command (cmdrun.h) */
    pid_t pid; /* the command's, also its process group's id; 0: none */
    int pending; /* parts still to end before the run is done (handles, the request) */
    bool exited, timed_out, stopped;
    int64_t exit_status;
    int term_signal;
    uv_timer_t timer; /* the timeout */
    struct curlm_req *req; /* an https:// request (libcurl) */
    struct httpc *hreq;    /* an http:// request (httpc, no libcurl) */
    long http_status; /* 0: no response */
    char http_err[160];
    char *http_answer; /* a failed request's first line of answer, escaped; NULL: none */
    bool enqueuing;    /* an enqueue in flight (Redis answers within its command timeout) */
    uint64_t job_id;   /* the job an enqueue put on its queue; 0: none */
    struct run *next;
};

/* One schedule of the role. */
struct job {
    struct sched *s;
    const struct schedule_config *cfg;
    struct cron cron;
    struct tz tz;
    uv_timer_t timer;
    /* The due instant to the microsecond (the loop's timers count whole milliseconds, from a
     * clock read at the start of the loop turn, so they wake up to ~2 ms late): a wall-clock
     * timerfd polled on the loop; -1 where there is none (the timer alone then). */
    int alarm_fd;
    uv_poll_t alarm;
    int64_t due; /* the next occurrence, seconds since the epoch */
    int running;
    uint64_t skipped, runs;
};

struct sched {
    uv_loop_t *loop;
    const char *role;
    const char *cwd; /* the role's cwd:, or NULL */
    char **environ_;
    struct job *jobs;
    size_t njobs;
    struct run *runs; /* running */
    struct curlm *curl;
    struct schedjobs *queue; /* the enqueue actions' Redis connection; NULL: none has one */
    struct schedreport *report; /* state, metrics and history (schedreport.h) */
    uv_signal_t sigterm, sigint;
    bool stopping;
    struct schedfleet *fleet; /* claims, catch-up, runs list, triggers (Redis) */
};

static void logf_(const struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The scheduler's own lines: "NAME: text" on stdout (the supervisor frames them with the role's
 * prefix, as it frames any role's output). */
static void logf_(const struct job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", j->cfg->name);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
}

static void on_fire(uv_timer_t *t);

static uint64_t mono_ms(void) { return uv_hrtime() / 1000000; }

/* --- runs ----------------------------------------------------------------------------------- */

static void run_free(uv_handle_t *h)
{
    struct run *r = h->data;
    struct job *j = r->job;
    struct sched *s = j->s;
    for (struct run **p = &s->runs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    j->running--;
    free(r->http_answer);
    free(r);
    if (s->stopping && !s->runs) uv_stop(s->loop);
}

/* Whether an answer's status is a success: one of expect:, else any 2xx. */
static bool http_expected(const struct schedule_http *h, long status)
{
    if (!h->nexpect) return status >= 200 && status <= 299;
    for (size_t i = 0; i < h->nexpect; i++)
        if (h->expect[i] == status) return true;
    return false;
}

/* "failed: HTTP 503 in 0.004s (expected 200 or 204): answered "first line"". */
static void http_failed(struct run *r, double secs)
{
    const struct schedule_http *h = &r->job->cfg->req;
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < h->nexpect; i++)
        sbuf_printf(&b, "%s%d",
                    i == 0                ? " (expected "
                    : i + 1 == h->nexpect ? " or "
                                          : ", ",
                    h->expect[i]);
    if (h->nexpect) sbuf_putc(&b, ')');
    if (r->http_answer) sbuf_printf(&b, ": answered \"%s\"", r->http_answer);
    logf_(r->job, "failed: HTTP %ld in %.3fs%s", r->http_status, secs, b.data ? b.data : "");
    sbuf_free(&b);
}

/* Tells schedreport (/health, /metrics, history) and the fleet's runs list how a run ended
 * (outcome, exit code or HTTP status, duration), as run_done logs it: one classification for
 * both, so that they name each run alike. */
static void report_run(struct run *r, double secs)
{
    struct job *j = r->job;
    struct sched_run_report rep = {.schedule = j->cfg->name,
                                   .scheduled_at = r->scheduled_at,
                                   .finished = (double)wall_ms() / 1000.0,
                                   .exit_code = -1};
    rep.started = rep.finished - secs;
    char detail[200];
    if (j->cfg->enq.pos.line && r->job_id) {
        rep.outcome = SCHED_OK;
        snprintf(detail, sizeof detail, "enqueued job %llu on %s", (unsigned long long)r->job_id,
                 j->cfg->enq.queue);
    } else if (j->cfg->enq.pos.line) {
        rep.outcome = SCHED_ERROR;
        snprintf(detail, sizeof detail, "enqueue: %s", r->http_err[0] ? r->http_err : "no answer");
    } else if (r->timed_out) {
        rep.outcome = SCHED_TIMEOUT;
        snprintf(detail, sizeof detail, "timed out after %.3fs", secs);
    } else if (r->stopped) {
        rep.outcome = SCHED_STOPPED;
        snprintf(detail, sizeof detail, "roster stopped it");
    } else if (j->cfg->http && r->http_status > 0) {
        rep.http_status = (int)r->http_status;
        rep.outcome = http_expected(&j->cfg->req, r->http_status) ? SCHED_OK : SCHED_FAILED;
        snprintf(detail, sizeof detail, "HTTP %ld", r->http_status);
    } else if (j->cfg->http) {
        rep.outcome = SCHED_ERROR;
        snprintf(detail, sizeof detail, "%s", r->http_err[0] ? r->http_err : "request failed");
    } else if (r->term_signal) {
        rep.outcome = SCHED_FAILED;
        snprintf(detail, sizeof detail, "killed by signal %d", r->term_signal);
    } else {
        rep.exit_code = (int)r->exit_status;
        rep.outcome = r->exit_status == 0 ? SCHED_OK : r->pid > 0 ? SCHED_FAILED : SCHED_ERROR;
        snprintf(detail, sizeof detail, r->pid > 0 ? "exit %lld" : "cannot run it (exit %lld)",
                 (long long)r->exit_status);
    }
    rep.detail = detail;
    schedreport_run(j->s->report, &rep);
    /* the runs list shows an exit code only for a command that ran */
    struct fleet_run fr = {.scheduled_at = r->scheduled_at,
                           .started_ms = r->started_wall_ms,
                           .finished_ms = wall_ms(),
                           .outcome = sched_outcome_name(rep.outcome),
                           .exit_code = r->pid > 0 ? rep.exit_code : -1,
                           .http_status = r->http_status};
    schedfleet_finished(j->s->fleet, (size_t)(j - j->s->jobs), &fr);
}


/* Logs how a run ended; then the run's last handle is closed and it is freed. */
static void run_done(struct run *r)
{
    struct job *j = r->job;
    double secs = (double)(mono_ms() - r->started_ms) / 1000.0;
    report_run(r, secs);
    const char *what = j->cfg->http ? "the request was aborted" : "the command's group was killed";
    if (j->cfg->enq.pos.line && r->job_id)
        logf_(j, "finished ok: enqueued job %llu on %s in %.3fs", (unsigned long long)r->job_id,
              j->cfg->enq.queue, secs);
    else if (j->cfg->enq.pos.line)
        logf_(j, "failed: enqueue: %s in %.3fs", r->http_err[0] ? r->http_err : "no answer", secs);
    else if (r->timed_out)
        logf_(j, "failed: timed out after %.3fs (%s)", secs, what);
    else if (r->stopped)
        logf_(j, "stopped after %.3fs (roster is stopping)", secs);
    else if (j->cfg->http && http_expected(&j->cfg->req, r->http_status))
        logf_(j, "finished ok: HTTP %ld in %.3fs", r->http_status, secs);
    else if (j->cfg->http && r->http_status > 0)
        http_failed(r, secs);
    else if (j->cfg->http)
        logf_(j, "failed: %s in %.3fs", r->http_err[0] ? r->http_err : "request failed", secs);
    else if (r->term_signal)
        logf_(j, "failed: killed by signal %d after %.3fs", r->term_signal, secs);
    else if (r->exit_status == 0)
        logf_(j, "finished ok: exit 0 in %.3fs", secs);
    else
        logf_(j, "failed: exit %lld in %.3fs", (long long)r->exit_status, secs);
    uv_close((uv_handle_t *)&r->timer, run_free);
}

static void run_unref(struct run *r)
{
    if (--r->pending == 0) run_done(r);
}

/* Ends a run early: the request is aborted; the command's group gets SIGTERM, then SIGKILL. */
static void run_abort(struct run *r)
{
    if (r->enqueuing) return; /* Redis answers it (or the command times out) within seconds */
    if (r->req || r->hreq) {
        if (r->req) curlm_cancel(r->req);
        if (r->hreq) httpc_cancel(r->hreq);
        r->req = NULL;
        r->hreq = NULL;
        run_unref(r);
        return;
    }
    uv_timer_stop(&r->timer); /* the grace, not the timeout, runs from here */
    cmdrun_terminate(&r->cmd);
}

static void on_run_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    r->timed_out = true;
    run_abort(r);
}

static void on_exit_(void *ud, struct cmdrun *cr)
{
    struct run *r = ud;
    r->exited = true;
    r->exit_status = cr->exit_status;
    r->term_signal = cr->term_signal;
    uv_timer_stop(&r->timer);
}

static void on_cmd_done(void *ud, struct cmdrun *cr)
{
    (void)cr;
    run_unref(ud);
}

static void run_command(struct run *r, const char *at_iso)
{
    struct job *j = r->job;
    struct sched *s = j->s;
    strvec argv = {0}, env = {0};
    cmdrun_argv(j->cfg->shell, &j->cfg->argv, &argv);
    for (char **e = s->environ_; e && *e; e++)
        if (strncmp(*e, "ROSTER_SCHEDULE=", 16) && strncmp(*e, "ROSTER_SCHEDULED_AT=", 20) &&
            strncmp(*e, "ROSTER_STATUS_FD=", 17)) /* the channel is the scheduler's alone */
            strvec_pushdup(&env, *e);
    strvec_push(&env, xasprintf("ROSTER_SCHEDULE=%s", j->cfg->name));
    strvec_push(&env, xasprintf("ROSTER_SCHEDULED_AT=%s", at_iso));
    strvec_push(&argv, NULL);
    strvec_push(&env, NULL);

    struct cmdrun_opts o = {.argv = argv.v,
                            .env = env.v,
                            /* the role's (the supervisor started this process in roster's) */
                            .cwd = s->cwd,
                            /* "scheduler/NAME | line" */
                            .mark = j->cfg->name,
                            .max_line = SCHED_MAX_LINE,
                            .drain_ms = SCHED_DRAIN_MS,
                            .grace_ms = SCHED_KILL_GRACE_MS,
                            .on_exit = on_exit_,
                            .on_done = on_cmd_done,
                            .ud = r};
    r->pending++; /* the command, until its handles are closed (at once when it cannot start) */
    int rc = cmdrun_start(&r->cmd, s->loop, &o);
    if (rc < 0) {
        logf_(j, "cannot run %s: %s", argv.v[0], uv_strerror(rc));
        r->exit_status = 127;
    } else {
        r->pid = r->cmd.pid;
        if (j->cfg->timeout_ms) uv_timer_start(&r->timer, on_run_timer, j->cfg->timeout_ms, 0);
    }
    strvec_free(&argv);
    strvec_free(&env);
}

/* The first line of a failed request's answer, at most SCHED_HTTP_SHOWN bytes (cut on a
 * character's boundary), its control characters escaped; NULL when it has none. */
static char *answer_line(const char *p, size_t len)
{
    size_t n = 0;
    while (n < len && p[n] != '\n' && p[n] != '\r')
        n++;
    bool cut = n > SCHED_HTTP_SHOWN;
    if (cut) n = linebuf_cut(p, SCHED_HTTP_SHOWN);
    if (n == 0) return NULL;
    sbuf b;
    sbuf_init(&b);
    logfmt_text_escape(&b, p, n, 0);
    if (cut) sbuf_puts(&b, "...");
    return b.data;
}

/* A request's end, by either client: body is the answer's first bytes. */
static void http_end(struct run *r, long status, const char *err, const char *body, size_t len)
{
    if (status > 0 && !http_expected(&r->job->cfg->req, status))
        r->http_answer = answer_line(body, len);
    r->req = NULL;
    r->hreq = NULL;
    if (status == -ETIMEDOUT) r->timed_out = true;
    r->http_status = status > 0 ? status : 0;
    snprintf(r->http_err, sizeof r->http_err, "%s", err ? err : "");
    run_unref(r);
}

static void on_curl(void *ud, long status, const char *err, double seconds)
{
    struct run *r = ud;
    size_t len;
    const char *body = curlm_response(r->req, &len);
    (void)seconds;
    http_end(r, status, err, body, len);
}

static void on_httpc(void *ud, long status, const char *err)
{
    struct run *r = ud;
    size_t len;
    const char *body = httpc_response(r->hreq, &len);
    http_end(r, status, err, body, len);
}

/* "METHOD URL" (the loader checked the form), with the mapping form's headers and body. A
 * plain http:// URL is sent by httpc, so that a scheduler calling its app does not load libcurl
 * (~8 MB of RSS); https:// goes through libcurl. */
static void run_http(struct run *r)
{
    struct job *j = r->job;
    const char *h = j->cfg->http, *sp = strchr(h, ' ');
    char method[16];
    snprintf(method, sizeof method, "%.*s", sp && sp - h < 16 ? (int)(sp - h) : 0, h);
    const char *url = sp ? sp + 1 : h;
    while (*url == ' ')
        url++;
    /* no timeout: a cap of our own keeps a hung server from holding the schedule forever */
    uint64_t to = j->cfg->timeout_ms ? j->cfg->timeout_ms : SCHED_HTTP_TIMEOUT_MS;
    const struct schedule_http *req = &j->cfg->req;
    const char *const *hs = (const char *const *)req->headers.v;
    /* the answer's first bytes are kept, to say what a failure answered */
    size_t keep = SCHED_HTTP_SHOWN + 8;
    r->pending++;
    if (httpc_handles(url)) {
        r->hreq = httpc_request(j->s->loop, method, url, hs, req->headers.n, req->body, to, keep,
                                on_httpc, r);
        if (!r->hreq) {
            snprintf(r->http_err, sizeof r->http_err, "cannot start the request");
            run_unref(r);
        }
        return;
    }
    if (!j->s->curl) j->s->curl = curlm_new(j->s->loop);
    /* the connection is kept for the next run (a schedule firing often reuses it) */
    struct curlm_opts o = {
        .headers = hs, .nheaders = req->headers.n, .body = req->body, .keep = keep, .reuse = true};
    r->req = j->s->curl ? curlm_request_opts(j->s->curl, method, url, to, &o, on_curl, r) : NULL;
    if (!r->req) {
        snprintf(r->http_err, sizeof r->http_err, "%s",
                 j->s->curl ? "cannot start the request" : "libcurl is not installed");
        run_unref(r);
    }
}

static void on_enqueued(void *ud, uint64_t id, const char *err)
{
    struct run *r = ud;
    r->enqueuing = false;
    r->job_id = id;
    snprintf(r->http_err, sizeof r->http_err, "%s", err ? err : "");
    run_unref(r);
}

/* The schedule's job, put on its queue in Redis (schedjobs.h). */
static void run_enqueue(struct run *r)
{
    struct job *j = r->job;
    r->pending++;
    if (schedjobs_enqueue(j->s->queue, &j->cfg->enq, on_enqueued, r, r->http_err,
                          sizeof r->http_err) == 0)
        r->enqueuing = true;
    else
        run_unref(r);
}

/* --- timers --------------------------------------------------------------------------------- */

static void start_run(struct job *j, int64_t at)
{
    struct sched *s = j->s;
    char iso[40];
    cron_format_time(&j->tz, at, iso, sizeof iso);
    if (j->running && (j->cfg->overlap == OVERLAP_SKIP || j->running >= SCHED_MAX_RUNS)) {
        j->skipped++;
        schedreport_skipped(s->report, j->cfg->name, "overlap");
        logf_(j, "skipped the run of %s: %s (%llu skipped)", iso,
              j->cfg->overlap == OVERLAP_SKIP ? "the previous run is still going"
                                              : "too many runs are still going",
              (unsigned long long)j->skipped);
        return;
    }
    struct run *r = xcalloc(1, sizeof *r);
    r->job = j;
    r->scheduled_at = at;
    r->started_ms = uv_now(s->loop); /* the clock the timeout timer runs on */
    r->started_wall_ms = wall_ms();
    uv_timer_init(s->loop, &r->timer);
    r->timer.data = r;
    r->next = s->runs;
    s->runs = r;
    j->running++;
    j->runs++;
    r->pending = 1; /* released below, once the run's parts are counted */
    if (j->cfg->http || j->cfg->enq.pos.line) {
        /* the request first, the line after: writing it must not delay the request (the run
         * cannot end before the pending count is released below, so the lines stay in order) */
        if (j->cfg->http)
            run_http(r);
        else
            run_enqueue(r);
        logf_(j, "started the run of %s", iso);
    } else {
        logf_(j, "started the run of %s", iso);
        run_command(r, iso);
    }
    run_unref(r);
}

static void on_alarm(uv_poll_t *p, int status, int events)
{
    struct job *j = p->data;
    (void)status;
    (void)events;
    uv_poll_stop(p);
    on_fire(&j->timer);
}

/* Arms j's timer for its due time, waking at least every SCHED_MAX_SLEEP_MS. With an alarm
 * descriptor, that wakes the schedule at the due instant and the timer, a few ms later, is
 * only the fallback. */
static void arm(struct job *j)
{
    char iso[40];
    cron_format_time(&j->tz, j->due, iso, sizeof iso);
    schedreport_next(j->s->report, j->cfg->name, iso); /* at least once a minute */
    int64_t left = j->due * 1000 - wall_ms();
    if (left < 0) left = 0;
    if (j->alarm_fd >= 0 && left <= SCHED_MAX_SLEEP_MS &&
        os_alarm_set(j->alarm_fd, j->due * 1000000000) == 0) {
        uv_poll_start(&j->alarm, UV_READABLE, on_alarm);
        left += 20;
    }
    if (left > SCHED_MAX_SLEEP_MS) left = SCHED_MAX_SLEEP_MS;
    uv_update_time(j->s->loop); /* from now, not from the start of this loop turn */
    uv_timer_start(&j->timer, on_fire, (uint64_t)left, 0);
}

/* The next occurrence after t; false (logged) when there is none. */
static bool next_after(struct job *j, int64_t t)
{
    if (cron_next(&j->cron, &j->tz, t, &j->due)) return true;
    logf_(j, "has no further occurrence; it stops");
    return false;
}

static void on_fire(uv_timer_t *t)
{
    struct job *j = t->data;
    if (j->s->stopping) return;
    int64_t now = wall_ms(), now_s = now / 1000;
    if (now < j->due * 1000) {
        /* Early: a wake to notice clock changes. Set back, the clock makes the next occurrence
         * earlier than the one waited for: it is computed from now again. */
        int64_t again;
        if (cron_next(&j->cron, &j->tz, now_s, &again) && again < j->due) j->due = again;
        arm(j);
        return;
    }
    if (now - j->due * 1000 > SCHED_LATE_MS) {
        char iso[40];
        cron_format_time(&j->tz, j->due, iso, sizeof iso);
        logf_(j, "missed the run of %s (the clock jumped forward, or roster was stopped); "
                 "the next is computed from now", iso);
    } else {
        schedfleet_fire(j->s->fleet, (size_t)(j - j->s->jobs), j->due);
    }
    if (next_after(j, now_s)) arm(j);
}

/* The fleet gives an occurrence (or a manual request) this replica is to run. */
static void fleet_run(void *ud, size_t i, int64_t at)
{
    struct sched *s = ud;
    if (!s->stopping) start_run(&s->jobs[i], at);
}

/* An occurrence another replica took, or that Redis being down skipped: counted in /metrics. */
static void fleet_skipped(void *ud, size_t i, int64_t at, enum fleet_skip why)
{
    struct sched *s = ud;
    (void)at;
    schedreport_skipped(s->report, s->jobs[i].cfg->name, fleet_skip_name(why));
}

/* --- the process ---------------------------------------------------------------------------- */

static void on_signal(uv_signal_t *h, int sig)
{
    struct sched *s = h->data;
    (void)sig;
    if (s->stopping) return;
    s->stopping = true;
    schedfleet_stop(s->fleet);
    for (size_t i = 0; i < s->njobs; i++) {
        uv_timer_stop(&s->jobs[i].timer);
        if (s->jobs[i].alarm_fd >= 0) uv_poll_stop(&s->jobs[i].alarm);
    }
    for (struct run *r = s->runs; r; r = r->next) {
        r->stopped = true;
        run_abort(r);
    }
    if (!s->runs) uv_stop(s->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* Reads a schedule's cron and zone (the loader accepted both; TZ of this environment, the
 * default zone, may still name none). Returns 0, or -1 with the error printed. */
static int job_init(struct sched *s, struct job *j, const struct schedule_config *c)
{
    j->s = s;
    j->cfg = c;
    j->alarm_fd = -1;
    struct cron_error ce;
    if (cron_parse(c->cron, &j->cron, &ce)) {
        char msg[160];
        cron_error_format(&ce, msg, sizeof msg);
        fprintf(stderr, "roster role %s: schedule %s: %s\n", s->role, c->name, msg);
        return -1;
    }
    const char *name = c->tz, *dir = NULL;
    for (char **e = s->environ_; e && *e; e++) {
        if (!c->tz && !strncmp(*e, "TZ=", 3) && (*e)[3]) name = *e + 3;
        if (!strncmp(*e, "TZDIR=", 6)) dir = *e + 6;
    }
    enum tz_err te = tz_load(name ? name : "UTC", dir, &j->tz);
    if (te) {
        char msg[320];
        tz_error_format(te, dir, msg, sizeof msg);
        fprintf(stderr, "roster role %s: schedule %s: time zone '%.80s': %s\n", s->role, c->name,
                name, msg);
        return -1;
    }
    return 0;
}

int scheduler_main(const struct roster_config *cfg, const char *role, char **environ_)
{
    const struct role_config *rc = NULL;
    for (size_t i = 0; i < cfg->nroles; i++)
        if (!strcmp(cfg->roles[i].name, role)) rc = &cfg->roles[i];
    if (!rc || rc->builtin != BUILTIN_SCHEDULER) {
        fprintf(stderr, "roster role: '%s' is no role with builtin: scheduler in %s\n", role,
                cfg->path);
        return 2;
    }
    /* roster killed outright (SIGKILL) cannot stop its roles: this one then stops itself */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct sched s = {.loop = &loop, .role = role, .cwd = rc->cwd, .environ_ = environ_};
    s.jobs = xcalloc(rc->nschedules ? rc->nschedules : 1, sizeof *s.jobs);
    int ret = 0;
    for (size_t i = 0; i < rc->nschedules && ret == 0; i++, s.njobs++)
        if (job_init(&s, &s.jobs[i], &rc->schedules[i]) < 0) ret = 2;
    if (ret == 0) {
        struct fleet_sched *fs = xcalloc(s.njobs ? s.njobs : 1, sizeof *fs);
        for (size_t i = 0; i < s.njobs; i++)
            fs[i] = (struct fleet_sched){rc->schedules + i, &s.jobs[i].cron, &s.jobs[i].tz};
        char err[256] = "";
        struct schedfleet_hooks h = {.ud = &s, .run = fleet_run, .skipped = fleet_skipped};
        s.fleet = schedfleet_new(&loop, cfg, rc, fs, s.njobs, environ_, &h, err, sizeof err);
        free(fs);
        if (!s.fleet) {
            fprintf(stderr, "roster role %s: redis: %s\n", role, err);
            ret = 2;
        }
    }
    for (size_t i = 0; i < rc->nschedules && ret == 0 && !s.queue; i++) {
        if (!rc->schedules[i].enq.pos.line) continue;
        char err[256];
        s.queue = schedjobs_new(&loop, schedfleet_redis(s.fleet), cfg->app, err,
                                 sizeof err);
        if (!s.queue) {
            fprintf(stderr, "roster role %s: redis: %s\n", role, err);
            ret = 2;
        }
    }
    if (ret == 0) {
        uv_signal_init(&loop, &s.sigterm);
        uv_signal_init(&loop, &s.sigint);
        s.sigterm.data = s.sigint.data = &s;
        uv_signal_start(&s.sigterm, on_signal, SIGTERM);
        uv_signal_start(&s.sigint, on_signal, SIGINT);
        s.report = schedreport_new(&loop, cfg, rc, environ_);
        int64_t now_s = wall_ms() / 1000;
        for (size_t i = 0; i < s.njobs; i++) {
            struct job *j = &s.jobs[i];
            uv_timer_init(&loop, &j->timer);
            j->timer.data = j;
            j->alarm_fd = i < SCHED_MAX_ALARMS ? os_alarm_fd() : -1;
            if (j->alarm_fd >= 0 && uv_poll_init(&loop, &j->alarm, j->alarm_fd) < 0) {
                close(j->alarm_fd);
                j->alarm_fd = -1;
            }
            j->alarm.data = j;
            if (next_after(j, now_s)) arm(j);
        }
        schedfleet_start(s.fleet, now_s);
        printf("%zu schedule%s\n", s.njobs, s.njobs == 1 ? "" : "s");
        fflush(stdout);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    schedfleet_settle(s.fleet, SCHED_FLUSH_MS);
    schedreport_flush(s.report, SCHED_FLUSH_MS);
    if (s.curl) curlm_close(s.curl);
    schedfleet_close(s.fleet); /* the enqueues in flight are answered (with an error) */
    schedjobs_free(s.queue);
    schedreport_close(s.report);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    schedfleet_free(s.fleet);
    for (size_t i = 0; i < s.njobs; i++) {
        tz_free(&s.jobs[i].tz);
        if (s.jobs[i].alarm_fd >= 0) close(s.jobs[i].alarm_fd);
    }
    free(s.jobs);
    return ret;
}
