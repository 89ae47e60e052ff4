/* probe.c — readiness and liveness checks. See probe.h. */
#include "checks/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/exitstatus.h"
#include "base/hostport.h"
#include "checks/checks.h"
#include "checks/curlm.h"
#include "os/proc.h"
#include "supervise/supervisor.h"
#include "base/units.h"

struct tcp_attempt {
    uv_tcp_t tcp;
    uv_connect_t req;
    struct probe *p; /* NULL once the probe gave up on it */
};

struct gai_attempt {
    uv_getaddrinfo_t req;
    struct probe *p;
    char port[8];
};

/* A batch of output lines being matched against a log probe's pattern on the pool. */
struct log_job {
    uv_work_t work;
    struct probe *p; /* kept alive by a reference (p->handles) until log_done */
    strvec lines;
    atomic_bool cancel; /* the probe stopped: the rest of the batch is not worth matching */
    bool matched;
};

static void attempt(struct probe *p);

static void on_next_attempt(uv_timer_t *t)
{
    attempt(t->data);
}

static void tcp_attempt_closed(uv_handle_t *h)
{
    free(h->data);
}

static void set_result(struct probe *p, const char *fmt, ...) ROSTER_PRINTF(2, 3);
static void set_result(struct probe *p, const char *fmt, ...)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "%s %s: ", p->mode == PROBE_MODE_READY ? "ready" : "live",
                probe_kind_name(p->cfg.kind));
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(*p->result);
    *p->result = sbuf_detach(&b);
}

/* One handle (or a log batch in flight) fewer; the last frees the probe. */
static void probe_unref(struct probe *p)
{
    if (--p->handles == 0) {
        if (p->re_ok) regfree(&p->re);
        strvec_free(&p->pending);
        free(p->cfg.target);
        free(p);
    }
}

static void handle_closed(uv_handle_t *h)
{
    probe_unref(h->data);
}

static void end_attempt(struct probe *p)
{
    p->in_flight = false;
    if (p->http) {
        curlm_cancel(p->http);
        p->http = NULL;
    }
    if (p->tcp) {
        p->tcp->p = NULL;
        if (!uv_is_closing((uv_handle_t *)&p->tcp->tcp))
            uv_close((uv_handle_t *)&p->tcp->tcp, tcp_attempt_closed);
        p->tcp = NULL;
    }
    if (p->gai) {
        p->gai->p = NULL; /* the resolver's callback frees it */
        uv_cancel((uv_req_t *)&p->gai->req);
        p->gai = NULL;
    }
    if (p->exec_pid > 0) {
        proc_signal_group(p->exec_pid, SIGKILL);
        p->exec_pid = 0; /* reaped as an orphan-like child */
    }
    /* the per-attempt timeout: on the limit timer for live probes, on timer for ready ones */
    uv_timer_stop(p->mode == PROBE_MODE_LIVE ? &p->limit : &p->timer);
}

/* The outcome of one attempt. */
static void outcome(struct probe *p, bool ok, const char *detail)
{
    struct instance *in = p->in;
    end_attempt(p);
    if (p->stopped) return;
    if (p->mode == PROBE_MODE_READY) {
        if (ok) {
            set_result(p, "%s", detail);
            uv_timer_stop(&p->limit);
            p->stopped = true; /* done; hooks stop and free it when the state moves on */
            sup_post_ready(in, detail);
            return;
        }
        set_result(p, "%s", detail);
        uv_timer_start(&p->timer, on_next_attempt, p->cfg.every_ms, 0);
        return;
    }
    if (ok) {
        p->failures = 0;
        set_result(p, "%s", detail);
    } else {
        p->failures++;
        set_result(p, "%s (%d of %d)", detail, p->failures, p->cfg.failures);
        if (p->failures >= p->cfg.failures) {
            char why[256];
            snprintf(why, sizeof why, "liveness check failed %d times: %s", p->failures, detail);
            p->stopped = true;
            sup_post_fail(in, why);
            return;
        }
    }
    uv_timer_start(&p->timer, on_next_attempt, p->cfg.every_ms, 0);
}

/* ---- http ---- */

/* The attempt ran out of its time: said the same way whether roster's timer or the request's own
 * limit (curl) ended it first. */
