/* handler.c — one job run by its handler: a command in a process group of its own (payload on
 * stdin, ROSTER_JOB_* in its environment, its output shown as "worker/TYPE#ID | line", a timeout
 * and a polled RSS ceiling that kill the group), or an http request (the body signed, on a
 * kept-alive connection: plain http:// by httpc's pool, so that the worker does not load libcurl
 * and the TLS libraries it brings; https:// by libcurl on the loop). Each run ends once, with an
 * outcome and a reason.
 */
#include "roles/handler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/exitstatus.h"
#include "base/sha256.h"
#include "base/units.h"
#include "base/util.h"
#include "checks/curlm.h"
#include "checks/httpc.h"
#include "log/taskmark.h"
#include "os/proc.h"
#include "roles/cmdrun.h"

/* After a command's process exits, its output pipes are read this much longer (a process that
 * left the group may still hold them). */
#define HANDLER_DRAIN_MS 1000
/* The first bytes of an http answer kept, to say what a failure answered. */
#define HANDLER_HTTP_KEEP 512

/* Why a run was ended from outside its own course. */
enum end_why { END_NONE, END_TIMEOUT, END_MEMORY, END_STOPPED, END_START };

struct handler_run {
    struct handlers *hs;
    const struct handler_config *h;
    char *id, *type, *queue, *payload;
    size_t payload_len;
    int attempt;
    handler_cb cb;
    void *ud;
    uint64_t started_ms;
    int pending;      /* handles and parts still to end; the run ends at 0 */
    uv_timer_t timer; /* timeout */
    enum end_why why;
    char why_text[128];
    /* command */
    struct cmdrun cmd;
    pid_t pid;
    bool exited;
    int64_t exit_status;
    int term_signal;
    uv_pipe_t in;
    uv_write_t wr;
    /* http */
    struct curlm_req *req; /* https:// */
    struct httpc *hreq;    /* http:// */
    strvec headers;
    long status;
    int64_t retry_after;
    char http_err[160];
    char answer[96]; /* the answer's first line, escaped */
    struct handler_run *next;
};

struct handlers {
    uv_loop_t *loop;
    const char *role, *cwd;
    char **environ_;
    struct curlm *curl;
    struct httpc_pool *pool; /* http:// handlers' kept-alive connections */
    size_t concurrency;
    uv_timer_t mem_timer;
    bool mem_polling;
    struct handler_run *runs;
    size_t nruns;
};

struct handlers *handlers_new(uv_loop_t *loop, const char *role, const char *cwd, char **environ_)
{
    struct handlers *hs = xcalloc(1, sizeof *hs);
    hs->loop = loop;
    hs->role = role;
    hs->cwd = cwd;
    hs->environ_ = environ_;
    uv_timer_init(loop, &hs->mem_timer);
    hs->mem_timer.data = hs;
    /* a handler that exits without reading its stdin must cost a write EPIPE, not this process */
    signal(SIGPIPE, SIG_IGN);
    return hs;
}

void handlers_set_concurrency(struct handlers *hs, size_t n)
{
    hs->concurrency = n;
}

size_t handlers_running(const struct handlers *hs)
{
    return hs->nruns;
}

static void hs_freed(uv_handle_t *h)
{
    free(h->data);
}

void handlers_close(struct handlers *hs)
{
    if (hs->curl) curlm_close(hs->curl);
    if (hs->pool) httpc_pool_close(hs->pool);
    uv_close((uv_handle_t *)&hs->mem_timer, hs_freed);
}

