/* minihttp.h — a very small HTTP/1.x server on the uv loop for the control socket: one request
 * per connection, no bodies, headers capped at 16 KiB, idle connections closed after a timeout.
 * The control socket is local and low-traffic; it does not need libmicrohttpd (nor the TLS
 * libraries that come with it), which the health server loads only when it is configured. */
#ifndef ROSTER_MINIHTTP_H
#define ROSTER_MINIHTTP_H

#include <uv.h>

#include "serve/httpd.h"

struct minihttp;

/* Serves on listen_fd (a bound, listening socket, taken over). NULL with err set on failure. */
struct minihttp *minihttp_start(uv_loop_t *loop, int listen_fd, const struct httpd_limits *lim,
                                httpd_handler h, void *ud, char *err, size_t errlen);
/* Stops listening and drops the open connections; frees itself once its handles are closed. */
void minihttp_stop(struct minihttp *m);
/* Parses a request head (up to the blank line); the pure part, for the unit tests. Returns 0
 * with method/path/query filled (pointers into buf, which is modified), or an HTTP status to
 * answer with (400, 413, 505). */
int minihttp_parse(char *buf, const char **method, const char **path, const char **query);

#endif