static void attempt_timed_out(struct probe *p)
{
    char tmo[32];
    units_format_duration(p->attempt_ms, tmo, sizeof tmo);
    char detail[64];
    snprintf(detail, sizeof detail, "timed out after %s", tmo);
    outcome(p, false, detail);
}

static void http_done(void *ud, long status, const char *err, double secs)
{
    struct probe *p = ud;
    char detail[200];
    p->http = NULL;
    if (status == -ETIMEDOUT) {
        /* curl's limit is the attempt's: it is said in roster's words, as the timer says it */
        attempt_timed_out(p);
    } else if (status >= 200 && status < 400) {
        snprintf(detail, sizeof detail, "HTTP %ld in %.0f ms", status, secs * 1000);
        outcome(p, true, detail);
    } else if (status) {
        snprintf(detail, sizeof detail, "HTTP %ld", status);
        outcome(p, false, detail);
    } else {
        snprintf(detail, sizeof detail, "%s", err);
        outcome(p, false, detail);
    }
}

/* ---- tcp ---- */

static void tcp_connected(uv_connect_t *req, int status)
{
    struct tcp_attempt *a = req->data;
    struct probe *p = a->p;
    if (!p) return; /* abandoned: the close callback frees it */
    char detail[160];
    if (status == 0)
        snprintf(detail, sizeof detail, "tcp connected");
    else /* which copy's port was tried, as curl says for http */
        snprintf(detail, sizeof detail, "connect to %s: %s", p->cfg.target, uv_strerror(status));
    outcome(p, status == 0, detail);
}

static void tcp_connect_to(struct probe *p, const struct sockaddr *sa)
{
    struct tcp_attempt *a = xcalloc(1, sizeof *a);
    a->p = p;
    a->req.data = a;
    uv_tcp_init(p->in->role->sup->loop, &a->tcp);
    a->tcp.data = a;
    p->tcp = a;
    int rc = uv_tcp_connect(&a->req, &a->tcp, sa, tcp_connected);
    if (rc < 0) {
        char detail[160];
        snprintf(detail, sizeof detail, "connect: %s", uv_strerror(rc));
        outcome(p, false, detail);
    }
}

static void gai_done(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct gai_attempt *g = req->data;
    struct probe *p = g->p;
    if (p && p->gai == g) {
        p->gai = NULL;
        if (status < 0 || !res) {
            char detail[160];
            snprintf(detail, sizeof detail, "resolve: %s", uv_strerror(status));
            outcome(p, false, detail);
        } else {
            tcp_connect_to(p, res->ai_addr);
        }
    }
    if (res) uv_freeaddrinfo(res);
    free(g);
}

