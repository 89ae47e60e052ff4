/* crashlog.h — the dev profile's crash dedupe on an instance's output (log/dedupe.h holds the
 * matching). While a new run's lines repeat the last crash's, logmux keeps them aside
 * (log_source.held); the first differing line, the hold time, or roster stopping the instance
 * writes them out; a crash that repeated the last one exactly drops them, and the exit event
 * says so with a count. Only in the text log format of roster's own line (JSON logs go to
 * collectors that want every line; concurrently's command line keeps concurrently's output). */
#ifndef ROSTER_CRASHLOG_H
#define ROSTER_CRASHLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "base/util.h"
#include "log/dedupe.h"

/* How long a run's lines may be held while they match: past it they are written and the run
 * streams as usual (a service that printed its banner and runs on is shown by then). */
#define CRASHLOG_HOLD_MS 2000

struct instance;

/* Per instance; part of struct instance. */
struct crashlog {
    struct dedupe d;
    sbuf held;        /* formatted lines held back (log_source.held points here meanwhile) */
    uv_timer_t timer; /* the hold time; one of the instance's handles */
    bool on;          /* deduping this run */
};

/* Sets up in->crash (its timer counts as one of the instance's handles). */
void crashlog_init(struct instance *in);
/* A process of the instance was spawned: its run is compared with the last crash's when the
 * dev profile is on. */
void crashlog_start(struct instance *in);
/* One line of the instance's output, in place of logmux_line (cont: as logmux_line's). */
void crashlog_line(struct instance *in, int which, const char *line, size_t len, bool cont);
/* Writes what is held and stops holding for this run (roster is stopping the instance). */
void crashlog_release(struct instance *in);
/* The instance's process group is gone: crash says it ended on its own with status (not 0).
 * Returns n >= 2 when this crash repeated the last one's output and status exactly: its lines
 * were dropped and the caller's exit event says "the n-th in a row"; else 0 and what was held
 * has been written. */
unsigned crashlog_end(struct instance *in, bool crash, int status);
/* Closes the timer (cb is the instance's handle-closed callback); for release_instance. */
void crashlog_close(struct instance *in, uv_close_cb cb);
/* Frees what in->crash holds; after its timer has closed. */
void crashlog_free(struct instance *in);

#endif
