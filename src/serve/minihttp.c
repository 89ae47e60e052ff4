/* minihttp.c — the control socket's HTTP server. See minihttp.h. */
#include "serve/minihttp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

struct conn {
    uv_pipe_t pipe; /* first: the handle is the connection */
    struct minihttp *m;
    uv_timer_t timer;
    uv_write_t wreq;
    sbuf in, out;
    int handles;
    bool answered;
    struct conn *next;
};

struct minihttp {
    uv_pipe_t server;
    httpd_handler handler;
    void *ud;
    struct httpd_limits lim;
    unsigned nconns;
    struct conn *conns;
    bool stopping;
};

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles > 0) return;
    struct minihttp *m = c->m;
    for (struct conn **p = &m->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    m->nconns--;
    sbuf_free(&c->in);
    sbuf_free(&c->out);
    free(c);
    if (m->stopping && m->nconns == 0 && uv_is_closing((uv_handle_t *)&m->server) &&
        !m->server.data)
        free(m);
}

static void conn_close(struct conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->pipe)) return;
    uv_close((uv_handle_t *)&c->pipe, conn_closed);
    uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    conn_close(w->data);
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

static void respond(struct conn *c, int status, const char *type, const char *allow,
                    const char *body, size_t len)
{
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->pipe);
    sbuf_printf(&c->out,
                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n",
                status, reason(status), type, len);
    if (allow) sbuf_printf(&c->out, "Allow: %s\r\n", allow);
    sbuf_puts(&c->out, "\r\n");
    sbuf_append(&c->out, body, len);
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &b, 1, on_written) < 0) conn_close(c);
}

static void respond_error(struct conn *c, int status)
{
    char body[96];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", reason(status));
    respond(c, status, "application/json", NULL, body, (size_t)n);
}

int minihttp_parse(char *buf, const char **method, const char **path, const char **query)
{
    char *eol = strstr(buf, "\r\n");
    if (!eol) return 400;
    *eol = '\0';
    char *sp1 = strchr(buf, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == buf || sp2 == sp1 + 1 || sp1[1] != '/') return 400;
    *sp1 = *sp2 = '\0';
    for (const char *p = buf; *p; p++)
        if (!isupper((unsigned char)*p)) return 400;
    if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0) return 505;
    /* headers: refuse bodies, before reading them */
    for (char *h = eol + 2; *h && strncmp(h, "\r\n", 2) != 0;) {
        char *e = strstr(h, "\r\n");
        if (!e) return 400;
        *e = '\0';
        char *colon = strchr(h, ':');
        if (!colon) return 400;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strcasecmp(h, "Transfer-Encoding") ||
            (!strcasecmp(h, "Content-Length") && strcmp(v, "0")))
            return 413;
        h = e + 2;
    }
    *method = buf;
    char *q = strchr(sp1 + 1, '?');
    if (q) *q++ = '\0';
    *path = sp1 + 1;
    *query = q ? q : "";
    return 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (n < 0) {
        free(buf->base);
        conn_close(c);
        return;
    }
    sbuf_append(&c->in, buf->base, (size_t)n);
    free(buf->base);
    if (c->answered) return;
    if (!strstr(c->in.data ? c->in.data : "", "\r\n\r\n")) {
        if (c->in.len > c->m->lim.memory) respond_error(c, 431);
        return;
    }
    const char *method, *path, *query;
    int st = minihttp_parse(c->in.data, &method, &path, &query);
    if (st) {
        respond_error(c, st);
        return;
    }
    struct httpd_req req = {.method = method,
                            .path = path,
                            .query = query,
                            .status = 200,
                            .content_type = "text/plain"};
    sbuf_init(&req.body);
    c->m->handler(c->m->ud, &req);
    respond(c, req.status, req.content_type, req.allow, req.body.data ? req.body.data : "",
            req.body.len);
    sbuf_free(&req.body);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = xmalloc(4096);
    buf->len = 4096;
}

static void on_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void server_closed(uv_handle_t *h)
{
    struct minihttp *m = h->data;
    m->server.data = NULL;
    if (m->nconns == 0) free(m);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct minihttp *m = server->data;
    if (status < 0 || m->stopping) return;
    struct conn *c = xcalloc(1, sizeof *c);
    c->m = m;
    uv_pipe_init(server->loop, &c->pipe, 0);
    c->pipe.data = c;
    uv_timer_init(server->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    c->next = m->conns;
    m->conns = c;
    m->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 || m->nconns > m->lim.connections) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, (uint64_t)m->lim.timeout_s * 1000, 0);
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

struct minihttp *minihttp_start(uv_loop_t *loop, int listen_fd, const struct httpd_limits *lim,
                                httpd_handler h, void *ud, char *err, size_t errlen)
{
    struct minihttp *m = xcalloc(1, sizeof *m);
    m->handler = h;
    m->ud = ud;
    m->lim = *lim;
    uv_pipe_init(loop, &m->server, 0);
    m->server.data = m;
    int rc = uv_pipe_open(&m->server, listen_fd);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&m->server, 32, on_connection);
    if (rc < 0) {
        snprintf(err, errlen, "cannot serve the control socket: %s", uv_strerror(rc));
        m->stopping = true;
        uv_close((uv_handle_t *)&m->server, server_closed); /* closes listen_fd too */
        return NULL;
    }
    return m;
}

void minihttp_stop(struct minihttp *m)
{
    if (!m) return;
    m->stopping = true;
    for (struct conn *c = m->conns; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&m->server, server_closed);
}