size_t handler_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                         size_t outlen)
{
    char ts[32];
    unsigned char mac[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    int n = snprintf(ts, sizeof ts, "%lld.", (long long)t);
    hmac_sha256(secret, strlen(secret), ts, (size_t)n, body, len, mac);
    hex_encode(mac, sizeof mac, hex);
    int w = snprintf(out, outlen, "t=%lld,v1=%s", (long long)t, hex);
    return w < 0 ? 0 : (size_t)w;
}

/* --- the end of a run ----------------------------------------------------------------------- */

static void run_freed(uv_handle_t *h)
{
    struct handler_run *r = h->data;
    strvec_free(&r->headers);
    free(r->id);
    free(r->type);
    free(r->queue);
    free(r->payload);
    free(r);
}

static void timeout_text(const struct handler_run *r, char *buf, size_t n)
{
    char d[32];
    units_format_duration(r->h->timeout_ms ? r->h->timeout_ms : WORKER_HTTP_TIMEOUT_MS, d,
                          sizeof d);
    snprintf(buf, n, "timeout after %s", d);
}

/* How the run ended, from what was seen. */
static void result_of(struct handler_run *r, struct handler_result *res)
{
    memset(res, 0, sizeof *res);
    res->seconds = (double)(uv_now(r->hs->loop) - r->started_ms) / 1000.0;
    res->outcome = HANDLER_FAILED;
    res->retry_after_s = -1;
    /* what the history (roster_jobs) records beside the outcome */
    res->exit_code = !r->h->url && r->exited && !r->term_signal ? (int)r->exit_status : -1;
    res->http_status = r->h->url && r->status > 0 ? (int)r->status : 0;
    switch (r->why) {
    case END_TIMEOUT: timeout_text(r, res->error, sizeof res->error); return;
    case END_MEMORY:
    case END_START: snprintf(res->error, sizeof res->error, "%s", r->why_text); return;
    case END_STOPPED:
        /* a command that finished on its own before the stop took hold did its job */
        if (!r->h->url && r->exited && !r->term_signal && r->exit_status == 0) {
            res->outcome = HANDLER_OK;
            return;
        }
        res->outcome = HANDLER_STOPPED;
        snprintf(res->error, sizeof res->error, "stopped (the worker is stopping)");
        return;
    case END_NONE: break;
    }
    if (r->h->url) {
        if (r->status >= 200 && r->status <= 299) {
            res->outcome = HANDLER_OK;
        } else if ((r->status == 429 || r->status == 503) && r->retry_after >= 0) {
            res->outcome = HANDLER_LATER;
            res->retry_after_s = r->retry_after;
            snprintf(res->error, sizeof res->error, "HTTP %ld, Retry-After %llds", r->status,
                     (long long)r->retry_after);
        } else if (r->status > 0) {
            snprintf(res->error, sizeof res->error, "HTTP %ld%s%s", r->status,
                     r->answer[0] ? ": " : "", r->answer);
        } else {
            snprintf(res->error, sizeof res->error, "%s",
                     r->http_err[0] ? r->http_err : "request failed");
        }
        return;
    }
    if (r->term_signal || r->exit_status != 0)
        exitstatus_describe(r->term_signal ? -1 : (int)r->exit_status, r->term_signal,
                            EXITSTATUS_PROBE, res->error, sizeof res->error);
    else
        res->outcome = HANDLER_OK;
}

static void run_end(struct handler_run *r)
{
    struct handlers *hs = r->hs;
    for (struct handler_run **p = &hs->runs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    hs->nruns--;
    struct handler_result res;
    result_of(r, &res);
    r->cb(r->ud, &res);
    uv_close((uv_handle_t *)&r->timer, run_freed);
}

static void run_unref(struct handler_run *r)
{
    if (--r->pending == 0) run_end(r);
}

static void part_closed(uv_handle_t *h)
{
    run_unref(h->data);
}

/* --- a command ------------------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t)
{
    struct handler_run *r = t->data;
    if (r->h->url) return; /* curlm or httpc keeps an http request's own timeout */
    r->why = END_TIMEOUT;
    cmdrun_terminate(&r->cmd);
}

static void on_exit_(void *ud, struct cmdrun *cr)
{
    struct handler_run *r = ud;
    r->exited = true;
    r->exit_status = cr->exit_status;
    r->term_signal = cr->term_signal;
    uv_timer_stop(&r->timer);
}

static void on_done(void *ud, struct cmdrun *cr)
{
    (void)cr;
    run_unref(ud);
}

static void on_written(uv_write_t *w, int status)
{
    struct handler_run *r = w->data;
    /* EPIPE: the handler did not read its payload, which is its business */
    (void)status;
    uv_close((uv_handle_t *)&r->in, part_closed);
}

static void poll_memory(uv_timer_t *t);

static void start_command(struct handler_run *r)
{
    struct handlers *hs = r->hs;
    strvec argv = {0}, env = {0};
    cmdrun_argv(r->h->shell, &r->h->argv, &argv);
    for (char **e = hs->environ_; e && *e; e++)
        if (strncmp(*e, "ROSTER_JOB_", 11)) strvec_pushdup(&env, *e);
    strvec_push(&env, xasprintf("ROSTER_JOB_ID=%s", r->id));
    strvec_push(&env, xasprintf("ROSTER_JOB_TYPE=%s", r->type));
    strvec_push(&env, xasprintf("ROSTER_JOB_ATTEMPT=%d", r->attempt));
    strvec_push(&env, xasprintf("ROSTER_JOB_QUEUE=%s", r->queue));
    strvec_push(&argv, NULL);
    strvec_push(&env, NULL);

    uv_pipe_init(hs->loop, &r->in, 0);
    r->in.data = r;
    r->pending++;
    /* its lines are the job's: "worker/TYPE#ID | line" */
    char mark[TASKMARK_MAX_NAME + 32];
    snprintf(mark, sizeof mark, "%s#%s", r->type, r->id);
    struct cmdrun_opts o = {.argv = argv.v,
                            .env = env.v,
                            .cwd = hs->cwd,
                            .mark = mark,
                            .in = &r->in,
                            .max_line = HANDLER_MAX_LINE,
                            .drain_ms = HANDLER_DRAIN_MS,
                            .grace_ms = HANDLER_KILL_GRACE_MS,
                            /* nothing of one job lives on beside the next */
                            .kill_at_exit = true,
                            .on_exit = on_exit_,
                            .on_done = on_done,
                            .ud = r};
    r->pending++; /* the command, until its handles are closed */
    int rc = cmdrun_start(&r->cmd, hs->loop, &o);
    if (rc < 0) {
        r->why = END_START;
        snprintf(r->why_text, sizeof r->why_text, "cannot run %.80s: %s", argv.v[0],
                 uv_strerror(rc));
        uv_close((uv_handle_t *)&r->in, part_closed);
    } else {
        r->pid = r->cmd.pid;
        uv_buf_t b = uv_buf_init(r->payload, (unsigned)r->payload_len);
        r->wr.data = r;
        if (r->payload_len == 0 || uv_write(&r->wr, (uv_stream_t *)&r->in, &b, 1, on_written) < 0)
            uv_close((uv_handle_t *)&r->in, part_closed);
        if (r->h->timeout_ms) uv_timer_start(&r->timer, on_timer, r->h->timeout_ms, 0);
        if (r->h->max_memory && !hs->mem_polling) {
            hs->mem_polling = true;
            uv_timer_start(&hs->mem_timer, poll_memory, HANDLER_MEMORY_POLL_MS,
                           HANDLER_MEMORY_POLL_MS);
        }
    }
    strvec_free(&argv);
    strvec_free(&env);
}

/* Reads the RSS of every command group with max_memory in one pass over /proc; a group over
 * its limit is killed at once (SIGKILL: given a grace it would only grow). It is polled RSS,
 * not a cgroup: a spike between two polls is not seen. */
static void poll_memory(uv_timer_t *t)
{
    struct handlers *hs = t->data;
    size_t n = 0;
    for (struct handler_run *r = hs->runs; r; r = r->next)
        if (r->h->max_memory && r->pid > 0 && !r->exited && r->why == END_NONE) n++;
    if (n == 0) {
        hs->mem_polling = false;
        uv_timer_stop(t);
        return;
    }
    pid_t *pgids = xcalloc(n, sizeof *pgids);
    uint64_t *rss = xcalloc(n, sizeof *rss);
    struct handler_run **who = xcalloc(n, sizeof *who);
    size_t i = 0;
    for (struct handler_run *r = hs->runs; r && i < n; r = r->next)
        if (r->h->max_memory && r->pid > 0 && !r->exited && r->why == END_NONE) {
            who[i] = r;
            pgids[i++] = r->pid;
        }
    struct proc_scan sc = {.pgids = pgids, .rss = rss, .n = n};
    proc_scan(&sc);
    for (i = 0; i < n; i++) {
        struct handler_run *r = who[i];
        if (rss[i] <= r->h->max_memory) continue;
        char lim[32], got[32];
        units_format_size(r->h->max_memory, lim, sizeof lim);
        units_format_size(rss[i], got, sizeof got);
        r->why = END_MEMORY;
        snprintf(r->why_text, sizeof r->why_text, "memory limit %s exceeded (RSS %s)", lim, got);
        cmdrun_kill(&r->cmd, SIGKILL);
    }
    free(pgids);
    free(rss);
    free(who);
}

/* --- an http request ------------------------------------------------------------------------ */

/* The answer's first line, with anything unprintable escaped, to say what a failure answered. */
static void keep_answer(struct handler_run *r, const char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && p[i] != '\n' && o + 5 < sizeof r->answer; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r') break;
        if (c >= 0x20 && c < 0x7f)
            r->answer[o++] = (char)c;
        else
            o += (size_t)snprintf(r->answer + o, sizeof r->answer - o, "\\x%02x", c);
    }
    r->answer[o] = '\0';
}

