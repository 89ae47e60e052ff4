/* status.h — a builtin role's side of its status channel to roster (serve/rolechan.h says what
 * the messages are): ROSTER_STATUS_FD names a SOCK_SEQPACKET socket the supervisor gave the
 * process; each message is one datagram of JSON. Writing never blocks the role: the descriptor
 * is non-blocking, and a message that does not fit now (roster is slow to read), or is too big,
 * is dropped and counted. Without the variable (the role run by hand) every send is a no-op. */
#ifndef ROSTER_ROLES_STATUS_H
#define ROSTER_ROLES_STATUS_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* The longest message roster reads (ROLECHAN_MAX_MSG). */
#define RSTATUS_MAX_MSG 4096

struct rstatus {
    int fd; /* -1: no channel */
    uint64_t sent, dropped;
};

/* Opens the channel ROSTER_STATUS_FD names in environ_, made non-blocking and close-on-exec (so
 * the commands the role runs never inherit it); st->fd is -1 without one. */
void rstatus_open(struct rstatus *st, char **environ_);
void rstatus_close(struct rstatus *st);
/* Sends msg, which is consumed. 0, or -errno: -EMSGSIZE past RSTATUS_MAX_MSG, -EAGAIN when
 * the socket is full, -EPIPE or -ECONNRESET when roster has gone (each counted in dropped);
 * -ENOTCONN without a channel. */
int rstatus_send(struct rstatus *st, cJSON *msg);
/* The three kinds of message; detail, labels and data are consumed (may be NULL). */
int rstatus_component(struct rstatus *st, const char *name, const char *type,
                      const char *status, cJSON *detail);
int rstatus_metric(struct rstatus *st, const char *family, const char *type, const char *help,
                   cJSON *labels, double value);
/* A histogram of n buckets (upper bounds le, cumulative counts), sum and count. */
int rstatus_histogram(struct rstatus *st, const char *family, const char *help, cJSON *labels,
                      const double *le, const uint64_t *counts, int n, double sum,
                      uint64_t count);
int rstatus_record(struct rstatus *st, const char *key, cJSON *data);

#endif
