/* health.c — the health server: /livez, /readyz, /health (application/health+json, after
 * draft-inadarei-api-health-check) and /metrics, answered from memory on roster's loop.
 * Nothing here changes state; the control socket (control.c) does that. */
#include "serve/health.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/redact.h"
#include "checks/checks.h"
#include "datastore/pgconn.h"
#include "datastore/redisconn.h"
#include "datastore/services.h"
#include "os/lazylib.h"
#include "serve/httpd.h"
#include "serve/metrics.h"
#include "serve/rolechan.h"
#include "serve/status.h"

static void add_exit(cJSON *o, const struct instance *in)
{
    cJSON *e = status_add_exit(o, "lastExit", in);
    if (!e) return;
    char ts[32];
    format_iso8601(ts, sizeof ts, in->exit.wall);
    cJSON_AddStringToObject(e, "time", ts);
}

/* Adds text that may hold a URL (a probe target, a driver's or exec's error) with its
 * passwords masked. */
static void add_redacted(cJSON *o, const char *name, const char *text)
{
    char *r = redact_text(text);
    cJSON_AddStringToObject(o, name, r);
    free(r);
}

struct render {
    const struct view *v;
    cJSON *checks;
    enum health_level level;
    double now;
    char now_s[32];
};

static void add_instance(void *ud, const struct instance *in)
{
    struct render *rd = ud;
    const char *why;
    enum health_level lvl = status_instance(rd->v, in, rd->now, &why);
    const char *probe = checks_probe_result(rd->v->checks, in);
    const char *status_text = checks_status_text(rd->v->checks, in);
    if (lvl > rd->level) rd->level = lvl;
    char key[96];
    snprintf(key, sizeof key, "%s:uptime", role_cfg(in->role)->name);
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(rd->checks, key);
    if (!arr) arr = cJSON_AddArrayToObject(rd->checks, key);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "componentId", in->label);
    cJSON_AddStringToObject(o, "componentType", "process");
    cJSON_AddStringToObject(o, "status", health_level_name(lvl));
    cJSON_AddStringToObject(o, "state", inst_state_name(in->state));
    if (in->pid > 0) cJSON_AddNumberToObject(o, "pid", in->pid);
    cJSON_AddNumberToObject(o, "observedValue",
                            (double)(long)(status_uptime(in, rd->now) * 10) / 10);
    cJSON_AddStringToObject(o, "observedUnit", "s");
    cJSON_AddNumberToObject(o, "restarts", in->restarts);
    add_exit(o, in);
    if (probe) add_redacted(o, "probe", probe);
    if (status_text) add_redacted(o, "statusText", status_text);
    if (in->spawn_error) add_redacted(o, "error", in->spawn_error);
    if (why) cJSON_AddStringToObject(o, "output", why);
    cJSON_AddStringToObject(o, "time", rd->now_s);
    cJSON_AddItemToArray(arr, o);
}

