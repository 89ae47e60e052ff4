/* httpd.h — a small HTTP server on roster's loop, for the health port and the control socket:
 * libmicrohttpd in external-polling epoll mode, its epoll fd watched by one uv_poll and its
 * timeouts by one uv_timer, so no thread of its own touches roster's state. Handlers answer
 * synchronously from memory, or defer the answer (httpd_defer) to a later loop turn. Requests with
 * a body are refused (413) unless the server takes bodies (httpd_limits.max_body), up to a cap;
 * connection count, per-connection memory (so header size) and idle time are capped, so a slow or
 * hostile client cannot hold the loop; a header deadline, a per-client limit and room kept for new
 * clients keep a slow one from holding every connection (see httpd_limits). */
#ifndef ROSTER_HTTPD_H
#define ROSTER_HTTPD_H

#include <stdbool.h>
#include <uv.h>

#include "base/util.h"

struct httpd_later;
struct MHD_Connection;

/* A request's query string holds at most this many parameters; more set query_overflow. */
#define HTTPD_MAX_ARGS 16
/* An answer carries at most this many headers besides Content-Type, Cache-Control and Allow. */
#define HTTPD_MAX_HEADERS 4

struct httpd_arg {
    const char *key, *value; /* percent-decoded (but %00, kept as written); value "" for "?key" */
};

struct httpd_header {
    const char *name; /* a static string */
    char value[160];
};

struct httpd_req {
    const char *method;
    const char *path; /* percent-decoded (but %00, kept as written), without the query string */
    /* the query string's parameters, in order, percent-decoded (valid during the handler) */
    struct httpd_arg args[HTTPD_MAX_ARGS];
    size_t nargs;
    bool query_overflow; /* more than HTTPD_MAX_ARGS parameters: the rest are not here */
    /* the request's body, when the server takes bodies (else NULL, 0): NUL-terminated, at most
     * max_body bytes, valid during the handler */
    const char *upload;
    size_t upload_len;
    /* the handler fills these: */
    int status;
    const char *content_type;
    const char *allow;                              /* for 405: the Allow header */
    struct httpd_header headers[HTTPD_MAX_HEADERS]; /* more of them: httpd_add_header */
    size_t nheaders;
    sbuf body;
    /* internal: */
    struct httpd *d;
    struct MHD_Connection *conn;
    struct httpd_later *later;
};

typedef void (*httpd_handler)(void *ud, struct httpd_req *req);

struct httpd_limits {
    unsigned connections; /* at once */
    unsigned timeout_s;   /* idle connection timeout */
    size_t memory;        /* per connection: bounds request headers */
    /* Against slow clients: a request's headers must be complete this long after the wait for
     * them began (the accept, or the end of the previous request; 0: no deadline); one client
     * address holds at most per_client connections (0: no limit), its oldest waiting one giving
     * way to a new one; and past connections - reserve the oldest waiting connection gives way
     * to a new one, so the server is not found at its limit by a new client. */
    unsigned header_deadline_ms;
    unsigned per_client;
    unsigned reserve;
    /* Request bodies: 0 refuses every request with a body (413, unread); otherwise a body of up
     * to max_body bytes is read and handed to the handler, and a longer one is answered 413 with
     * a JSON error: at once when its Content-Length says so and the client waits for 100
     * Continue, or the body is (or, chunked, has gone) over 8 times the cap; else once it has
     * been read (and dropped), so that the client, still sending, does not lose the answer to a
     * reset connection. A body must be complete within header_deadline_ms of its headers' end,
     * as the headers had to be. */
    size_t max_body;
};

struct httpd;

/* Serves on listen_fd (a bound, listening socket, which the server takes over). NULL with err
 * set on failure. */
struct httpd *httpd_start(uv_loop_t *loop, int listen_fd, const struct httpd_limits *lim,
                          httpd_handler h, void *ud, char *err, size_t errlen);
/* Whether the handler may want a request's body, asked once its headers are complete and before
 * its body is read (req has method, path and httpd_header; no query, no upload): false when it
 * refuses the request whatever the body (no route, no token). Such a body is read and dropped,
 * not kept, and the handler then answers the request with no upload (at once, before the body,
 * when the client waits for 100 Continue or the body is over 8 times the cap): a client the
 * handler refuses cannot make the server hold max_body for each of its connections. */
typedef bool (*httpd_body_filter)(void *ud, const struct httpd_req *req);
/* Sets the server's body filter (none: every body up to the cap is kept). */
void httpd_set_body_filter(struct httpd *d, httpd_body_filter f);
/* Stops serving. A deferred request still unanswered is answered 503 here and its handle is
 * no longer valid: answer them first. */
void httpd_stop(struct httpd *d);
/* Called from a handler: the request is answered later, on the loop, with httpd_answer (its
 * connection is suspended meanwhile, still counted against the limit, and its idle timeout
 * paused). The handler's own answer is ignored. */
struct httpd_later *httpd_defer(struct httpd_req *req);
/* Answers a deferred request with ans's status, content type, Allow header and body (copied),
 * and frees l. */
void httpd_answer(struct httpd_later *l, const struct httpd_req *ans);
/* Called from a handler: the value of request header name (case-insensitive), or NULL. */
const char *httpd_header(const struct httpd_req *req, const char *name);
/* Called from a handler: adds header name (a static string) with value (copied, at most 159
 * bytes) to the answer; false when the answer has HTTPD_MAX_HEADERS already. */
bool httpd_add_header(struct httpd_req *req, const char *name, const char *value);
/* Opens a listening TCP socket on "host:port" (port 0 picks one). -errno on failure. */
int httpd_listen_tcp(const char *hostport, int *port_out);
/* Opens a listening unix socket at path with the given mode; -errno on failure. */
int httpd_listen_unix(const char *path, unsigned mode);

#endif
