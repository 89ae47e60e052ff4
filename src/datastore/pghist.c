/* pghist.c — a bounded queue of history statements on one Postgres connection. See pghist.h. */
#include "datastore/pghist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "datastore/pgconn.h"

#define PGHIST_DEFAULT_ROWS 256
/* A statement gets this long before the connection is taken for lost. */
#define PGHIST_QUERY_TIMEOUT_MS 10000
/* Attempts at the table's DDL on one connection: two replicas creating it at once may make one
 * fail (a unique violation in pg_type) though the table is then there. */
#define PGHIST_DDL_TRIES 3

struct stmt {
    char *sql;
    int n;
    char **params;
    struct stmt *next;
};

enum hist_state { HIST_DOWN, HIST_DDL, HIST_READY, HIST_BROKEN };

struct pghist {
    struct pgconn *conn;
    char *table, *ddl, *what;
    size_t max_rows;
    void (*log)(void *ud, const char *line);
    void *ud;
    enum hist_state st;
    int ddl_tries;
    struct stmt *head, *tail;
    size_t queued;
    bool in_flight;
    bool said_down;    /* the outage has been said */
    bool said_refused; /* a refused statement has been said */
    uint64_t written, dropped, dropped_said;
};

static void logf_(struct pghist *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct pghist *h, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (h->log) h->log(h->ud, line);
}

static void stmt_free(struct stmt *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->params[i]);
    free(s->params);
    free(s->sql);
    free(s);
}

static struct stmt *pop(struct pghist *h)
{
    struct stmt *s = h->head;
    h->head = s->next;
    if (!h->head) h->tail = NULL;
    h->queued--;
    return s;
}

static void send_next(struct pghist *h);

static void on_written(void *ud, PGresult *res, const char *err, double secs)
{
    struct pghist *h = ud;
    (void)res;
    (void)secs;
    h->in_flight = false;
    if (!h->head) return;
    if (!err) {
        stmt_free(pop(h));
        h->written++;
    } else if (pgconn_up(h->conn)) {
        /* the server refused this one (not the connection): it would be refused again */
        stmt_free(pop(h));
        h->dropped++;
        if (!h->said_refused) logf_(h, "history: a row for %s was refused: %s", h->table, err);
        h->said_refused = true;
    } /* else the connection was lost: the statement waits for the next one */
    send_next(h);
}

static void send_next(struct pghist *h)
{
    if (h->st != HIST_READY || h->in_flight || !h->head) return;
    struct stmt *s = h->head;
    if (pgconn_query(h->conn, s->sql, s->n, (const char *const *)s->params,
                     PGHIST_QUERY_TIMEOUT_MS, on_written, h) == 0)
        h->in_flight = true;
}

static void run_ddl(struct pghist *h);

static void on_ddl(void *ud, PGresult *res, const char *err, double secs)
{
    struct pghist *h = ud;
    (void)res;
    (void)secs;
    if (h->st != HIST_DDL) return;
    if (!err) {
        h->st = HIST_READY;
        send_next(h);
        return;
    }
    if (!pgconn_up(h->conn)) return; /* lost: tried again on the next connection */
    if (++h->ddl_tries < PGHIST_DDL_TRIES) {
        run_ddl(h);
        return;
    }
    h->st = HIST_BROKEN;
    logf_(h, "history: cannot create table %s (%s): %s are not written to Postgres", h->table,
          err, h->what);
    while (h->head) {
        stmt_free(pop(h));
        h->dropped++;
    }
}

static void run_ddl(struct pghist *h)
{
    if (pgconn_query(h->conn, h->ddl, 0, NULL, PGHIST_QUERY_TIMEOUT_MS, on_ddl, h) < 0) return;
}

static void on_state(void *ud, bool up, const char *err)
{
    struct pghist *h = ud;
    if (h->st == HIST_BROKEN) return;
    h->in_flight = false;
    if (up) {
        if (h->said_down)
            logf_(h, "history: Postgres is reachable again; %llu row%s dropped meanwhile",
                  (unsigned long long)(h->dropped - h->dropped_said),
                  h->dropped - h->dropped_said == 1 ? "" : "s");
        h->said_down = false;
        h->st = HIST_DDL;
        h->ddl_tries = 0;
        run_ddl(h);
        return;
    }
    h->st = HIST_DOWN;
    if (h->said_down) return; /* another failed attempt of the same outage */
    logf_(h,
          "history: Postgres is unreachable (%s); %s go on, up to %zu rows wait for it and "
          "more are dropped",
          err ? err : "?", h->what, h->max_rows);
    h->said_down = true;
    h->dropped_said = h->dropped; /* what is dropped from now on is the outage's */
}

struct pghist *pghist_new(uv_loop_t *loop, const struct pghist_opts *o)
{
    struct pghist *h = xcalloc(1, sizeof *h);
    h->table = xstrdup(o->table);
    h->ddl = xstrdup(o->ddl);
    h->what = xstrdup(o->what ? o->what : "runs");
    h->max_rows = o->max_rows ? o->max_rows : PGHIST_DEFAULT_ROWS;
    h->log = o->log;
    h->ud = o->ud;
    struct pgconn_opts po = {
        .url = o->url, .appname = o->appname, .connect_timeout_ms = 5000, .retry_max_ms = 10000};
    h->conn = pgconn_new(loop, &po, on_state, h);
    pgconn_start(h->conn);
    return h;
}

void pghist_queue(struct pghist *h, const char *sql, int n, const char *const *params)
{
    if (h->st == HIST_BROKEN || h->queued >= h->max_rows) {
        h->dropped++;
        return;
    }
    struct stmt *s = xcalloc(1, sizeof *s);
    s->sql = xstrdup(sql);
    s->n = n;
    s->params = xcalloc((size_t)(n ? n : 1), sizeof *s->params);
    for (int i = 0; i < n; i++)
        s->params[i] = xstrdup(params[i]);
    if (h->tail)
        h->tail->next = s;
    else
        h->head = s;
    h->tail = s;
    h->queued++;
    send_next(h);
}

size_t pghist_pending(const struct pghist *h)
{
    return h && (h->st == HIST_READY || h->st == HIST_DDL) ? h->queued : 0;
}

size_t pghist_queued(const struct pghist *h)
{
    return h ? h->queued : 0;
}

uint64_t pghist_written(const struct pghist *h)
{
    return h ? h->written : 0;
}

uint64_t pghist_dropped(const struct pghist *h)
{
    return h ? h->dropped : 0;
}

void pghist_close(struct pghist *h)
{
    if (!h) return;
    pgconn_close(h->conn);
    while (h->head)
        stmt_free(pop(h));
    free(h->table);
    free(h->ddl);
    free(h->what);
    free(h);
}