/* How a request ended, from curlm or httpc (their callbacks say it alike). */
static void http_ended(struct handler_run *r, long status, const char *err)
{
    if (status == -ETIMEDOUT) {
        r->why = END_TIMEOUT;
        return;
    }
    r->status = status > 0 ? status : 0;
    snprintf(r->http_err, sizeof r->http_err, "%s", err ? err : "");
    size_t n = 0;
    const char *a = NULL;
    if (r->status && r->req) {
        r->retry_after = curlm_retry_after(r->req);
        a = curlm_response(r->req, &n);
    } else if (r->status && r->hreq) {
        r->retry_after = httpc_retry_after(r->hreq);
        a = httpc_response(r->hreq, &n);
    }
    if (a) keep_answer(r, a, n);
}

static void on_http(void *ud, long status, const char *err, double seconds)
{
    struct handler_run *r = ud;
    (void)seconds;
    http_ended(r, status, err);
    r->req = NULL;
    run_unref(r);
}

static void on_httpc(void *ud, long status, const char *err)
{
    struct handler_run *r = ud;
    http_ended(r, status, err);
    r->hreq = NULL;
    run_unref(r);
}

static void on_deferred(uv_timer_t *t)
{
    run_unref(t->data);
}

static void start_http(struct handler_run *r)
{
    struct handlers *hs = r->hs;
    const struct handler_config *h = r->h;
    bool plain = httpc_handles(h->url);
    strvec_pushdup(&r->headers, "Content-Type: application/json");
    /* no 100-continue round trip before a larger body (curl's; httpc never sends one) */
    if (!plain) strvec_pushdup(&r->headers, "Expect:");
    strvec_push(&r->headers, xasprintf("Roster-Job-Id: %s", r->id));
    strvec_push(&r->headers, xasprintf("Roster-Job-Type: %s", r->type));
    strvec_push(&r->headers, xasprintf("Roster-Job-Queue: %s", r->queue));
    strvec_push(&r->headers, xasprintf("Roster-Job-Attempt: %d", r->attempt));
    if (h->secret) {
        char sig[128];
        handler_signature(h->secret, (int64_t)time(NULL), r->payload, r->payload_len, sig,
                          sizeof sig);
        strvec_push(&r->headers, xasprintf("Roster-Signature: %s", sig));
    }
    for (size_t i = 0; i < h->headers.n; i++)
        strvec_pushdup(&r->headers, h->headers.v[i]);
    uint64_t to = h->timeout_ms ? h->timeout_ms : WORKER_HTTP_TIMEOUT_MS;
    const char *method = h->method ? h->method : "POST";
    r->pending++;
    if (plain) {
        if (!hs->pool) hs->pool = httpc_pool_new(hs->loop, hs->concurrency ? hs->concurrency : 1);
        r->hreq = httpc_pool_request(hs->pool, method, h->url, (const char *const *)r->headers.v,
                                     r->headers.n, r->payload, to, HANDLER_HTTP_KEEP, on_httpc, r);
        if (!r->hreq) { /* httpc_handles said yes: not reached */
            r->why = END_START;
            snprintf(r->why_text, sizeof r->why_text, "cannot start the request");
            uv_timer_start(&r->timer, on_deferred, 0, 0);
        }
        return;
    }
    if (!hs->curl) hs->curl = curlm_new(hs->loop);
    struct curlm_opts o = {
        .headers = (const char *const *)r->headers.v,
        .nheaders = r->headers.n,
        .body = r->payload,
        .keep = HANDLER_HTTP_KEEP,
        .reuse = true,
    };
    r->req = hs->curl ? curlm_request_opts(hs->curl, method, h->url, to, &o, on_http, r) : NULL;
    if (!r->req) {
        r->why = END_START;
        snprintf(r->why_text, sizeof r->why_text, "%s",
                 hs->curl ? "cannot start the request" : "libcurl is not installed");
        /* ended on the next loop turn, not inside handler_start */
        uv_timer_start(&r->timer, on_deferred, 0, 0);
    }
}