/* The postgres:* and redis:* checks; raises *level as needed. */
static void add_services(const struct view *view, cJSON *checks, const char *now, int *level)
{
    const struct services *v = view->services;
    const struct sup *s = view->s;
    if (!v) return;
    const struct roster_config *c = &s->plan->cfg;
    if (v->pg) {
        int lvl = v->pg_up ? HEALTH_PASS : c->pg.required ? HEALTH_FAIL : HEALTH_WARN;
        cJSON *arr = cJSON_AddArrayToObject(checks, "postgres:responseTime");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "componentType", "datastore");
        if (v->pg_up && v->pg_response >= 0)
            cJSON_AddNumberToObject(o, "observedValue", (double)(long)(v->pg_response * 1e4) / 10);
        cJSON_AddStringToObject(o, "observedUnit", "ms");
        cJSON_AddStringToObject(o, "status", health_level_name((enum health_level)lvl));
        if (!v->pg_up) add_redacted(o, "output", pgconn_error(v->pg));
        cJSON_AddStringToObject(o, "time", now);
        cJSON_AddItemToArray(arr, o);
        if (lvl > *level) *level = lvl;

        int clvl = HEALTH_PASS;
        arr = cJSON_AddArrayToObject(checks, "postgres:connections");
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "componentType", "datastore");
        if (v->sampled) cJSON_AddNumberToObject(o, "observedValue", v->total_used);
        cJSON_AddStringToObject(o, "observedUnit", "connections");
        if (s->plan->budget_known) cJSON_AddNumberToObject(o, "budget", s->plan->budget.usable);
        cJSON *roles = cJSON_AddObjectToObject(o, "roles");
        sbuf over;
        sbuf_init(&over);
        for (size_t i = 0; s->plan->budget_known && i < s->plan->budget.nlines; i++) {
            const struct budget_line *l = &s->plan->budget.lines[i];
            cJSON *r = cJSON_AddObjectToObject(roles, l->role);
            int used = 0;
            bool is_over = false;
            for (size_t k = 0; k < v->nusage; k++)
                if (!strcmp(v->usage[k].role, l->role)) {
                    used = v->usage[k].used;
                    is_over = v->usage[k].over;
                }
            cJSON_AddNumberToObject(r, "used", used);
            cJSON_AddNumberToObject(r, "share", l->total);
            cJSON_AddNumberToObject(r, "poolEach", l->pool);
            if (is_over) {
                clvl = HEALTH_WARN;
                sbuf_printf(&over, "%s%s uses %d of %d", over.len ? ", " : "", l->role, used,
                            l->total);
            }
        }
        if (v->sampled) {
            cJSON_AddNumberToObject(roles, "roster", v->roster_used);
            cJSON_AddNumberToObject(roles, "other", v->other_used);
        }
        if (!v->pg_up) clvl = lvl;
        cJSON_AddStringToObject(o, "status", health_level_name((enum health_level)clvl));
        if (over.len)
            cJSON_AddStringToObject(o, "output", over.data);
        else if (!s->plan->budget_known)
            cJSON_AddStringToObject(o, "output", "budget not known yet");
        sbuf_free(&over);
        cJSON_AddStringToObject(o, "time", now);
        cJSON_AddItemToArray(arr, o);
        if (clvl > *level) *level = clvl;
    }
    if (v->redis) {
        int lvl = v->redis_up ? HEALTH_PASS : c->redis.required ? HEALTH_FAIL : HEALTH_WARN;
        cJSON *arr = cJSON_AddArrayToObject(checks, "redis:responseTime");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "componentType", "datastore");
        double lat = redisconn_latency(v->redis);
        if (v->redis_up && lat >= 0)
            cJSON_AddNumberToObject(o, "observedValue", (double)(long)(lat * 1e4) / 10);
        cJSON_AddStringToObject(o, "observedUnit", "ms");
        cJSON_AddStringToObject(o, "status", health_level_name((enum health_level)lvl));
        if (!v->redis_up) add_redacted(o, "output", redisconn_error(v->redis));
        cJSON_AddStringToObject(o, "time", now);
        cJSON_AddItemToArray(arr, o);
        if (lvl > *level) *level = lvl;
    }
}

/* The /health document; *level is the overall status. Caller frees the string. */
char *health_render(const struct view *v, enum health_level *level)
{
    const struct sup *s = v->s;
    struct render rd = {.v = v, .level = HEALTH_PASS, .now = wall_time()};
    format_iso8601(rd.now_s, sizeof rd.now_s, rd.now);
    cJSON *root = cJSON_CreateObject();
    cJSON *status = cJSON_AddStringToObject(root, "status", "pass");
    cJSON_AddStringToObject(root, "version", "1");
    cJSON_AddStringToObject(root, "releaseId", ROSTER_VERSION);
    cJSON_AddStringToObject(root, "serviceId", s->plan->cfg.app);
    cJSON_AddStringToObject(root, "description", "roster: the app's roles and services");
    rd.checks = cJSON_AddObjectToObject(root, "checks");
    status_each(s, add_instance, &rd);
    add_services(v, rd.checks, rd.now_s, (int *)&rd.level);
    rolechan_health(v->chan, s, rd.checks, rd.now_s, (int *)&rd.level);
    if (s->shutting_down && rd.level < HEALTH_WARN) rd.level = HEALTH_WARN;
    cJSON_SetValuestring(status, health_level_name(rd.level));
    if (s->shutting_down) cJSON_AddStringToObject(root, "output", "shutting down");
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    *level = rd.level;
    return out;
}

/* /health and /metrics are rendered at most once per HEALTH_CACHE_MS, and again at once when
 * anything they report changes state: under a load of many requests per millisecond the answer
 * is a copy of the last one, still from memory, at most that old in its uptimes and samples. */
#define HEALTH_CACHE_MS 100

