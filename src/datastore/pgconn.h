/* pgconn.h — one asynchronous libpq connection on the uv loop. Never a blocking call: the host
 * is resolved with uv_getaddrinfo and handed to libpq as hostaddr; PQconnectPoll and queries are
 * driven by uv_poll on libpq's socket; uv_timers bound the connect and every query (a query that
 * times out drops the connection, since PQcancel would block). A lost connection is retried with
 * backoff until pgconn_close. */
#ifndef ROSTER_PGCONN_H
#define ROSTER_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct pgconn;

/* up: the connection is ready for queries; or it went down (err says why). */
typedef void (*pgconn_state_cb)(void *ud, bool up, const char *err);
/* A query's outcome: res (owned by pgconn, cleared after the call) or err. */
typedef void (*pgconn_result_cb)(void *ud, PGresult *res, const char *err, double seconds);

struct pgconn_opts {
    const char *url;     /* a libpq-acceptable URL */
    const char *appname; /* application_name */
    uint64_t connect_timeout_ms;
    uint64_t retry_max_ms; /* backoff cap between attempts */
    /* Asked before each attempt (NULL: always try); false waits PGCONN_HOLD_MS and asks again.
     * The owner holds attempts while the server may be starting: a connection that lands while
     * Postgres starts makes it log "FATAL: the database system is starting up". */
    bool (*may_try)(void *ud);
};
#define PGCONN_HOLD_MS 100

struct pgconn *pgconn_new(uv_loop_t *loop, const struct pgconn_opts *o, pgconn_state_cb cb,
                          void *ud);
/* Begins connecting (and reconnecting after losses). */
void pgconn_start(struct pgconn *c);
bool pgconn_up(const struct pgconn *c);
const char *pgconn_error(const struct pgconn *c); /* the last failure, or "" */
/* Queues a query ($1.. params as text). Returns -1 when the connection is not up. */
int pgconn_query(struct pgconn *c, const char *sql, int nparams, const char *const *params,
                 uint64_t timeout_ms, pgconn_result_cb cb, void *ud);
/* Closes the connection; callbacks are not called any more; memory goes when handles close. */
void pgconn_close(struct pgconn *c);

#endif
