/* apireq.h — the jobs API's input, read and checked without I/O (so fuzzed directly): the JSON
 * body of POST /jobs, the query of GET /jobs, and the JSON error every refusal answers with
 * ({"error":{"code","message","field"}}). The api role (api.c) does the I/O around them. */
#ifndef ROSTER_APIREQ_H
#define ROSTER_APIREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "jobs/store.h"
#include "serve/httpd.h"

/* A refusal: the HTTP status, a stable code ("invalid_json", "invalid_field", ...), a message
 * for people, and the field or query parameter at fault ("" when none). */
struct apireq_error {
    int status;
    const char *code;
    char message[256];
    char field[48];
};

/* Sets e and returns -1: for `return apireq_fail(...)`. */
int apireq_fail(struct apireq_error *e, int status, const char *code, const char *field,
                const char *fmt, ...) ROSTER_PRINTF(5, 6);
/* Appends e as the JSON body {"error":{"code":...,"message":...,"field":...}} to out. */
void apireq_error_json(const struct apireq_error *e, sbuf *out);

/* POST /jobs, read: the job to enqueue, its strings owned here (apireq_enqueue_free). */
struct apireq_enqueue {
    struct job_new job;
    char *queue, *type, *payload, *unique; /* job's strings point into these */
};

/* Reads body (len bytes; need not be NUL-terminated) as POST /jobs's object {queue, type,
 * payload?, delay? ("30s"), at? (ISO-8601 with Z or an offset), unique?, max_attempts?} and
 * checks it with jobs_validate at now_ms. Returns 0 and fills out (free it), or -1 with e set:
 * 400 for JSON that does not parse (the byte offset in the message), a body that is no object,
 * a field of the wrong type, an unknown or repeated field, or a value the store refuses (the
 * field named in e->field). */
int apireq_enqueue_parse(const char *body, size_t len, int64_t now_ms, struct apireq_enqueue *out,
                         struct apireq_error *e);
void apireq_enqueue_free(struct apireq_enqueue *r);

/* GET /jobs's query, read. Strings point into the request's arguments. */
struct apireq_list {
    const char *queue;    /* NULL: every queue */
    enum job_state state; /* default queued */
    int limit;            /* 1..JOBS_LIST_MAX, default 50 */
    const char *cursor;   /* NULL: the first page */
};
#define APIREQ_LIST_DEFAULT 50
/* Reads the query parameters queue, state, limit and cursor. Returns 0, or -1 with e naming the
 * parameter: unknown, repeated, or a bad value (limit not a number in 1..1000, state not a
 * listable state, queue not a queue name). */
int apireq_list_parse(const struct httpd_arg *args, size_t nargs, bool overflow,
                      struct apireq_list *out, struct apireq_error *e);

/* A job id in a path ("/jobs/{id}"): a decimal number from 1 to INT64_MAX, no sign, no leading
 * zero.
 * false when s is none. */
bool apireq_parse_id(const char *s, size_t len, uint64_t *id);

/* Appends ms since the epoch as ISO-8601 UTC ("2026-12-06T10:00:00.123Z") to out, as a JSON
 * string, or null for 0. */
void apireq_time_json(int64_t ms, sbuf *out);
/* Appends s as a JSON string (escaped) to out: control bytes escaped, and each byte that is no
 * part of valid UTF-8 written as U+FFFD, so the answer stays JSON whatever s holds. */
void apireq_str_json(const char *s, sbuf *out);


#endif
