/* httpd.c — libmicrohttpd driven from the uv loop. */
#include "serve/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct httpd {
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
    int handles;
    unsigned connections; /* as MHD counted them after its last run */
    httpd_handler handler;
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
    reschedule(d, closed);
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

static MHD_Result_t queue(struct MHD_Connection *c, int status, const char *type, const char *allow,
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
    MHD_Result_t rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct httpd *d = cls;
    (void)version;
    (void)upload;
    /* Refuse bodies outright, before reading them. */
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
    if ((cl && strcmp(cl, "0") != 0) || te || *upload_size) {
        static const char msg[] = "{\"error\":\"request bodies are not accepted\"}\n";
        *upload_size = 0;
        if (*con_cls) return MHD_YES;
        *con_cls = d;
        return queue(c, 413, "application/json", NULL, msg, sizeof msg - 1);
    }
    /* Answering in the first call makes MHD close the connection (it cannot know yet that no
     * body follows); answering in the second keeps the connection alive. */
    if (!*con_cls) {
        *con_cls = d;
        return MHD_YES;
    }
    struct httpd_req req = {
        .method = method, .status = 200, .content_type = "text/plain", .d = d, .conn = c};
    /* MHD hands over the path already cut at '?' and percent-decoded: it is not cut again, so
     * an encoded '?' or '/' stays part of a name (the route then refuses it). */
    char path[512];
    size_t pl = strlen(url);
    if (pl >= sizeof path) {
        static const char msg[] = "{\"error\":\"path too long\"}\n";
        return queue(c, 414, "application/json", NULL, msg, sizeof msg - 1);
    }
    memcpy(path, url, pl + 1);
    req.path = path;
    sbuf_init(&req.body);
    d->handler(d->ud, &req);
    if (req.later) {
        /* answered by httpd_answer, which queues the answer on the suspended connection (MHD
         * allows that at any time) and resumes it */
        MHD_suspend_connection(c);
        sbuf_free(&req.body);
        return MHD_YES;
    }
    MHD_Result_t rc = queue(c, req.status, req.content_type, req.allow,
                            req.body.data ? req.body.data : "", req.body.len);
    sbuf_free(&req.body);
    return rc;
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
    queue(l->conn, ans->status, ans->content_type, ans->allow,
          ans->body.data ? ans->body.data : "", ans->body.len);
    MHD_resume_connection(l->conn);
    *l->prev = l->next;
    if (l->next) l->next->prev = l->prev;
    free(l);
    /* MHD takes a resumed connection up in its next run, which nothing else may wake soon */
    if (!d->stopping) reschedule(d, true);
}

struct httpd *httpd_start(uv_loop_t *loop, int listen_fd, const struct httpd_limits *lim,
                          httpd_handler h, void *ud, char *err, size_t errlen)
{
    struct httpd *d = xcalloc(1, sizeof *d);
    d->handler = h;
    d->ud = ud;
    /* TURBO: read and write opportunistically instead of waiting for readiness first;
     * SUSPEND_RESUME for answers given on a later loop turn (httpd_defer) */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d, MHD_OPTION_LISTEN_SOCKET,
                              listen_fd, MHD_OPTION_CONNECTION_LIMIT, lim->connections,
                              MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout_s,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, lim->memory, MHD_OPTION_END);
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
    d->handles = 2;
    uv_poll_start(&d->poll, UV_READABLE, on_poll);
    reschedule(d, false);
    return d;
}

static void closed(uv_handle_t *h)
{
    struct httpd *d = h->data;
    if (--d->handles == 0) {
        MHD_stop_daemon(d->mhd);
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
