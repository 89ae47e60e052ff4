/* httpc.h — a small HTTP/1.1 client on the uv loop for plain http:// URLs: one request per
 * connection (Connection: close), or requests on kept-alive connections of a pool (the worker's
 * http handler), the status, Retry-After and the answer's first bytes. It exists so that a
 * process whose requests are all plain http (the scheduler calling its app on loopback) does not
 * load libcurl, which with the TLS, Kerberos and LDAP libraries it brings costs ~8 MB of RSS
 * (bench/scheduler.py); https:// and URLs with user info go through curlm. */
#ifndef ROSTER_HTTPC_H
#define ROSTER_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct httpc;
struct httpc_pool;

/* Called once per request, as curlm_cb: status is the HTTP code, 0 when the request failed
 * (err says why), or -ETIMEDOUT when timeout_ms ended it. The request is freed after the
 * callback returns (its handles close on the next loop turns). */
typedef void (*httpc_cb)(void *ud, long status, const char *err);

/* Whether httpc sends url itself: http:// with no user info. */
bool httpc_handles(const char *url);

/* Starts method url with headers ("Name: value", borrowed for this call; a Host, User-Agent or
 * Accept among them replaces httpc's own, a Connection is dropped: it is always close), body
 * (copied; NULL: none, so a POST, PUT or PATCH sends Content-Length: 0) and a total timeout,
 * keeping up to keep bytes of the answer's body. Returns NULL when url is not one httpc_handles
 * (the callback is then not called). */
struct httpc *httpc_request(uv_loop_t *loop, const char *method, const char *url,
                            const char *const *headers, size_t nheaders, const char *body,
                            uint64_t timeout_ms, size_t keep, httpc_cb cb, void *ud);
/* A pool of kept-alive connections: a request goes on an idle connection to its host and port
 * when there is one, else on a new one, which after a complete answer that keeps it open (no
 * "Connection: close", nothing after the answer's end) is kept for the next request, up to
 * max_idle idle connections (the requests a caller runs at once: the worker's concurrency). The
 * server closing an idle connection drops it at once. A request sent on a kept connection that
 * the server closes or resets before a byte of the answer came is sent once more on a fresh
 * connection (so a POST may reach the server twice: see retry_stale in httpc.c). */
struct httpc_pool *httpc_pool_new(uv_loop_t *loop, size_t max_idle);
/* httpc_request on p's connections (no Connection header is sent: HTTP/1.1 keeps it open). */
struct httpc *httpc_pool_request(struct httpc_pool *p, const char *method, const char *url,
                                 const char *const *headers, size_t nheaders, const char *body,
                                 uint64_t timeout_ms, size_t keep, httpc_cb cb, void *ud);
/* Closes p's idle connections; p is freed once every connection has closed (those of requests
 * still running close at their end). */
void httpc_pool_close(struct httpc_pool *p);
/* The answer's Retry-After in seconds (delay-seconds, or an HTTP date counted from now), or -1
 * when it has none, says 0 or a date past, or is malformed; valid inside the callback. */
int64_t httpc_retry_after(const struct httpc *h);
/* The first bytes of the answer's body (not terminated), valid inside the callback. */
const char *httpc_response(const struct httpc *h, size_t *len);
/* Stops a request before its callback; the callback is not called. */
void httpc_cancel(struct httpc *h);

#endif
