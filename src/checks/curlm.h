/* curlm.h — libcurl's multi interface driven from the uv loop (uv_poll per socket, one
 * uv_timer), for HTTP probes. A request never blocks the loop; DNS is curl's threaded resolver. */
#ifndef ROSTER_CURLM_H
#define ROSTER_CURLM_H

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
void curlm_cancel(struct curlm_req *r);
/* Cancels every request and closes the loop handles; frees m once they are closed. */
void curlm_close(struct curlm *m);

#endif
