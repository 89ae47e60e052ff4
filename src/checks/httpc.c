/* httpc.c — a small HTTP/1.1 client on the uv loop. See httpc.h.
 *
 * One request per connection: the name is resolved on libuv's thread pool (an IP address is
 * used as written, without it), each address tried in turn, the request written whole, and the
 * answer read until the body is complete (Content-Length, the last chunk) or the server closes.
 * The answer is parsed by httpresp.c (pure, fuzzed): only the status line, the two headers that
 * say where the body ends, and the body's first bytes are kept: memory stays bounded whatever
 * the server sends. */
#include "checks/httpc.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "checks/httpresp.h"

struct httpc {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t conn;
    uv_write_t wr;
    uv_getaddrinfo_t gai;
    struct addrinfo *ai, *next; /* resolved addresses; the next to try */
    bool resolving;
    int handles; /* open: the timer, the socket */
    bool tcp_open, done;
    httpc_cb cb;
    void *ud;
    char host[256], port[8];
    char *req;
    size_t req_len;
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

/* Closes what is open; h is freed once it all has closed (and a lookup has come back). */
static void release(struct httpc *h)
{
    h->done = true;
    if (h->resolving) uv_cancel((uv_req_t *)&h->gai);
    if (h->tcp_open) {
        h->tcp_open = false;
        uv_close((uv_handle_t *)&h->tcp, on_closed);
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

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct httpc *h = s->data;
    if (h->done) return;
    if (n < 0 && n != UV_EOF) {
        failf(h, "reading the answer from %s:%s: %s", h->host, h->port, uv_strerror((int)n));
        return;
    }
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
    if (status < 0 && !h->done)
        failf(h, "sending the request to %s:%s: %s", h->host, h->port, uv_strerror(status));
}

static void try_next(struct httpc *h, int last_err);

static void on_connect(uv_connect_t *c, int status)
{
    struct httpc *h = c->data;
    if (h->done) return;
    if (status < 0) {
        try_next(h, status);
        return;
    }
    uv_buf_t b = uv_buf_init(h->req, (unsigned)h->req_len);
    h->wr.data = h;
    int rc = uv_write(&h->wr, (uv_stream_t *)&h->tcp, &b, 1, on_written);
    if (rc == 0) rc = uv_read_start((uv_stream_t *)&h->tcp, on_alloc, on_read);
    if (rc < 0) failf(h, "sending the request to %s:%s: %s", h->host, h->port, uv_strerror(rc));
}

/* Starts connecting to one address; a failure to start is returned (connect's own outcome
 * comes to on_connect). */
static int connect_addr(struct httpc *h, const struct sockaddr *sa)
{
    uv_tcp_init(h->loop, &h->tcp);
    h->tcp.data = h;
    h->tcp_open = true;
    h->handles++;
    uv_tcp_nodelay(&h->tcp, 1);
    h->conn.data = h;
    return uv_tcp_connect(&h->conn, &h->tcp, sa, on_connect);
}

static void on_retry_closed(uv_handle_t *hd)
{
    struct httpc *h = hd->data;
    h->handles--;
    if (h->done) {
        maybe_free(h);
        return;
    }
    struct addrinfo *a = h->next;
    h->next = a->ai_next;
    int rc = connect_addr(h, a->ai_addr);
    if (rc < 0) try_next(h, rc);
}

/* The connection to one address failed: the next one, or the failure. */
static void try_next(struct httpc *h, int last_err)
{
    if (h->next) {
        h->tcp_open = false;
        uv_close((uv_handle_t *)&h->tcp, on_retry_closed);
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
    int rc = connect_addr(h, ai->ai_addr);
    if (rc < 0) try_next(h, rc);
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

struct httpc *httpc_request(uv_loop_t *loop, const char *method, const char *url,
                            const char *const *headers, size_t nheaders, const char *body_,
                            uint64_t timeout_ms, size_t keep, httpc_cb cb, void *ud)
{
    char host[256], port[8];
    const char *path;
    if (!split_url(url, host, sizeof host, port, &path)) return NULL;
    struct httpc *h = xcalloc(1, sizeof *h);
    h->loop = loop;
    h->cb = cb;
    h->ud = ud;
    httpresp_init(&h->ans, !strcmp(method, "HEAD"), keep);
    memcpy(h->host, host, sizeof host);
    memcpy(h->port, port, sizeof port);
    /* the request, whole: the path as written (no fragment), Host as the URL has it; a
     * header of the caller's replaces the default of its name (as libcurl's do: two Host
     * lines are a 400), but Connection, which stays close (one request per connection) */
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
    sbuf_puts(&r, "Connection: close\r\n");
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
    /* an address as written needs no lookup (and no thread pool) */
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
        /* reported on the next turn, as every outcome is: the caller holds the handle first */
        h->early_err = rc;
        uv_timer_start(&h->timer, on_timeout, 0, 0);
    }
    return h;
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
