/* redisconn.h — roster's own Redis connection: asynchronous hiredis on the uv loop through an
 * adapter of our own (hiredis 0.14's libuv adapter drops connect errors: a failed connect never
 * reaches the callback). The host is resolved with uv_getaddrinfo; connect and every command
 * are bounded by timers; a lost connection is retried with backoff; PING runs every few
 * seconds and its latency is kept for /health and /metrics. */
#ifndef ROSTER_REDISCONN_H
#define ROSTER_REDISCONN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct redisconn;

typedef void (*redisconn_state_cb)(void *ud, bool up, const char *err);

struct redisconn_opts {
    const char *url; /* normalized redis:// or rediss:// URL */
    uint64_t connect_timeout_ms;
    uint64_t command_timeout_ms;
    uint64_t ping_every_ms;
    uint64_t retry_max_ms;
};

/* NULL with err set when the URL cannot be used (rediss:// without TLS support). */
struct redisconn *redisconn_new(uv_loop_t *loop, const struct redisconn_opts *o,
                                redisconn_state_cb cb, void *ud, char *err, size_t errlen);
void redisconn_start(struct redisconn *r);
bool redisconn_up(const struct redisconn *r);
const char *redisconn_error(const struct redisconn *r);
/* The last PING's round trip in seconds (negative when none answered yet). */
double redisconn_latency(const struct redisconn *r);
void redisconn_close(struct redisconn *r);

#endif
