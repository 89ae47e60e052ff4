/* httpd.c — libmicrohttpd driven from the uv loop. */
#include "serve/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/hostport.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

/* One client connection, from MHD's notice that it started to its notice that it closed. A
 * connection is "waiting" while the server waits for a request's headers on it: from its accept,
 * or from the end of its previous request (keep-alive), until the headers are complete. */
struct httpd_conn {
    int fd;
    int family;                       /* AF_INET, AF_INET6; 0: no address (a unix socket) */
    unsigned char addr[16];           /* the client's address: what the per-client limit counts */
    uint64_t since;                   /* loop time (ms) it began waiting */
    bool waiting;                     /* on the waiting list */
    bool cut;                         /* shut down by us; MHD closes it in a later run */
    struct httpd_conn *next, *prev;   /* every connection */
    struct httpd_conn *wnext, *wprev; /* the waiting list, oldest first */
};

struct httpd {
    struct MHD_Daemon *mhd;
    uv_loop_t *loop;
    uv_poll_t poll;
    uv_timer_t timer;
    uv_timer_t deadline; /* the oldest waiting connection's header deadline */
    int handles;
    unsigned connections; /* as MHD counted them after its last run */
    struct httpd_limits lim;
    struct httpd_conn *conns;                 /* every connection MHD has told us of */
    struct httpd_conn *wait_head, *wait_tail; /* waiting connections, oldest first */
    unsigned live;                            /* connections not cut */
    bool kick;                                /* a cut wants MHD to run again soon */
    httpd_handler handler;
    httpd_body_filter body_filter;
    void *ud;
    bool stopping;
    struct httpd_later *laters; /* deferred requests not yet answered */
};

/* A deferred request: its connection is suspended until httpd_answer. */
struct httpd_later {
    struct httpd *d;
    struct MHD_Connection *conn;
    struct httpd_later *next, **prev;
};

static void reschedule(struct httpd *d, bool again);

/* A body past the cap is read and dropped before the 413 when it is at most this many times
 * the cap (see upload_begin); longer ones are answered at once. */
#define HTTPD_DRAIN_FACTOR 8

/* A request with a body, while it is read (only when the server takes bodies). */
struct httpd_upload {
    sbuf body;
    bool too_large; /* past the cap: the rest is read and dropped, then answered 413 */
    bool refused;   /* the body filter said no: the body is read and dropped, then the handler
                       answers without it */
    bool answered;  /* answered already (before the body was read) */
    size_t dropped; /* bytes read and dropped past the cap */
};

/* The upload of a request, or NULL: con_cls holds d for a request without one. */
static struct httpd_upload *upload_of(struct httpd *d, void *con_cls)
{
    return con_cls && con_cls != d ? con_cls : NULL;
}

/* One MHD run; true when it closed connections. At its connection limit MHD takes its listening
 * socket out of its epoll set, and it puts it back only at the start of a later run, once it is
 * below the limit: a run that closes connections must be followed by another, or, when it closed
 * the last ones, nothing would ever wake the server again (issue 8, bug 7). */
static bool run_once(struct httpd *d)
{
    MHD_run(d->mhd);
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    unsigned before = d->connections;
    d->connections = info ? info->num_connections : 0;
    return d->connections < before;
}

/* One wakeup may take a request through several MHD steps (read it, answer it, write the
 * answer): keep running while MHD says it has more to do right now, or while a run closed
 * connections, a bounded number of times, so an answer does not wait for the next loop turn
 * behind a busy log pump; past the bound the next turn runs it again. */
static void run_mhd(struct httpd *d)
{
    if (d->stopping) return;
    bool closed = false;
    for (int i = 0; i < 8; i++) {
        closed = run_once(d);
        MHD_UNSIGNED_LONG_LONG ms;
        if (!closed && (MHD_get_timeout(d->mhd, &ms) != MHD_YES || ms != 0)) break;
    }
    reschedule(d, closed || d->kick);
    d->kick = false;
}

