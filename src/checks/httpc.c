/* httpc.c — a small HTTP/1.1 client on the uv loop. See httpc.h.
 *
 * One request per connection: the name is resolved on libuv's thread pool (an IP address is
 * used as written, without it), each address tried in turn, the request written whole, and the
 * answer read until the body is complete (Content-Length, the last chunk) or the server closes.
 * Only the status line, the two headers that say where the body ends, and the body's first
 * bytes are kept: memory stays bounded whatever the server sends. */
#include "checks/httpc.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

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
    /* the answer */
    char head[HTTPC_MAX_HEAD];
    size_t head_len;
    bool in_body, chunked, no_body;
    long status;
    long long length; /* Content-Length, or -1 */
    long long got;    /* body bytes read */
    char *kept;       /* the body's first bytes */
    size_t kept_len, keep;
    /* chunked: where the decoder is (a size line, its data, the CRLF after it, the trailer
     * after the last chunk), the chunk's size or what is left of it, and whether the trailer
     * line being read is empty so far */
    enum { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_END, CH_TRAILER } ch;
    unsigned long long ch_left;
    bool ch_digits, ch_blank;
    bool head_request;
    int early_err; /* a failure found while starting, reported on the next turn */
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
    free(h->kept);
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

/* Reads the status line and the headers that say where the body ends. */
static bool parse_head(struct httpc *h, size_t len)
{
    const char *p = h->head, *end = p + len;
    if (len < 12 || strncmp(p, "HTTP/1.", 7) || p[8] != ' ') return false;
    char *e;
    h->status = strtol(p + 9, &e, 10);
    if (e != p + 12 || h->status < 100 || h->status > 999) return false;
    h->length = -1;
    for (const char *l = memchr(p, '\n', len); l && l + 1 < end;
         l = memchr(l + 1, '\n', (size_t)(end - l - 1))) {
        const char *s = l + 1;
        if (!strncasecmp(s, "Content-Length:", 15)) h->length = strtoll(s + 15, NULL, 10);
        if (!strncasecmp(s, "Transfer-Encoding:", 18)) {
            const char *v = s + 18, *eol = memchr(v, '\n', (size_t)(end - v));
            for (; eol && v + 7 <= eol; v++)
                if (!strncasecmp(v, "chunked", 7)) h->chunked = true;
        }
    }
    /* no body: a HEAD's answer, 1xx, 204 and 304 */
    h->no_body = h->head_request || h->status < 200 || h->status == 204 || h->status == 304;
    return true;
}

/* Keeps the body's first bytes. */
static void keep_bytes(struct httpc *h, const char *p, size_t n)
{
    size_t take = h->keep - h->kept_len < n ? h->keep - h->kept_len : n;
    if (!take) return;
    if (!h->kept) h->kept = xmalloc(h->keep);
    memcpy(h->kept + h->kept_len, p, take);
    h->kept_len += take;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Chunked transfer coding: the data of the chunks, kept as the body. Returns 1 once the last
 * chunk and its trailer have come, 0 for more, -1 for a malformed one. */
static int chunks(struct httpc *h, const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        char c = p[i];
        switch (h->ch) {
        case CH_SIZE:
            if (hexval(c) >= 0) {
                if (h->ch_left >> 56) return -1; /* no chunk is that long */
                h->ch_left = h->ch_left * 16 + (unsigned)hexval(c);
                h->ch_digits = true;
            } else if (h->ch_digits && (c == ';' || c == ' ' || c == '\t' || c == '\r')) {
                h->ch = CH_EXT;
            } else if (h->ch_digits && c == '\n') {
                h->ch = h->ch_left ? CH_DATA : CH_TRAILER;
                h->ch_blank = true;
            } else {
                return -1;
            }
            i++;
            break;
        case CH_EXT: /* chunk extensions, ignored to the line's end */
            if (c == '\n') {
                h->ch = h->ch_left ? CH_DATA : CH_TRAILER;
                h->ch_blank = true;
            }
            i++;
            break;
        case CH_DATA: {
            size_t take = n - i < h->ch_left ? n - i : (size_t)h->ch_left;
            keep_bytes(h, p + i, take);
            h->ch_left -= take;
            i += take;
            if (!h->ch_left) h->ch = CH_DATA_END;
            break;
        }
        case CH_DATA_END: /* the CRLF after a chunk's data */
            if (c == '\n') {
                h->ch = CH_SIZE;
                h->ch_digits = false;
            } else if (c != '\r') {
                return -1;
            }
            i++;
            break;
        case CH_TRAILER: /* header lines after the last chunk, up to an empty one */
            if (c == '\n') {
                if (h->ch_blank) return 1;
                h->ch_blank = true;
            } else if (c != '\r') {
                h->ch_blank = false;
            }
            i++;
            break;
        }
    }
    return 0;
}

