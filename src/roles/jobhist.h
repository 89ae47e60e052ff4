/* jobhist.h — the built-in worker's job history (issue 13): with postgres: in the config and a
 * share of at least one connection for the worker role (ROSTER_PG_POOL_SIZE), each finished
 * attempt of a job (done, failed and to be retried, dead) is a row of roster_jobs, written on one
 * connection of the worker process (datastore/pghist.h: table created if absent, a bounded
 * queue, Postgres away said once), and rows of the role's queues older than history.keep are
 * deleted at start and hourly. Nothing here ever holds a job up: a row that cannot be written is
 * dropped and counted. */
#ifndef ROSTER_JOBHIST_H
#define ROSTER_JOBHIST_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"

/* How an attempt ended, as the outcome column says it. */
enum jobhist_outcome { JOBHIST_DONE, JOBHIST_RETRY, JOBHIST_DEAD };

struct jobhist_row {
    uint64_t job_id;
    const char *queue, *type;
    int attempt; /* 1 for the first run */
    enum jobhist_outcome outcome;
    const char *error;        /* NULL or "": none; cut to its first 1 KiB */
    int exit_code;            /* -1: none */
    int http_status;          /* 0: none */
    double started, finished; /* wall clock, seconds since the epoch */
    int64_t duration_ms;
};

struct jobhist;

/* The history of worker role rc, or NULL when it keeps none: no postgres: (said nothing), a share
 * of 0 connections or no libpq (said once on stdout). worker: this worker's id, for the rows.
 * Everything is borrowed for the life of the history except worker, which is copied. */
struct jobhist *jobhist_new(uv_loop_t *loop, const struct roster_config *cfg,
                            const struct role_config *rc, const char *worker, char **environ_);
/* Queues a row; never blocks. NULL is fine (no history). */
void jobhist_add(struct jobhist *h, const struct jobhist_row *row);
/* Runs the loop until the rows still queued are written, for at most ms (the worker is
 * stopping), and says on stdout how many rows were dropped if any were. NULL is fine. */
void jobhist_flush(struct jobhist *h, uint64_t ms);
/* Closes the connection and its timer (the loop must run on for it to close); frees h once
 * closed. NULL is fine. */
void jobhist_close(struct jobhist *h);

/* text's first bytes as valid UTF-8 of at most max bytes (a byte of an invalid sequence becomes
 * '?', a sequence that does not fit whole is left out), into out (max + 1 bytes). Pure. */
void jobhist_clip_utf8(const char *text, size_t max, char *out);

#endif