static void tcp_attempt(struct probe *p)
{
    struct hostport hp;
    if (hostport_parse(p->cfg.target, strlen(p->cfg.target), HOSTPORT_NEED_PORT, &hp) !=
        HOSTPORT_OK) {
        outcome(p, false, "target is not host:port");
        return;
    }
    const char *host = hp.host[0] ? hp.host : "127.0.0.1";
    struct sockaddr_storage ss;
    if (uv_ip4_addr(host, hp.port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, hp.port, (struct sockaddr_in6 *)&ss) == 0) {
        tcp_connect_to(p, (struct sockaddr *)&ss);
        return;
    }
    struct gai_attempt *g = xcalloc(1, sizeof *g);
    g->p = p;
    g->req.data = g;
    snprintf(g->port, sizeof g->port, "%d", hp.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    p->gai = g;
    int rc = uv_getaddrinfo(p->in->role->sup->loop, &g->req, gai_done, host, g->port, &hints);
    if (rc < 0) {
        p->gai = NULL;
        free(g);
        char detail[160];
        snprintf(detail, sizeof detail, "resolve: %s", uv_strerror(rc));
        outcome(p, false, detail);
    }
}

/* ---- exec ---- */

static void exec_attempt(struct probe *p)
{
    struct instance *in = p->in;
    struct role *r = in->role;
    envmap env = {0};
    plan_instance_env(r->plan, r->pidx, in->index, &env);
    char **envp = envmap_to_envp(&env);
    envmap_free(&env);
    char *argv[4] = {"/bin/sh", "-c", p->cfg.target, NULL};
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    struct spawn_opts so;
    role_spawn_opts(r, &so);
    so.argv = argv;
    so.envp = envp;
    so.stdout_fd = devnull;
    so.stderr_fd = devnull;
    pid_t pid = 0;
    char err[200];
    int rc = proc_spawn(&so, &pid, err, sizeof err);
    close(devnull);
    envp_free(envp);
    if (pid > 0) p->exec_pid = pid;
    if (rc < 0 && pid <= 0) outcome(p, false, err);
}

bool probe_owns(const struct probe *p, pid_t pid)
{
    return p && pid > 0 && p->exec_pid == pid;
}

bool probe_reaped(struct probe *p, pid_t pid, int status)
{
    if (!p || p->exec_pid != pid || pid <= 0) return false;
    p->exec_pid = 0;
    int code, sig;
    exitstatus_decode(status, &code, &sig);
    char detail[64];
    exitstatus_describe(code, sig, EXITSTATUS_PROBE, detail, sizeof detail);
    outcome(p, code == 0, detail);
    return true;
}

/* ---- scheduling ---- */

static void on_attempt_timeout(uv_timer_t *t)
{
    attempt_timed_out(t->data);
}

static void on_ready_deadline(uv_timer_t *t)
{
    struct probe *p = t->data;
    if (p->stopped) return;
    char tmo[32];
    units_format_duration(p->cfg.timeout_ms, tmo, sizeof tmo);
    char why[200];
    snprintf(why, sizeof why, "not ready within %s (%s)", tmo,
             *p->result ? *p->result : "no answer");
    end_attempt(p);
    p->stopped = true;
    sup_post_fail(p->in, why);
}

static void on_watchdog(uv_timer_t *t)
{
    struct probe *p = t->data;
    if (p->stopped) return;
    char tmo[32], why[128];
    units_format_duration(p->cfg.watchdog_ms, tmo, sizeof tmo);
    snprintf(why, sizeof why, "watchdog: no WATCHDOG=1 within %s", tmo);
    set_result(p, "no WATCHDOG=1 within %s", tmo);
    p->stopped = true;
    sup_post_fail(p->in, why);
}

static void attempt(struct probe *p)
{
    if (p->stopped || p->in_flight) return;
    p->in_flight = true;
    uint64_t tmo = p->mode == PROBE_MODE_READY ? p->cfg.attempt_timeout_ms : p->cfg.timeout_ms;
    p->attempt_ms = tmo;
    if (p->mode == PROBE_MODE_LIVE) uv_timer_start(&p->limit, on_attempt_timeout, tmo, 0);
    if (!p->cfg.target && (p->cfg.kind == PROBE_HTTP || p->cfg.kind == PROBE_TCP)) {
        outcome(p, false, "the target does not expand for this copy");
        return;
    }
    switch (p->cfg.kind) {
    case PROBE_HTTP: {
        /* libcurl (and the TLS library it initialises) is set up on the first HTTP probe only:
         * a roster without one does not carry its pages */
        struct curlm *curl = checks_curl(p->checks);
        p->http = curl ? curlm_get(curl, p->cfg.target, tmo, http_done, p) : NULL;
        if (!p->http)
            outcome(p, false, curl ? "cannot start the request" : "libcurl cannot be loaded");
        break;
    }
    case PROBE_TCP: tcp_attempt(p); break;
    case PROBE_EXEC: exec_attempt(p); break;
    default: p->in_flight = false; break;
    }
    /* ready attempts are bounded by a per-attempt timer too */
    if (p->mode == PROBE_MODE_READY && p->in_flight && !p->stopped)
        uv_timer_start(&p->timer, on_attempt_timeout, tmo, 0);
}

struct probe *probe_start(struct instance *in, enum probe_mode mode, struct checks *ck,
                          char **result)
{
    const struct role_config *c = role_cfg(in->role);
    const struct probe_config *pc = mode == PROBE_MODE_READY ? &c->ready : &c->live;
    if (pc->kind == PROBE_NONE) return NULL;
    struct probe *p = xcalloc(1, sizeof *p);
    p->in = in;
    p->checks = ck;
    p->result = result;
    p->mode = mode;
    p->cfg = *pc;
    /* http and tcp targets are templates: ${PORT} is this copy's port (plan_probe_target) */
    char err[256];
    if (plan_probe_target(in->role->plan, in->role->pidx, in->index, mode == PROBE_MODE_LIVE,
                          &p->cfg.target, err, sizeof err) < 0)
        p->cfg.target = NULL;
    uv_loop_t *loop = in->role->sup->loop;
    uv_timer_init(loop, &p->timer);
    uv_timer_init(loop, &p->limit);
    p->timer.data = p->limit.data = p;
    p->handles = 2;
    if (p->cfg.kind == PROBE_LOG) {
        p->re_ok = regcomp(&p->re, p->cfg.target, REG_EXTENDED | REG_NOSUB) == 0;
    }
    if (mode == PROBE_MODE_READY) {
        uv_timer_start(&p->limit, on_ready_deadline, p->cfg.timeout_ms, 0);
        if (p->cfg.kind == PROBE_HTTP || p->cfg.kind == PROBE_TCP || p->cfg.kind == PROBE_EXEC)
            attempt(p);
    } else if (p->cfg.kind == PROBE_NOTIFY) {
        /* a watchdog: the first ping is due one interval after the start */
        uv_timer_start(&p->timer, on_watchdog, p->cfg.watchdog_ms, 0);
    } else {
        uv_timer_start(&p->timer, on_next_attempt, p->cfg.every_ms, 0);
    }
    return p;
}

void probe_stop(struct probe *p)
{
    if (!p) return;
    p->stopped = true;
    if (p->job) atomic_store(&p->job->cancel, true); /* it frees itself, then the probe */
    end_attempt(p);
    uv_timer_stop(&p->timer);
    uv_timer_stop(&p->limit);
    uv_close((uv_handle_t *)&p->timer, handle_closed);
    uv_close((uv_handle_t *)&p->limit, handle_closed);
}

/* ---- log: matched on libuv's pool, so no pattern can stall the loop ---- */

static void log_work(uv_work_t *w)
{
    struct log_job *j = w->data;
    for (size_t i = 0; i < j->lines.n && !atomic_load(&j->cancel); i++)
        if (regexec(&j->p->re, j->lines.v[i], 0, NULL, 0) == 0) {
            j->matched = true;
            break;
        }
}

static void log_start(struct probe *p);

static void log_done(uv_work_t *w, int status)
{
    struct log_job *j = w->data;
    struct probe *p = j->p;
    p->job = NULL;
    bool matched = status == 0 && j->matched;
    strvec_free(&j->lines);
    free(j);
    if (!p->stopped) {
        if (matched)
            outcome(p, true, "log line matched");
        else if (p->dropped)
            set_result(p, "no line matched yet; %llu lines skipped while matching fell behind",
                       (unsigned long long)p->dropped);
        if (!matched && p->pending.n) log_start(p);
    }
    probe_unref(p);
}

/* Hands every waiting line to one batch on the pool. */
static void log_start(struct probe *p)
{
    struct log_job *j = xcalloc(1, sizeof *j);
    j->work.data = j;
    j->p = p;
    j->lines = p->pending;
    memset(&p->pending, 0, sizeof p->pending);
    atomic_init(&j->cancel, false);
    if (uv_queue_work(p->in->role->sup->loop, &j->work, log_work, log_done) < 0) {
        strvec_free(&j->lines);
        free(j);
        return;
    }
    p->job = j;
    p->handles++;
}

void probe_line(struct probe *p, const char *line, size_t len)
{
    if (!p || p->stopped || p->cfg.kind != PROBE_LOG || !p->re_ok) return;
    /* only the first PROBE_LOG_MATCH_MAX bytes are matched (see probe.h) */
    if (len > PROBE_LOG_MATCH_MAX) len = PROBE_LOG_MATCH_MAX;
    if (p->pending.n == PROBE_LOG_PENDING) {
        free(p->pending.v[0]);
        memmove(p->pending.v, p->pending.v + 1, (p->pending.n - 1) * sizeof *p->pending.v);
        p->pending.n--;
        p->dropped++;
    }
    strvec_push(&p->pending, xasprintf("%.*s", (int)len, line));
    if (!p->job) log_start(p);
}

void probe_notify(struct probe *p, bool ready, bool watchdog)
{
    if (!p || p->stopped || p->cfg.kind != PROBE_NOTIFY) return;
    if (p->mode == PROBE_MODE_READY && ready) outcome(p, true, "READY=1");
    if (p->mode == PROBE_MODE_LIVE && watchdog) {
        set_result(p, "WATCHDOG=1");
        uv_timer_start(&p->timer, on_watchdog, p->cfg.watchdog_ms, 0);
    }
}