/* --- runs ----------------------------------------------------------------------------------- */

struct handler_run *handler_start(struct handlers *hs, const struct handler_config *h,
                                  const struct handler_job *j, handler_cb cb, void *ud)
{
    struct handler_run *r = xcalloc(1, sizeof *r);
    r->hs = hs;
    r->h = h;
    r->id = xstrdup(j->id);
    r->type = xstrdup(j->type);
    r->queue = xstrdup(j->queue);
    r->attempt = j->attempt;
    /* terminated: curl sends the body as a string */
    r->payload = xstrndup(j->payload ? j->payload : "", j->payload_len);
    r->payload_len = strlen(r->payload);
    r->cb = cb;
    r->ud = ud;
    r->started_ms = uv_now(hs->loop);
    r->retry_after = -1;
    uv_timer_init(hs->loop, &r->timer);
    r->timer.data = r;
    r->next = hs->runs;
    hs->runs = r;
    hs->nruns++;
    r->pending = 1; /* released below, once the run's parts are counted */
    if (h->url)
        start_http(r);
    else
        start_command(r);
    run_unref(r);
    return r;
}

void handler_stop(struct handler_run *r)
{
    if (r->why == END_NONE) r->why = END_STOPPED;
    if (r->req) {
        curlm_cancel(r->req);
        r->req = NULL;
        run_unref(r);
        return;
    }
    if (r->hreq) {
        httpc_cancel(r->hreq);
        r->hreq = NULL;
        run_unref(r);
        return;
    }
    if (r->h->url) return;
    uv_timer_stop(&r->timer); /* the grace, not the timeout, runs from here */
    cmdrun_terminate(&r->cmd);
}