static void on_timer(uv_timer_t *t)
{
    run_mhd(t->data);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    run_mhd(h->data);
}

/* Arms the timer for MHD's next deadline, or for the next loop turn when again is set. */
static void reschedule(struct httpd *d, bool again)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (again)
        uv_timer_start(&d->timer, on_timer, 0, 0);
    else if (MHD_get_timeout(d->mhd, &ms) == MHD_YES)
        uv_timer_start(&d->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&d->timer);
}

/* ---- guarding the connections against slow clients (issue 10 item 1) ----
 * MHD's idle timeout alone lets a client that sends a header line every few seconds hold a
 * connection forever, and 512 of them held the health port shut. Three rules keep it open:
 * a request's headers must be complete within lim.header_deadline_ms of the wait's start; one
 * client address holds at most lim.per_client connections; and near lim.connections the oldest
 * waiting connection gives way to the new one, so the server never sits at its limit refusing
 * new clients. A connection is ended by shutting its socket down: MHD then reads the end of the
 * stream and closes it in its next run (its API has no call to close one from outside). */

static void wait_remove(struct httpd *d, struct httpd_conn *hc)
{
    if (!hc->waiting) return;
    if (hc->wprev)
        hc->wprev->wnext = hc->wnext;
    else
        d->wait_head = hc->wnext;
    if (hc->wnext)
        hc->wnext->wprev = hc->wprev;
    else
        d->wait_tail = hc->wprev;
    hc->wnext = hc->wprev = NULL;
    hc->waiting = false;
}

static void on_deadline(uv_timer_t *t);

/* Arms the deadline timer for the oldest waiting connection, or stops it. */
static void arm_deadline(struct httpd *d)
{
    if (d->stopping) return;
    struct httpd_conn *hc = d->wait_head;
    if (!hc || !d->lim.header_deadline_ms) {
        uv_timer_stop(&d->deadline);
        return;
    }
    uint64_t due = hc->since + d->lim.header_deadline_ms, now = uv_now(d->loop);
    uv_timer_start(&d->deadline, on_deadline, due > now ? due - now : 0, 0);
}

/* Starts (or restarts, after a request) the wait for a request's headers on hc. */
static void wait_begin(struct httpd *d, struct httpd_conn *hc)
{
    if (hc->cut) return;
    wait_remove(d, hc);
    hc->since = uv_now(d->loop);
    hc->wprev = d->wait_tail;
    if (d->wait_tail)
        d->wait_tail->wnext = hc;
    else
        d->wait_head = hc;
    d->wait_tail = hc;
    hc->waiting = true;
    if (d->wait_head == hc) arm_deadline(d);
}

/* Ends hc: its socket is shut down and MHD, woken by that, closes it. */
static void cut(struct httpd *d, struct httpd_conn *hc)
{
    if (hc->cut) return;
    bool head = d->wait_head == hc;
    wait_remove(d, hc);
    hc->cut = true;
    d->live--;
    shutdown(hc->fd, SHUT_RDWR);
    d->kick = true;
    if (head) arm_deadline(d);
}

static bool same_client(const struct httpd_conn *a, const struct httpd_conn *b)
{
    return a->family == b->family && !memcmp(a->addr, b->addr, a->family == AF_INET6 ? 16 : 4);
}

/* The oldest waiting connection, of hc's client when hc is given. */
static struct httpd_conn *oldest_waiting(struct httpd *d, const struct httpd_conn *hc)
{
    for (struct httpd_conn *w = d->wait_head; w; w = w->wnext)
        if (!hc || same_client(w, hc)) return w;
    return NULL;
}

/* A new connection: enforce the per-client limit, then keep room for new clients. Either
 * way the oldest waiting connection goes, so a new client (a liveness probe behind the same
 * address as an attacker included) gets its turn; when nothing of that client is waiting,
 * the new connection itself is the one over the limit. */
