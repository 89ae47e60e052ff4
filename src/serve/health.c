/* health.c — the health server: /livez, /readyz, /health (application/health+json, after
 * draft-inadarei-api-health-check) and /metrics, answered from memory on roster's loop.
 * Nothing here changes state; the control socket (control.c) does that. */
#include "serve/health.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/httpd.h"
#include "os/lazylib.h"
#include "serve/metrics.h"
#include "base/redact.h"
#include "datastore/services.h"
#include "serve/status.h"

static void add_exit(cJSON *o, const struct instance *in)
{
    if (!in->has_exit) return;
    cJSON *e = cJSON_AddObjectToObject(o, "lastExit");
    if (in->last_code >= 0)
        cJSON_AddNumberToObject(e, "code", in->last_code);
    else
        cJSON_AddStringToObject(e, "signal", signal_name(in->last_signal));
    char ts[32];
    format_iso8601(ts, sizeof ts, in->last_exit_wall);
    cJSON_AddStringToObject(e, "time", ts);
}

struct render {
    cJSON *checks;
    enum health_level level;
    double now;
    char now_s[32];
};

static void add_instance(void *ud, struct instance *in)
{
    struct render *rd = ud;
    const char *why;
    enum health_level lvl = status_instance(in, rd->now, &why);
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
    if (in->probe_result) {
        char *p = redact_text(in->probe_result);
        cJSON_AddStringToObject(o, "probe", p);
        free(p);
    }
    if (in->status_text) {
        char *p = redact_text(in->status_text);
        cJSON_AddStringToObject(o, "statusText", p);
        free(p);
    }
    if (in->spawn_error) cJSON_AddStringToObject(o, "error", in->spawn_error);
    if (why) cJSON_AddStringToObject(o, "output", why);
    cJSON_AddStringToObject(o, "time", rd->now_s);
    cJSON_AddItemToArray(arr, o);
}

/* The /health document; *level is the overall status. Caller frees the string. */
char *health_render(struct sup *s, enum health_level *level)
{
    struct render rd = {.level = HEALTH_PASS, .now = wall_time()};
    format_iso8601(rd.now_s, sizeof rd.now_s, rd.now);
    cJSON *root = cJSON_CreateObject();
    cJSON *status = cJSON_AddStringToObject(root, "status", "pass");
    cJSON_AddStringToObject(root, "version", "1");
    cJSON_AddStringToObject(root, "releaseId", ROSTER_VERSION);
    cJSON_AddStringToObject(root, "serviceId", s->plan->cfg.app);
    cJSON_AddStringToObject(root, "description", "roster: the app's roles and services");
    rd.checks = cJSON_AddObjectToObject(root, "checks");
    status_each(s, add_instance, &rd);
    services_health(s, rd.checks, rd.now_s, (int *)&rd.level);
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

struct health_cache {
    sbuf body[2]; /* /health, /metrics */
    int status[2];
    uint64_t version[2];
    uint64_t at[2];
    bool valid[2];
};

static const sbuf *cached(struct sup *s, int which, int *status)
{
    if (!s->health_cache) s->health_cache = xcalloc(1, sizeof *s->health_cache);
    struct health_cache *c = s->health_cache;
    uint64_t now = uv_now(s->loop);
    if (!c->valid[which] || c->version[which] != s->state_version ||
        now - c->at[which] >= HEALTH_CACHE_MS) {
        sbuf_reset(&c->body[which]);
        if (which == 0) {
            enum health_level lvl;
            char *doc = health_render(s, &lvl);
            sbuf_puts(&c->body[0], doc);
            sbuf_putc(&c->body[0], '\n');
            free(doc);
            c->status[0] = lvl == HEALTH_FAIL ? 503 : 200;
        } else {
            metrics_render(s, &c->body[1]);
            c->status[1] = 200;
        }
        c->version[which] = s->state_version;
        c->at[which] = now;
        c->valid[which] = true;
    }
    *status = c->status[which];
    return &c->body[which];
}

void health_cache_free(struct sup *s)
{
    if (!s->health_cache) return;
    sbuf_free(&s->health_cache->body[0]);
    sbuf_free(&s->health_cache->body[1]);
    free(s->health_cache);
    s->health_cache = NULL;
}

static void handle(void *ud, struct httpd_req *req)
{
    struct sup *s = ud;
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
        bool ready = sup_all_ready(s, &not ) && services_ready(s, &not ) && !s->shutting_down;
        if (s->shutting_down) sbuf_printf(&not, "%sroster is shutting down", not .len ? ", " : "");
        if (ready) {
            sbuf_puts(&req->body, "ready\n");
        } else {
            req->status = 503;
            sbuf_printf(&req->body, "not ready: %s\n", not .data ? not .data : "");
        }
        sbuf_free(&not );
    } else if (!strcmp(req->path, "/health")) {
        const sbuf *b = cached(s, 0, &req->status);
        req->content_type = "application/health+json";
        sbuf_append(&req->body, b->data, b->len);
    } else if (!strcmp(req->path, "/metrics")) {
        const sbuf *b = cached(s, 1, &req->status);
        req->content_type = "text/plain; version=0.0.4; charset=utf-8";
        sbuf_append(&req->body, b->data, b->len);
    } else {
        sbuf_puts(&req->body, "roster health server: /livez /readyz /health /metrics\n");
    }
}

struct httpd *health_start(struct sup *s, const char *listen, char *err, size_t errlen)
{
    /* libmicrohttpd (and the TLS libraries linked to it) load here, when a server is wanted */
    if (lazylib_load(LAZYLIB_MHD, err, errlen) < 0) return NULL;
    int port = 0;
    int fd = httpd_listen_tcp(listen, &port);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(-fd));
        return NULL;
    }
    struct httpd_limits lim = {.connections = 512, .timeout_s = 10, .memory = 16 * 1024};
    struct httpd *d = httpd_start(s->loop, fd, &lim, handle, s, err, errlen);
    if (d) s->health_port = port;
    return d;
}