struct health {
    struct view v;
    uv_loop_t *loop;
    struct httpd *http;
    int port;
    sbuf body[2]; /* /health, /metrics */
    int status[2];
    uint64_t version[2];
    uint64_t at[2];
    bool valid[2];
};

static const sbuf *cached(struct health *h, int which, int *status)
{
    uint64_t now = uv_now(h->loop);
    uint64_t version = h->v.s->state_version;
    if (!h->valid[which] || h->version[which] != version || now - h->at[which] >= HEALTH_CACHE_MS) {
        sbuf_reset(&h->body[which]);
        if (which == 0) {
            enum health_level lvl;
            char *doc = health_render(&h->v, &lvl);
            sbuf_puts(&h->body[0], doc);
            sbuf_putc(&h->body[0], '\n');
            free(doc);
            h->status[0] = lvl == HEALTH_FAIL ? 503 : 200;
        } else {
            metrics_render(&h->v, &h->body[1]);
            h->status[1] = 200;
        }
        h->version[which] = version;
        h->at[which] = now;
        h->valid[which] = true;
    }
    *status = h->status[which];
    return &h->body[which];
}

static void handle(void *ud, struct httpd_req *req)
{
    struct health *h = ud;
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    bool known = !strcmp(req->path, "/livez") || !strcmp(req->path, "/readyz") ||
                 !strcmp(req->path, "/health") || !strcmp(req->path, "/metrics") ||
                 !strcmp(req->path, "/");
    if (!known) {
        req->status = 404;
        sbuf_puts(&req->body, "not found: try /livez, /readyz, /health or /metrics\n");
        return;
    }
    if (!get) {
        req->status = 405;
        req->allow = "GET, HEAD";
        sbuf_puts(&req->body, "method not allowed: this server only reads (GET)\n");
        return;
    }
    if (!strcmp(req->path, "/livez")) {
        /* answering at all proves the loop turns */
        sbuf_puts(&req->body, "ok\n");
    } else if (!strcmp(req->path, "/readyz")) {
        sbuf not ;
        sbuf_init(&not );
        bool ready = status_ready(&h->v, &not );
        if (ready) {
            sbuf_puts(&req->body, "ready\n");
        } else {
            req->status = 503;
            sbuf_printf(&req->body, "not ready: %s\n", not .data ? not .data : "");
        }
        sbuf_free(&not );
    } else if (!strcmp(req->path, "/health")) {
        const sbuf *b = cached(h, 0, &req->status);
        req->content_type = "application/health+json";
        sbuf_append(&req->body, b->data, b->len);
    } else if (!strcmp(req->path, "/metrics")) {
        const sbuf *b = cached(h, 1, &req->status);
        req->content_type = "text/plain; version=0.0.4; charset=utf-8";
        sbuf_append(&req->body, b->data, b->len);
    } else {
        sbuf_puts(&req->body, "roster health server: /livez /readyz /health /metrics\n");
    }
}

struct health *health_start(const struct view *v, uv_loop_t *loop, const char *listen,
                           char *err, size_t errlen)
{
    /* libmicrohttpd (and the TLS libraries linked to it) load here, when a server is wanted */
    if (lazylib_load(LAZYLIB_MHD, err, errlen) < 0) return NULL;
    int port = 0;
    int fd = httpd_listen_tcp(listen, &port);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(-fd));
        return NULL;
    }
    struct health *h = xcalloc(1, sizeof *h);
    h->v = *v;
    h->loop = loop;
    h->port = port;
    /* A platform's liveness probe must get through a slow or hostile client: 5 s for a
     * request's headers, 128 connections per client address (room for a load test's 64 beside
     * a scraper and the probes), and 16 kept free for newcomers. */
    struct httpd_limits lim = {.connections = 512,
                               .timeout_s = 10,
                               .memory = 16 * 1024,
                               .header_deadline_ms = 5000,
                               .per_client = 128,
                               .reserve = 16};
    h->http = httpd_start(loop, fd, &lim, handle, h, err, errlen);
    if (!h->http) {
        free(h);
        return NULL;
    }
    return h;
}

int health_port(const struct health *h)
{
    return h->port;
}

void health_stop(struct health *h)
{
    if (!h) return;
    httpd_stop(h->http);
    sbuf_free(&h->body[0]);
    sbuf_free(&h->body[1]);
    free(h);
}
