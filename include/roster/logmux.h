/* logmux.h — the single writer of roster's stdout. Every child line and every roster event is
 * formatted whole into one queue and written from the loop, so lines are never torn or
 * interleaved. When stdout is slower than the children, the queue passes a high-water mark and
 * logmux asks its owner to stop reading the children's pipes (they block in write) until it has
 * drained below the low-water mark: nothing is dropped and the loop stays free. */
#ifndef ROSTER_LOGMUX_H
#define ROSTER_LOGMUX_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "roster/logfmt.h"

#define LOGMUX_HIGH_WATER (1u << 20)
#define LOGMUX_LOW_WATER  (256u << 10)

typedef void (*logmux_pressure_cb)(void *ud, bool paused);

struct logmux {
    uv_loop_t *loop;
    int fd;         /* our own file description for stdout when we could make one */
    int orig_flags; /* fd 1's flags, restored at close when we had to change them */
    bool restore_flags;
    bool pollable; /* pipes, ttys, sockets: non-blocking writes + uv_poll */
    bool broken;   /* stdout went away (EPIPE): output is discarded */
    uv_poll_t poll;
    bool poll_active;
    uv_prepare_t flush; /* writes, before the loop blocks, what this turn produced */
    bool flush_active;
    sbuf buf;
    size_t head; /* bytes of buf already written */
    bool paused;
    logmux_pressure_cb on_pressure;
    void *ud;
    struct log_style style;
    uint64_t lines_out;
    bool closing;
    double ts; /* wall time shared by the lines of one loop turn */
    bool ts_valid;
};

/* Sets up writing to fd (normally 1). */
void logmux_init(struct logmux *m, uv_loop_t *loop, int fd);
void logmux_set_pressure_cb(struct logmux *m, logmux_pressure_cb cb, void *ud);
/* Queues one child line. */
void logmux_line(struct logmux *m, const struct log_source *src, int stream, const char *msg,
                 size_t len);
/* Queues one roster event; see logfmt_event. */
void logmux_event(struct logmux *m, const char *event, const char *subject, int instance,
                  const char *json_extra, const char *fmt, ...) ROSTER_PRINTF(6, 7);
size_t logmux_pending(const struct logmux *m);
/* Writes out everything queued, waiting for stdout at most timeout_ms. For exit. */
void logmux_flush_sync(struct logmux *m, uint64_t timeout_ms);
/* Closes the loop handles (the flags of fd 1 are restored). */
void logmux_close(struct logmux *m);

#endif
