/* httpc.c — a small HTTP/1.1 client on the uv loop. See httpc.h.
 *
 * One request per connection, or one at a time on each connection of a pool: the name is
 * resolved on libuv's thread pool (an IP address is used as written, without it), each address
 * tried in turn, the request written whole, and the answer read until the body is complete
 * (Content-Length, the last chunk) or the server closes. The answer is parsed by httpresp.c
 * (pure, fuzzed): only the status line, the headers that say where the body ends and whether
 * the connection stays open, Retry-After, and the body's first bytes are kept: memory stays
 * bounded whatever the server sends. */
#include "checks/httpc.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/util.h"
#include "checks/httpresp.h"

/* A connection: a request's while it is in use, the pool's while idle (reading still, so that
 * the server's close of an idle connection is seen at once and it is dropped). */
struct hconn {
    uv_tcp_t tcp;
    struct httpc_pool *pool; /* NULL: a one-shot connection (Connection: close) */
    struct httpc *h;         /* the request using it; NULL while idle or closing */
    struct hconn *next;      /* in the pool's idle list */
    char key[272];           /* host:port, what a request must match to reuse it */
    bool reused;             /* it carried an answer before (so the server may close it) */
    bool reading;
    /* why it is closing: the request's end, the next address to try, or one retry of a
     * request on a fresh connection; the request (NULL: none) hears of the close */
    enum { CL_END, CL_NEXT_ADDR, CL_RETRY } why;
    struct httpc *closer;
};

struct httpc_pool {
    uv_loop_t *loop;
    struct hconn *idle; /* newest first */
    size_t nidle, max_idle;
    size_t nconns; /* open or closing: the pool is freed after httpc_pool_close once 0 */
    bool closing;
};

struct httpc {
    uv_loop_t *loop;
    struct httpc_pool *pool;
    struct hconn *c; /* the connection in use, or NULL */
    uv_timer_t timer;
    uv_connect_t conn;
    uv_write_t wr;
    uv_getaddrinfo_t gai;
    struct addrinfo *ai, *next; /* resolved addresses; the next to try */
    bool resolving;
    int handles; /* open: the timer, the connection */
    bool done;
    bool writing;   /* the request's write has not completed */
    bool got_bytes; /* a byte of the answer came on this connection */
    bool retried;   /* it was sent again on a fresh connection once already */
    httpc_cb cb;
    void *ud;
    char host[256], port[8];
    char *req;
    size_t req_len;
    size_t keep;
    bool head_request;
    struct httpresp ans; /* the answer, parsed as it comes */
    int early_err;       /* a failure found while starting, reported on the next turn */
};

/* The parts of an http:// URL; false when it is none httpc sends. */
static bool split_url(const char *url, char *host, size_t hostn, char *port, const char **path)
{
    if (strncmp(url, "http://", 7)) return false;
    const char *a = url + 7, *end = a + strcspn(a, "/?#");
    if (memchr(a, '@', (size_t)(end - a)) || end == a) return false;
    const char *hp = a, *he, *colon;
    if (*a == '[') {
        he = memchr(a, ']', (size_t)(end - a));
        if (!he) return false;
        hp = a + 1;
        colon = he + 1 < end && he[1] == ':' ? he + 1 : NULL;
        if (he + 1 < end && !colon) return false;
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        he = colon ? colon : end;
    }
    if (he == hp || (size_t)(he - hp) >= hostn) return false;
    memcpy(host, hp, (size_t)(he - hp));
    host[he - hp] = '\0';
    long p = 80;
    if (colon) {
        char *e;
        p = strtol(colon + 1, &e, 10);
        if (e != end || p < 1 || p > 65535) return false;
    }
    snprintf(port, 8, "%ld", p);
    *path = end;
    return true;
}

bool httpc_handles(const char *url)
{
    char host[256], port[8];
    const char *path;
    return split_url(url, host, sizeof host, port, &path);
}

/* Frees h once its handles have closed and a lookup has come back. */
static void maybe_free(struct httpc *h)
{
    if (h->handles > 0 || h->resolving) return;
    if (h->ai) uv_freeaddrinfo(h->ai);
    free(h->req);
    httpresp_free(&h->ans);
    free(h);
}

static void on_closed(uv_handle_t *hd)
{
    struct httpc *h = hd->data;
    h->handles--;
    maybe_free(h);
}

static void maybe_free_pool(struct httpc_pool *p)
{
    if (p->closing && p->nconns == 0) free(p);
}

static void start_connect(struct httpc *h);
static void try_addr(struct httpc *h, struct addrinfo *a);