static void admit(struct httpd *d, struct httpd_conn *hc)
{
    if (d->lim.per_client && hc->family) {
        unsigned n = 0;
        for (struct httpd_conn *c = d->conns; c; c = c->next)
            n += !c->cut && same_client(c, hc);
        struct httpd_conn *old = n > d->lim.per_client ? oldest_waiting(d, hc) : NULL;
        if (old) cut(d, old);
    }
    unsigned room = d->lim.connections > d->lim.reserve ? d->lim.connections - d->lim.reserve : 1;
    while (d->live > room) {
        struct httpd_conn *w = oldest_waiting(d, NULL);
        if (!w) break;
        cut(d, w);
    }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct httpd *d = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct httpd_conn *hc = xcalloc(1, sizeof *hc);
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        hc->fd = fi ? fi->connect_fd : -1;
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ai ? ai->client_addr : NULL;
        if (sa && sa->sa_family == AF_INET) {
            hc->family = AF_INET;
            memcpy(hc->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        } else if (sa && sa->sa_family == AF_INET6) {
            hc->family = AF_INET6;
            memcpy(hc->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        }
        hc->next = d->conns;
        if (d->conns) d->conns->prev = hc;
        d->conns = hc;
        d->live++;
        *ctx = hc;
        wait_begin(d, hc);
        if (hc->fd >= 0) admit(d, hc);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct httpd_conn *hc = *ctx;
        if (!hc) return;
        bool head = d->wait_head == hc;
        wait_remove(d, hc);
        if (!hc->cut) d->live--;
        if (hc->prev)
            hc->prev->next = hc->next;
        else
            d->conns = hc->next;
        if (hc->next) hc->next->prev = hc->prev;
        free(hc);
        *ctx = NULL;
        if (head) arm_deadline(d);
    }
}

/* A request ended (answered, or its connection closed): the wait for the next one begins. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct httpd *d = cls;
    (void)toe;
    struct httpd_upload *u = upload_of(d, *con_cls);
    if (u) {
        sbuf_free(&u->body);
        free(u);
    }
    *con_cls = NULL;
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (i && i->socket_context) wait_begin(d, i->socket_context);
}

/* Headers complete: the request is no longer held to the deadline. */
static void headers_done(struct httpd *d, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct httpd_conn *hc = i ? i->socket_context : NULL;
    if (!hc || !hc->waiting) return;
    bool head = d->wait_head == hc;
    wait_remove(d, hc);
    if (head) arm_deadline(d);
}

/* Cuts every connection past its header deadline. */
static void on_deadline(uv_timer_t *t)
{
    struct httpd *d = t->data;
    uint64_t now = uv_now(d->loop);
    while (d->wait_head && d->wait_head->since + d->lim.header_deadline_ms <= now)
        cut(d, d->wait_head);
    arm_deadline(d);
    if (d->kick) {
        d->kick = false;
        reschedule(d, true);
    }
}

static MHD_Result_t queue_headers(struct MHD_Connection *c, int status, const char *type,
                                  const char *allow, const struct httpd_header *hs, size_t nh,
                                  const char *body, size_t len)
{
/* libmicrohttpd 1.x prefers MHD_create_response_from_buffer_copy, which 0.9.75 (Debian 12) lacks;
 * the older call works in both. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
#pragma GCC diagnostic pop
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (allow) MHD_add_response_header(r, "Allow", allow);
    for (size_t i = 0; i < nh; i++)
        MHD_add_response_header(r, hs[i].name, hs[i].value);
    MHD_Result_t rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static MHD_Result_t queue(struct MHD_Connection *c, int status, const char *type, const char *allow,
                          const char *body, size_t len)
{
    return queue_headers(c, status, type, allow, NULL, 0, body, len);
}

/* A handler's answer. */
static MHD_Result_t queue_req(struct MHD_Connection *c, const struct httpd_req *r)
{
    return queue_headers(c, r->status, r->content_type, r->allow, r->headers, r->nheaders,
                         r->body.data ? r->body.data : "", r->body.len);
}

static MHD_Result_t too_large(struct httpd *d, struct MHD_Connection *c)
{
    char msg[160];
    int n = snprintf(msg, sizeof msg,
                     "{\"error\":{\"code\":\"body_too_large\",\"message\":\"the request body "
                     "is larger than %zu bytes\"}}\n",
                     d->lim.max_body);
    return queue(c, 413, "application/json", NULL, msg, (size_t)n);
}

static MHD_Result_t on_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct httpd_req *req = cls;
    (void)kind;
    if (req->nargs == HTTPD_MAX_ARGS) {
        req->query_overflow = true;
        return MHD_NO;
    }
    req->args[req->nargs++] = (struct httpd_arg){key, value ? value : ""};
    return MHD_YES;
}

static MHD_Result_t serve(struct httpd *d, struct MHD_Connection *c, const char *url,
                          const char *method, struct httpd_upload *u);

/* The headers of a request with a body have come: its body is now held to the deadline the
 * headers were (the wait begins again). A Content-Length past the cap is answered 413 at once
 * when the client waits for a 100 Continue (it sends nothing more), or when the body is far
 * past the cap; otherwise the body is read and dropped first, as one past the cap without a
 * Content-Length is: a server that answers and closes while the client still sends makes the
 * client's kernel reset the connection, and the client never reads the answer. A body the body
 * filter refuses is read and dropped the same way (not kept), and the handler answers without
 * it. */
static MHD_Result_t upload_begin(struct httpd *d, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *cl, void **con_cls)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (i && i->socket_context) wait_begin(d, i->socket_context);
    struct httpd_upload *u = xcalloc(1, sizeof *u);
    sbuf_init(&u->body);
    *con_cls = u;
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
    bool waits = expect && !strcasecmp(expect, "100-continue");
    unsigned long long n = 0;
    bool bad = false;
    if (cl) {
        char *end;
        errno = 0;
        n = strtoull(cl, &end, 10);
        bad = errno || *end;
    }
    if (d->body_filter) {
        struct httpd_req req = {.method = method, .path = url, .d = d, .conn = c};
        u->refused = !d->body_filter(d->ud, &req);
    }
    if (u->refused) {
        /* the handler's answer needs no body: at once when no body comes before it (the client
         * waits for 100 Continue) or when it is too long to drop */
        if (waits || bad || n / HTTPD_DRAIN_FACTOR > d->lim.max_body) {
            u->answered = true;
            return serve(d, c, url, method, NULL);
        }
        return MHD_YES;
    }
    if (bad || n > d->lim.max_body) {
        u->too_large = true;
        if (bad || n / HTTPD_DRAIN_FACTOR > d->lim.max_body || waits) {
            u->answered = true;
            return too_large(d, c);
        }
    }
    return MHD_YES;
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct httpd *d = cls;
    (void)version;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
    bool has_body = (cl && strcmp(cl, "0") != 0) || te || *upload_size;
    if (!d->lim.max_body) {
        headers_done(d, c);
        /* Refuse bodies outright, before reading them. */
        if (has_body) {
            static const char msg[] = "{\"error\":\"request bodies are not accepted\"}\n";
            *upload_size = 0;
            if (*con_cls) return MHD_YES;
            *con_cls = d;
            return queue(c, 413, "application/json", NULL, msg, sizeof msg - 1);
        }
    }
    /* Answering in the first call makes MHD close the connection (it cannot know yet that no
     * body follows); answering in the second keeps the connection alive. */
    if (!*con_cls) {
        if (d->lim.max_body && has_body) return upload_begin(d, c, url, method, cl, con_cls);
        headers_done(d, c);
        *con_cls = d;
        return MHD_YES;
    }
    struct httpd_upload *u = upload_of(d, *con_cls);
    if (u && *upload_size) {
        /* A piece of the body: kept while it fits, else dropped with what came before. */
        if (u->refused) {
            u->dropped += *upload_size;
            *upload_size = 0;
            if (!u->answered && u->dropped / HTTPD_DRAIN_FACTOR > d->lim.max_body) {
                u->answered = true;
                return serve(d, c, url, method, NULL);
            }
            return MHD_YES;
        }
        if (!u->too_large && u->body.len + *upload_size > d->lim.max_body) {
            u->too_large = true;
            sbuf_free(&u->body);
            sbuf_init(&u->body);
        }
        if (!u->too_large) sbuf_append(&u->body, upload, *upload_size);
        if (u->too_large) u->dropped += *upload_size;
        *upload_size = 0;
        /* a chunked body that goes on far past the cap is answered without waiting for its end */
        if (u->too_large && !u->answered && u->dropped / HTTPD_DRAIN_FACTOR > d->lim.max_body) {
            u->answered = true;
            return too_large(d, c);
        }
        return MHD_YES;
    }
    if (u) {
        headers_done(d, c); /* the body is complete: no longer held to the deadline */
        if (u->answered) return MHD_YES;
        if (u->too_large) {
            u->answered = true;
            return too_large(d, c);
        }
    }
    return serve(d, c, url, method, u && !u->refused ? u : NULL);
}

