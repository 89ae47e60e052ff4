/* pghist.h — history rows of a builtin role written to Postgres on one connection of its own
 * (the scheduler's runs in roster_schedule_runs; the worker's jobs later): the table is created
 * if absent when the connection comes up, then queued statements (parameterized INSERTs, a
 * retention DELETE) are sent one at a time. Nothing waits on it: a statement is queued and the
 * caller goes on. The queue is bounded: while Postgres is unreachable up to max_rows wait for
 * it, and what comes beyond is dropped, counted, and said once per outage through log. */
#ifndef ROSTER_PGHIST_H
#define ROSTER_PGHIST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct pghist;

struct pghist_opts {
    const char *url;     /* a libpq URL */
    const char *appname; /* application_name (the role's, so the budget sampler counts it) */
    const char *table;   /* for the log lines */
    const char *what;    /* what goes on while Postgres is away, for the log lines (NULL: "runs") */
    const char *ddl;     /* one statement: CREATE TABLE IF NOT EXISTS ... */
    size_t max_rows;     /* statements kept while Postgres is away (0: 256) */
    /* One line for the role's log (without a newline). */
    void (*log)(void *ud, const char *line);
    void *ud;
};

/* Starts connecting (libpq must be loaded: lazylib_load(LAZYLIB_PQ)). Strings are copied. */
struct pghist *pghist_new(uv_loop_t *loop, const struct pghist_opts *o);
/* Queues a statement with n text parameters (copied; none may be NULL: write NULLIF($k,'')
 * in the SQL for a value that may be missing). Never blocks. */
void pghist_queue(struct pghist *h, const char *sql, int n, const char *const *params);
/* Statements still to write while Postgres is there (0 while it is away: none will go soon). */
size_t pghist_pending(const struct pghist *h);
/* Statements in the queue, whether Postgres is there or not (pghist_close drops them). */
size_t pghist_queued(const struct pghist *h);
/* Statements written, and dropped (queue full, or refused by the server). */
uint64_t pghist_written(const struct pghist *h);
uint64_t pghist_dropped(const struct pghist *h);
/* Closes the connection; what is still queued is dropped. NULL is fine. */
void pghist_close(struct pghist *h);

#endif
