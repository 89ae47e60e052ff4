/* httpc.h — a small HTTP/1.1 client on the uv loop for plain http:// URLs: one request per
 * connection (Connection: close), the status and the answer's first bytes. It exists so that a
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
/* The first bytes of the answer's body (not terminated), valid inside the callback. */
const char *httpc_response(const struct httpc *h, size_t *len);
/* Stops a request before its callback; the callback is not called. */
void httpc_cancel(struct httpc *h);

#endif
