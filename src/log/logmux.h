/* logmux.h — the single writer of roster's stdout. Every child line and every roster event is
 * formatted whole into one buffer on the loop; once per loop turn the buffer is handed to a
 * writer thread that does the (blocking) write(2)s, so lines are never torn or interleaved, a
 * slow stdout never blocks the loop, and copying into stdout runs beside the loop's own work on
 * another core. When stdout is slower than the children, the bytes not yet written pass a
 * high-water mark and logmux asks its owner to stop reading the children's pipes (they block in
 * write) until they drain below the low-water mark: a running role's lines are not dropped.
 * Lines that arrive regardless (what an exited role left in its pipes is read whatever the
 * pressure, and the role may restart and write more) are held up to a hard cap; beyond it a
 * line is dropped and counted for its role, and once the queue has drained, one event per role
 * says how many ("api: 120 lines dropped (output stalled)"); each source's count (and the
 * events') also only grows, for /metrics. Once stdout has gone away for good, lines are counted,
 * not formatted. The writer thread touches nothing but the buffer it was handed. */
#ifndef ROSTER_LOGMUX_H
#define ROSTER_LOGMUX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "log/logfmt.h"

#define LOGMUX_HIGH_WATER (1u << 20)
#define LOGMUX_LOW_WATER  (256u << 10)
#define LOGMUX_MAX_QUEUED (8u << 20) /* the hard cap on bytes queued and not yet written */
#define LOGMUX_DROP_ROLES 64         /* roles whose dropped lines are counted by name */
#define LOGMUX_MAX_HELD   (16u << 20) /* the cap on one held source's bytes (-g) */

/* Lines dropped for one role since the last report. */
struct logmux_drop {
    char *role;
    uint64_t lines;
};

typedef void (*logmux_pressure_cb)(void *ud, bool paused);
typedef void (*logmux_gone_cb)(void *ud);

struct logmux {
    uv_loop_t *loop;
    int fd;
    sbuf buf;    /* loop side: lines formatted since the last hand-over */
    sbuf wbuf;   /* writer side: being written while busy */
    bool busy;   /* the writer holds wbuf (under mu) */
    bool quit;   /* (under mu) */
    bool broken; /* stdout went away (EPIPE, EIO): output is discarded (writer side) */
    int broken_errno;    /* why (writer side) */
    uint64_t lost_lines; /* lines discarded since (writer side; read after the writer quit) */
    bool gone;           /* broken, as the loop may read it (under mu) */
    /* lost_lines, as the loop may read it (under mu); as the loop last read it; and whether
     * the loop knows stdout went away (lines are then counted, not queued) */
    uint64_t lost_shared, lost_seen;
    bool gone_seen;
    uint64_t gone_dropped; /* lines and events counted, not queued, since then (loop side) */
    bool gone_told;      /* on_gone was called (loop side) */
    bool lost_said;      /* the lost lines were reported on stderr */
    logmux_gone_cb on_gone;
    void *gone_ud;
    bool thread_ok;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* to the writer: work or quit */
    pthread_cond_t idle; /* from the writer: wbuf written */
    uv_async_t done;     /* from the writer: wbuf written, back on the loop */
    uv_prepare_t flush;  /* hands over, before the loop blocks, what this turn produced */
    bool flush_active;
    bool paused;
    logmux_pressure_cb on_pressure;
    void *ud;
    struct log_style style;
    bool closing;
    bool stopped, stuck; /* the writer thread was told to quit; it was mid-write then */
    double ts;           /* wall time shared by the lines of one loop turn */
    bool ts_valid;
    size_t inflight; /* bytes handed to the writer, maybe not all written yet (loop side) */
    struct logmux_drop drops[LOGMUX_DROP_ROLES];
    size_t ndrops;
    uint64_t drops_other;  /* lines of roles beyond the table */
    uint64_t drops_events; /* roster's own events */
    /* Since the start, never reset (what /metrics reads; loop side): roster's events not
     * written, over the cap or after stdout went away. A source's lines: its `dropped`. */
    uint64_t events_dropped_total;
};

/* Sets up writing to fd (normally 1) and starts the writer thread. */
void logmux_init(struct logmux *m, uv_loop_t *loop, int fd);
void logmux_set_pressure_cb(struct logmux *m, logmux_pressure_cb cb, void *ud);
/* Calls cb once, on the loop, when stdout has gone away (a write failed with EPIPE, EIO...):
 * from then on output is discarded and its lines counted; logmux_stop says how many once on
 * stderr. */
void logmux_set_gone_cb(struct logmux *m, logmux_gone_cb cb, void *ud);
/* Queues one child line (cont: a piece of a longer line, not its first; see logfmt_piece);
 * over the hard cap, or once stdout went away, the line is dropped and counted instead (in
 * src->dropped, and for the "dropped" event). */
void logmux_line(struct logmux *m, struct log_source *src, int stream, const char *msg,
                 size_t len, bool cont);
/* Queues one roster event (see logfmt_event); over the hard cap it is dropped and counted. */
void logmux_event(struct logmux *m, const char *event, const char *subject, int instance,
                  const char *json_extra, const char *fmt, ...) ROSTER_PRINTF(6, 7);
/* Queues one of concurrently's event lines about src (logfmt_note), or a global one when src
 * is NULL (logfmt_global); dropped and counted like an event over the hard cap. */
void logmux_note(struct logmux *m, const struct log_source *src, const char *fmt, ...)
    ROSTER_PRINTF(3, 4);
/* Queues what src->held kept (in order, whole) and stops holding: src's next lines are queued
 * as they come. Nothing when src->held is NULL. */
void logmux_release(struct logmux *m, struct log_source *src);
/* Bytes queued and not yet written. */
size_t logmux_pending(struct logmux *m);
/* Whether stdout still takes output (false once a write failed for good), as the loop last
 * saw it. */
bool logmux_stdout_up(const struct logmux *m);
/* Lines (of any source, or events) that were on their way to stdout when it went away, so that
 * no source's count has them, as the loop last saw it. */
uint64_t logmux_lines_lost(const struct logmux *m);
/* Writes out everything queued, waiting for stdout at most timeout_ms. For exit. */
void logmux_flush_sync(struct logmux *m, uint64_t timeout_ms);
/* Stops the writer thread (left behind if it is stuck on stdout); call after logmux_flush_sync
 * and before the loop's handles are closed. When stdout went away, says once on stderr how
 * many lines were not written. */
void logmux_stop(struct logmux *m);
/* Stops the thread if need be, closes the loop handles and frees the buffers. */
void logmux_close(struct logmux *m);

#endif