/* Hands a request to the handler and queues its answer (unless it deferred it); u is the body
 * kept, or NULL. */
static MHD_Result_t serve(struct httpd *d, struct MHD_Connection *c, const char *url,
                          const char *method, struct httpd_upload *u)
{
    struct httpd_req req = {
        .method = method, .status = 200, .content_type = "text/plain", .d = d, .conn = c};
    /* MHD hands over the path already cut at '?' and percent-decoded: it is not cut again, so
     * an encoded '?' or '/' stays part of a name (the route then refuses it). */
    char path[512];
    size_t pl = strlen(url);
    if (pl >= sizeof path) {
        /* in the shape of the server's other errors: an object where the server takes bodies
         * (too_large's), else the health and control servers' string */
        static const char msg[] = "{\"error\":\"path too long\"}\n",
                          obj[] = "{\"error\":{\"code\":\"path_too_long\",\"message\":\"the "
                                  "path is longer than 511 bytes\"}}\n";
        return d->lim.max_body ? queue(c, 414, "application/json", NULL, obj, sizeof obj - 1)
                               : queue(c, 414, "application/json", NULL, msg, sizeof msg - 1);
    }
    memcpy(path, url, pl + 1);
    req.path = path;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_arg, &req);
    if (u) {
        req.upload = u->body.data ? u->body.data : "";
        req.upload_len = u->body.len;
    }
    sbuf_init(&req.body);
    d->handler(d->ud, &req);
    if (req.later) {
        /* answered by httpd_answer, which queues the answer on the suspended connection (MHD
         * allows that at any time) and resumes it */
        MHD_suspend_connection(c);
        sbuf_free(&req.body);
        return MHD_YES;
    }
    MHD_Result_t rc = queue_req(c, &req);
    sbuf_free(&req.body);
    return rc;
}