static void conn_closed(uv_handle_t *hd)
{
    struct hconn *c = hd->data;
    struct httpc *h = c->closer;
    int why = c->why;
    if (c->pool) {
        c->pool->nconns--;
        maybe_free_pool(c->pool);
    }
    free(c);
    if (!h) return;
    h->handles--;
    if (h->done) {
        maybe_free(h);
    } else if (why == CL_NEXT_ADDR) {
        struct addrinfo *a = h->next;
        h->next = a->ai_next;
        try_addr(h, a);
    } else if (why == CL_RETRY) {
        start_connect(h);
    }
}

/* Closes c; closer (or NULL) hears of it once closed, for why. */
static void conn_close(struct hconn *c, struct httpc *closer, int why)
{
    c->h = NULL;
    c->closer = closer;
    c->why = why;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

/* Takes c off the pool's idle list. */
static void idle_remove(struct hconn *c)
{
    for (struct hconn **p = &c->pool->idle; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            c->pool->nidle--;
            return;
        }
}

/* Whether the answer left the connection fit for the next request: complete, the server keeping
 * it open, nothing after the answer, the request written whole. */
static bool reusable(const struct httpc *h)
{
    return h->pool && !h->pool->closing && h->ans.rc == HTTPRESP_DONE && h->ans.keep_alive &&
           h->ans.past == 0 && !h->writing && h->pool->nidle < h->pool->max_idle;
}

/* Closes what is open, giving a reusable connection back to the pool; h is freed once it all
 * has closed (and a lookup has come back). */
static void release(struct httpc *h)
{
    h->done = true;
    if (h->resolving) uv_cancel((uv_req_t *)&h->gai);
    struct hconn *c = h->c;
    h->c = NULL;
    if (c && reusable(h)) {
        c->h = NULL;
        c->reused = true;
        c->next = h->pool->idle;
        h->pool->idle = c;
        h->pool->nidle++;
        h->handles--;
    } else if (c) {
        conn_close(c, h, CL_END);
    }
    if (!uv_is_closing((uv_handle_t *)&h->timer)) uv_close((uv_handle_t *)&h->timer, on_closed);
}

static void finish(struct httpc *h, long status, const char *err)
{
    if (h->done) return;
    h->done = true;
    h->cb(h->ud, status, err ? err : "");
    release(h);
}

static void failf(struct httpc *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct httpc *h, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    finish(h, 0, msg);
}

static void on_timeout(uv_timer_t *t)
{
    struct httpc *h = t->data;
    if (h->early_err)
        failf(h, "cannot connect to %s:%s: %s", h->host, h->port, uv_strerror(h->early_err));
    else
        finish(h, -ETIMEDOUT, "");
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    (void)hd;
    (void)suggested;
    static char scratch[16384]; /* the answer is read through here: httpresp keeps what stays */
    buf->base = scratch;
    buf->len = sizeof scratch;
}

/* A kept-alive connection the server closed (or reset) before any byte of the answer: the
 * server may have closed it idle just as the request went out, so the request is sent once more
 * on a fresh connection. That may deliver a POST twice (the server may have read it, then
 * closed); jobs are at-least-once, so their handlers already take a repeat, and one retry is
 * worth the stale connections it saves from failing a job. Returns false when it does not
 * apply (a fresh connection, a byte came, or the retry was spent). */
static bool retry_stale(struct httpc *h)
{
    if (!h->c || !h->c->reused || h->got_bytes || h->retried || h->done) return false;
    h->retried = true;
    httpresp_free(&h->ans);
    httpresp_init(&h->ans, h->head_request, h->keep);
    struct hconn *c = h->c;
    h->c = NULL;
    conn_close(c, h, CL_RETRY);
    return true;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct hconn *c = s->data;
    struct httpc *h = c->h;
    if (n == 0) return;
    if (!h) { /* idle: the server closed it, or sent what no request asked for */
        if (c->pool && !c->closer && !uv_is_closing((uv_handle_t *)&c->tcp)) {
            idle_remove(c);
            conn_close(c, NULL, CL_END);
        }
        return;
    }
    if (h->done) return;
    if (n < 0 && retry_stale(h)) return;
    if (n < 0 && n != UV_EOF) {
        failf(h, "reading the answer from %s:%s: %s", h->host, h->port, uv_strerror((int)n));
        return;
    }
    if (n > 0) h->got_bytes = true;
    enum httpresp_rc rc =
        n == UV_EOF ? httpresp_eof(&h->ans) : httpresp_feed(&h->ans, buf->base, (size_t)n);
    if (rc == HTTPRESP_DONE)
        finish(h, h->ans.status, NULL);
    else if (rc == HTTPRESP_ERR && h->ans.in_body)
        failf(h, "%s (HTTP %ld)", h->ans.err, h->ans.status);
    else if (rc == HTTPRESP_ERR)
        failf(h, "%s", h->ans.err);
}

static void on_written(uv_write_t *w, int status)
{
    struct httpc *h = w->data;
    h->writing = false;
    if (status >= 0 || h->done || status == UV_ECANCELED) return;
    if (retry_stale(h)) return;
    failf(h, "sending the request to %s:%s: %s", h->host, h->port, uv_strerror(status));
}

/* Writes the request on h's connection and reads its answer. */
static void send_request(struct httpc *h)
{
    struct hconn *c = h->c;
    uv_buf_t b = uv_buf_init(h->req, (unsigned)h->req_len);
    h->wr.data = h;
    h->got_bytes = false;
    int rc = uv_write(&h->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc == 0) h->writing = true;
    if (rc == 0 && !c->reading) {
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        c->reading = rc == 0;
    }
    if (rc < 0 && !retry_stale(h))
        failf(h, "sending the request to %s:%s: %s", h->host, h->port, uv_strerror(rc));
}

static void try_next(struct httpc *h, int last_err);

static void on_connect(uv_connect_t *cr, int status)
{
    struct httpc *h = cr->data;
    if (h->done) return;
    if (status < 0) {
        try_next(h, status);
        return;
    }
    send_request(h);
}

/* Starts connecting to one address on a new connection; a failure to start is returned
 * (connect's own outcome comes to on_connect). */
static int connect_addr(struct httpc *h, const struct sockaddr *sa)
{
    struct hconn *c = xcalloc(1, sizeof *c);
    uv_tcp_init(h->loop, &c->tcp);
    c->tcp.data = c;
    c->pool = h->pool;
    if (c->pool) c->pool->nconns++;
    snprintf(c->key, sizeof c->key, "%s:%s", h->host, h->port);
    c->h = h;
    h->c = c;
    h->handles++;
    uv_tcp_nodelay(&c->tcp, 1);
    h->conn.data = h;
    return uv_tcp_connect(&h->conn, &c->tcp, sa, on_connect);
}

static void try_addr(struct httpc *h, struct addrinfo *a)
{
    int rc = connect_addr(h, a->ai_addr);
    if (rc < 0) try_next(h, rc);
}

/* The connection to one address failed: the next one, or the failure. */
static void try_next(struct httpc *h, int last_err)
{
    struct hconn *c = h->c;
    if (h->next && c) {
        h->c = NULL;
        conn_close(c, h, CL_NEXT_ADDR);
        return;
    }
    failf(h, "cannot connect to %s:%s: %s", h->host, h->port, uv_strerror(last_err));
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
    struct httpc *h = g->data;
    h->resolving = false;
    h->ai = ai;
    if (h->done) { /* cancelled or timed out meanwhile */
        maybe_free(h);
        return;
    }
    if (status < 0 || !ai) {
        failf(h, "cannot resolve %s: %s", h->host, uv_strerror(status));
        return;
    }
    h->next = ai->ai_next;
    try_addr(h, ai);
}

/* Connects afresh: an address as written needs no lookup (and no thread pool). */
static void start_connect(struct httpc *h)
{
    struct sockaddr_storage ss;
    int rc;
    int port = atoi(h->port);
    if (h->ai) {
        uv_freeaddrinfo(h->ai);
        h->ai = h->next = NULL;
    }
    if (uv_ip4_addr(h->host, port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(h->host, port, (struct sockaddr_in6 *)&ss) == 0) {
        rc = connect_addr(h, (struct sockaddr *)&ss);
        if (rc < 0) try_next(h, rc);
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    h->gai.data = h;
    h->resolving = true;
    rc = uv_getaddrinfo(h->loop, &h->gai, on_resolved, h->host, h->port, &hints);
    if (rc < 0) {
        h->resolving = false;
        failf(h, "cannot resolve %s: %s", h->host, uv_strerror(rc));
    }
}

/* Whether header line h ("Name: value") is named name (any case). */
static bool header_is(const char *h, const char *name)
{
    size_t n = strlen(name);
    return !strncasecmp(h, name, n) && h[n] == ':';
}

static bool header_given(const char *const *headers, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (header_is(headers[i], name)) return true;
    return false;
}

/* Starts a request: on an idle connection of pool to the same host and port when it has one,
 * else on a new connection (pool NULL: one request, Connection: close). */
static struct httpc *request(uv_loop_t *loop, struct httpc_pool *pool, const char *method,
                             const char *url, const char *const *headers, size_t nheaders,
                             const char *body_, uint64_t timeout_ms, size_t keep, httpc_cb cb,
                             void *ud)
{
    char host[256], port[8];
    const char *path;
    if (!split_url(url, host, sizeof host, port, &path)) return NULL;
    struct httpc *h = xcalloc(1, sizeof *h);
    h->loop = loop;
    h->pool = pool;
    h->cb = cb;
    h->ud = ud;
    h->keep = keep;
    h->head_request = !strcmp(method, "HEAD");
    httpresp_init(&h->ans, h->head_request, keep);
    memcpy(h->host, host, sizeof host);
    memcpy(h->port, port, sizeof port);
    /* the request, whole: the path as written (no fragment), Host as the URL has it; a
     * header of the caller's replaces the default of its name (as libcurl's do: two Host
     * lines are a 400), but Connection, which is httpc's: close for one request per
     * connection, none (HTTP/1.1 keeps it alive) for a pool's */
    const char *auth = url + 7;
    size_t plen = strcspn(path, "#");
    sbuf r;
    sbuf_init(&r);
    sbuf_printf(&r, "%s %s%.*s HTTP/1.1\r\n", method, *path == '/' ? "" : "/", (int)plen, path);
    if (!header_given(headers, nheaders, "Host"))
        sbuf_printf(&r, "Host: %.*s\r\n", (int)(path - auth), auth);
    if (!header_given(headers, nheaders, "User-Agent"))
        sbuf_puts(&r, "User-Agent: roster/" ROSTER_VERSION "\r\n");
    if (!header_given(headers, nheaders, "Accept")) sbuf_puts(&r, "Accept: */*\r\n");
    if (!pool) sbuf_puts(&r, "Connection: close\r\n");
    for (size_t i = 0; i < nheaders; i++)
        if (!header_is(headers[i], "Connection")) sbuf_printf(&r, "%s\r\n", headers[i]);
    bool sends =
        body_ || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
    size_t blen = body_ ? strlen(body_) : 0;
    if (sends) sbuf_printf(&r, "Content-Length: %zu\r\n", blen);
    sbuf_puts(&r, "\r\n");
    if (blen) sbuf_append(&r, body_, blen);
    h->req = r.data;
    h->req_len = r.len;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    h->handles = 1;
    uv_timer_start(&h->timer, on_timeout, timeout_ms, 0);
    char key[272];
    snprintf(key, sizeof key, "%s:%s", host, port);
    struct hconn *c = NULL;
    if (pool)
        for (c = pool->idle; c && strcmp(c->key, key); c = c->next)
            ;
    if (c) {
        idle_remove(c);
        c->h = h;
        h->c = c;
        h->handles++;
        send_request(h);
        return h;
    }
    /* a failure to start is reported on the next turn, as every outcome is: the caller holds
     * the handle first */
    struct sockaddr_storage ss;
    int rc;
    if (uv_ip4_addr(host, atoi(port), (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, atoi(port), (struct sockaddr_in6 *)&ss) == 0) {
        rc = connect_addr(h, (struct sockaddr *)&ss);
    } else {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        h->gai.data = h;
        h->resolving = true;
        rc = uv_getaddrinfo(loop, &h->gai, on_resolved, host, port, &hints);
        if (rc < 0) h->resolving = false;
    }
    if (rc < 0) {
        h->early_err = rc;
        uv_timer_start(&h->timer, on_timeout, 0, 0);
    }
    return h;
}

struct httpc *httpc_request(uv_loop_t *loop, const char *method, const char *url,
                            const char *const *headers, size_t nheaders, const char *body,
                            uint64_t timeout_ms, size_t keep, httpc_cb cb, void *ud)
{
    return request(loop, NULL, method, url, headers, nheaders, body, timeout_ms, keep, cb, ud);
}

struct httpc *httpc_pool_request(struct httpc_pool *p, const char *method, const char *url,
                                 const char *const *headers, size_t nheaders, const char *body,
                                 uint64_t timeout_ms, size_t keep, httpc_cb cb, void *ud)
{
    return request(p->loop, p, method, url, headers, nheaders, body, timeout_ms, keep, cb, ud);
}

struct httpc_pool *httpc_pool_new(uv_loop_t *loop, size_t max_idle)
{
    struct httpc_pool *p = xcalloc(1, sizeof *p);
    p->loop = loop;
    p->max_idle = max_idle ? max_idle : 1;
    return p;
}

void httpc_pool_close(struct httpc_pool *p)
{
    p->closing = true;
    while (p->idle) {
        struct hconn *c = p->idle;
        p->idle = c->next;
        p->nidle--;
        conn_close(c, NULL, CL_END);
    }
    maybe_free_pool(p);
}

int64_t httpc_retry_after(const struct httpc *h)
{
    const char *v = h->ans.retry_after;
    if (!*v) return -1;
    if (*v >= '0' && *v <= '9') {
        char *e;
        long long n = strtoll(v, &e, 10);
        return *e || n <= 0 ? -1 : n;
    }
    struct tm tm = {0};
    const char *e = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!e || *e) return -1;
    int64_t d = (int64_t)timegm(&tm) - (int64_t)time(NULL);
    return d > 0 ? d : -1;
}

const char *httpc_response(const struct httpc *h, size_t *len)
{
    *len = h->ans.kept_len;
    return h->ans.kept;
}

void httpc_cancel(struct httpc *h)
{
    release(h);
}