/* Takes body bytes: keeps the first, and says whether the body is complete (1), not yet (0),
 * or malformed (-1). */
static int body(struct httpc *h, const char *p, size_t n)
{
    h->got += (long long)n;
    if (h->chunked) return chunks(h, p, n);
    keep_bytes(h, p, n);
    if (h->length >= 0) return h->got >= h->length;
    return 0; /* until the server closes */
}

/* Body bytes have come: the end of the request when the body is complete. */
static void take_body(struct httpc *h, const char *p, size_t n)
{
    int rc = body(h, p, n);
    if (rc > 0) finish(h, h->status, NULL);
    if (rc < 0) failf(h, "the answer's chunked body is malformed (HTTP %ld)", h->status);
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    struct httpc *h = hd->data;
    (void)suggested;
    static char scratch[16384]; /* the body is read through here: only its first bytes stay */
    if (!h->in_body) {
        buf->base = h->head + h->head_len;
        buf->len = sizeof h->head - h->head_len;
    } else {
        buf->base = scratch;
        buf->len = sizeof scratch;
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct httpc *h = s->data;
    if (h->done) return;
    if (n == UV_EOF) {
        if (h->in_body && (h->length < 0 || h->got >= h->length) && !h->chunked)
            finish(h, h->status, NULL);
        else if (h->in_body)
            failf(h, "the server closed the connection before the whole answer (HTTP %ld)",
                  h->status);
        else
            failf(h, "the server closed the connection without an answer");
        return;
    }
    if (n < 0) {
        failf(h, "reading the answer from %s:%s: %s", h->host, h->port, uv_strerror((int)n));
        return;
    }
    if (n == 0) return;
    if (h->in_body) {
        take_body(h, buf->base, (size_t)n);
        return;
    }
    h->head_len += (size_t)n;
    char *blank = memmem(h->head, h->head_len, "\r\n\r\n", 4);
    if (!blank) {
        if (h->head_len == sizeof h->head)
            failf(h, "the answer's headers are over %u KiB", HTTPC_MAX_HEAD >> 10);
        return;
    }
    size_t hl = (size_t)(blank - h->head) + 4;
    if (!parse_head(h, hl)) {
        failf(h, "the answer is not HTTP/1.x");
        return;
    }
    h->in_body = true;
    if (h->no_body || h->length == 0) {
        finish(h, h->status, NULL);
        return;
    }
    if (h->head_len > hl) take_body(h, h->head + hl, h->head_len - hl);
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
    h->keep = keep;
    h->head_request = !strcmp(method, "HEAD");
    memcpy(h->host, host, sizeof host);
    memcpy(h->port, port, sizeof port);
    /* the request, whole: the path as written (no fragment), Host as the URL has it */
    const char *auth = url + 7;
    size_t plen = strcspn(path, "#");
    sbuf r;
    sbuf_init(&r);
    sbuf_printf(&r,
                "%s %s%.*s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: roster/" ROSTER_VERSION
                "\r\nAccept: */*\r\nConnection: close\r\n",
                method, *path == '/' ? "" : "/", (int)plen, path, (int)(path - auth), auth);
    for (size_t i = 0; i < nheaders; i++)
        sbuf_printf(&r, "%s\r\n", headers[i]);
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
    *len = h->kept_len;
    return h->kept;
}

void httpc_cancel(struct httpc *h)
{
    release(h);
}
