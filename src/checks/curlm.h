/* curlm.h — libcurl's multi interface driven from the uv loop (uv_poll per socket, one
 * uv_timer), for HTTP probes and the
 * scheduler's http actions. A request never blocks the loop; DNS is curl's threaded resolver. */
#ifndef ROSTER_CURLM_H
#define ROSTER_CURLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct curlm;
struct curlm_req;

/* Called once per request: status is the HTTP code, 0 when the transfer failed (err is then a
 * short text, "" otherwise), or -ETIMEDOUT when the request's timeout ended it (err ""). The
 * request is freed after the callback returns. */
typedef void (*curlm_cb)(void *ud, long status, const char *err, double seconds);

struct curlm *curlm_new(uv_loop_t *loop);
/* Starts a GET (or "METHOD URL"-style method) of url with a total timeout. Returns a handle
 * that curlm_cancel can stop before the callback, or NULL (the callback is then not called). */
struct curlm_req *curlm_get(struct curlm *m, const char *url, uint64_t timeout_ms, curlm_cb cb,
                            void *ud);
/* The same with a method ("GET", "POST", ...; a POST or PUT sends an empty body). */
struct curlm_req *curlm_request(struct curlm *m, const char *method, const char *url,
                                uint64_t timeout_ms, curlm_cb cb, void *ud);
/* What a request sends besides its method and URL, and what it keeps of the answer. */
struct curlm_opts {
    const char *const *headers; /* "Name: value" lines (borrowed; copied by curl's list) */
    size_t nheaders;
    const char *body; /* sent as is (borrowed until the callback); NULL: as curlm_request */
    /* Keep up to this many bytes of the response body for curlm_response (0: discard it). */
    size_t keep;
    /* Allow the connection to be kept for the next request (probes want a fresh one each). */
    bool reuse;
};
/* curlm_request with headers, a body and part of the answer kept. */
struct curlm_req *curlm_request_opts(struct curlm *m, const char *method, const char *url,
                                     uint64_t timeout_ms, const struct curlm_opts *o, curlm_cb cb,
                                     void *ud);
/* The first bytes of the response body (up to opts.keep; not terminated), valid inside the
 * request's callback. */
const char *curlm_response(const struct curlm_req *r, size_t *len);
/* The answer's Retry-After in seconds (delay-seconds, or an HTTP date counted from now), or -1
 * when it has none (or says 0); valid inside the request's callback. */
int64_t curlm_retry_after(const struct curlm_req *r);
void curlm_cancel(struct curlm_req *r);
/* Cancels every request and closes the loop handles; frees m once they are closed. */
void curlm_close(struct curlm *m);

#endif