void httpd_set_body_filter(struct httpd *d, httpd_body_filter f)
{
    d->body_filter = f;
}

const char *httpd_header(const struct httpd_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool httpd_add_header(struct httpd_req *req, const char *name, const char *value)
{
    if (req->nheaders == HTTPD_MAX_HEADERS) return false;
    struct httpd_header *h = &req->headers[req->nheaders++];
    h->name = name;
    snprintf(h->value, sizeof h->value, "%s", value);
    return true;
}

struct httpd_later *httpd_defer(struct httpd_req *req)
{
    struct httpd *d = req->d;
    struct httpd_later *l = xcalloc(1, sizeof *l);
    l->d = d;
    l->conn = req->conn;
    l->next = d->laters;
    if (l->next) l->next->prev = &l->next;
    l->prev = &d->laters;
    d->laters = l;
    req->later = l;
    return l;
}

void httpd_answer(struct httpd_later *l, const struct httpd_req *ans)
{
    struct httpd *d = l->d;
    queue_req(l->conn, ans);
    MHD_resume_connection(l->conn);
    *l->prev = l->next;
    if (l->next) l->next->prev = l->prev;
    free(l);
    /* MHD takes a resumed connection up in its next run, which nothing else may wake soon */
    if (!d->stopping) reschedule(d, true);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the %HH of a path or a query's key or value, as MHD's own unescaper does, but leaves
 * %00 as written: the NUL would end the text there for every reader (queue=mail%00x was read
 * as queue mail, /jobs/1%00x as /jobs/1). */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0 &&
            (hi | lo)) {
            *w++ = (char)(hi << 4 | lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

struct httpd *httpd_start(uv_loop_t *loop, int listen_fd, const struct httpd_limits *lim,
                          httpd_handler h, void *ud, char *err, size_t errlen)
{
    struct httpd *d = xcalloc(1, sizeof *d);
    d->handler = h;
    d->ud = ud;
    d->loop = loop;
    d->lim = *lim;
    /* TURBO: read and write opportunistically instead of waiting for readiness first;
     * SUSPEND_RESUME for answers given on a later loop turn (httpd_defer) */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    d->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, d, MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, lim->connections, MHD_OPTION_CONNECTION_TIMEOUT,
        lim->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, lim->memory,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, d, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        d, MHD_OPTION_UNESCAPE_CALLBACK, unescape, d, MHD_OPTION_END);
    if (!d->mhd) {
        snprintf(err, errlen, "cannot start the HTTP server");
        close(listen_fd);
        free(d);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || uv_poll_init(loop, &d->poll, info->epoll_fd) != 0) {
        snprintf(err, errlen, "cannot watch the HTTP server's epoll descriptor");
        MHD_stop_daemon(d->mhd);
        free(d);
        return NULL;
    }
    d->poll.data = d;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    uv_timer_init(loop, &d->deadline);
    d->deadline.data = d;
    d->handles = 3;
    uv_poll_start(&d->poll, UV_READABLE, on_poll);
    reschedule(d, false);
    return d;
}

static void closed(uv_handle_t *h)
{
    struct httpd *d = h->data;
    if (--d->handles == 0) {
        MHD_stop_daemon(d->mhd);
        /* MHD tells of each connection it closes while stopping; anything left is freed here */
        while (d->conns) {
            struct httpd_conn *hc = d->conns;
            d->conns = hc->next;
            free(hc);
        }
        free(d);
    }
}

void httpd_stop(struct httpd *d)
{
    if (!d) return;
    /* MHD must not be stopped with a connection suspended */
    struct httpd_req busy = {.status = 503, .content_type = "text/plain"};
    while (d->laters)
        httpd_answer(d->laters, &busy);
    d->stopping = true;
    uv_close((uv_handle_t *)&d->poll, closed);
    uv_close((uv_handle_t *)&d->timer, closed);
    uv_close((uv_handle_t *)&d->deadline, closed);
}

int httpd_listen_tcp(const char *hostport, int *port_out)
{
    struct hostport hp;
    if (hostport_parse(hostport, strlen(hostport), HOSTPORT_LISTEN, &hp) != HOSTPORT_OK)
        return -EINVAL;
    char port[8];
    snprintf(port, sizeof port, "%d", hp.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    /* Config time, before the loop runs: a blocking lookup of a literal address is fine. */
    int rc = getaddrinfo(hp.host[0] ? hp.host : NULL, port, &hints, &res);
    if (rc != 0) return -EADDRNOTAVAIL;
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return -err;
    if (port_out) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                             : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return fd;
}

int httpd_listen_unix(const char *path, unsigned mode)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    /* The socket is created with the final mode: no window where others could connect. */
    mode_t old = umask((mode_t)(~mode & 0777));
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || chmod(path, mode) < 0 || listen(fd, 32) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}
