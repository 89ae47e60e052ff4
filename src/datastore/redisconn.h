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

struct redisReply;
/* The answer to one command: reply (which may be an error reply: check reply->type) with err
 * NULL, or reply NULL with err saying why there is none ("timed out", "connection lost", ...).
 * The reply is hiredis's and freed after the callback returns. */
typedef void (*redisconn_reply_cb)(void *ud, struct redisReply *reply, const char *err);

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
/* Commands a connection has in flight at most; redisconn_command refuses more (-ENOBUFS). */
#define REDISCONN_MAX_PENDING 65536

/* Sends one command, argv form (binary-safe; argvlen NULL: C strings), while the connection is
 * up. cb is called exactly once, on the loop: with the reply, or with an error when no reply
 * comes within timeout_ms (0: the connection's command timeout) — a command timing out takes
 * the connection down (it reconnects with backoff), so every command then in flight fails with
 * it. Redis answers a connection's commands in order: a blocking command (BLMOVE, BLPOP) holds
 * every command sent after it on the same connection, so give blocking commands a connection of
 * their own and a timeout_ms longer than their block time. Returns 0, or -ENOTCONN (not up) /
 * -ENOBUFS (too many in flight) / -EBUSY (a subscribed connection) / -EINVAL without calling
 * cb. */
int redisconn_command(struct redisconn *r, redisconn_reply_cb cb, void *ud, int argc,
                      const char *const *argv, const size_t *argvlen, uint64_t timeout_ms);
/* A message published on a subscribed channel; msg NULL (len 0) each time the subscription is
 * (re)established, when messages published while it was down may have been missed. */
typedef void (*redisconn_message_cb)(void *ud, const char *channel, const char *msg, size_t len);
/* Subscribes r to channel for as long as r lives: SUBSCRIBE is sent now if r is up, else when it
 * comes up, and again after every reconnect. A subscribed connection is for that only:
 * redisconn_command refuses it (-EBUSY), and it sends no PING (hiredis 0.14 loses PING's answer
 * in subscribed mode), so a dead peer is noticed by TCP keepalive or a reset, not within
 * seconds — a subscriber keeps a slow poll as its safety net. Returns 0, or -EBUSY (already
 * subscribed, or commands in flight) / -EINVAL. One channel per connection. */
int redisconn_subscribe(struct redisconn *r, const char *channel, redisconn_message_cb cb,
                        void *ud);
/* Commands sent and not yet answered. */
size_t redisconn_pending(const struct redisconn *r);
/* Commands in flight are answered "connection closed" (now, or when a callback that closes
 * returns); the state callback is not called again, even by a close from inside a command's
 * callback; r is freed once its handles close (do not use it after this call). */
void redisconn_close(struct redisconn *r);

#endif
