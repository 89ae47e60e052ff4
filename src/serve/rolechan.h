/* rolechan.h — roster's side of the status channel of builtin roles (issue 12): each copy of a
 * builtin role (scheduler, worker, api) is spawned with one end of a SOCK_SEQPACKET socketpair
 * as its fd 3 (ROSTER_STATUS_FD=3; roles/status.h is the writing side). One datagram is one
 * JSON object of at most ROLECHAN_MAX_MSG bytes, of three kinds:
 *
 *   {"component":"scheduler:nightly","type":"schedule","status":"ok|warn|fail","detail":{...}}
 *       the latest state of something the copy reports, shown in /health under its name;
 *   {"metric":"roster_schedule_runs_total","type":"counter|gauge","help":"...",
 *    "labels":{"schedule":"nightly","outcome":"ok"},"value":3}
 *   {"metric":"...","type":"histogram","help":"...","labels":{...},
 *    "buckets":[[0.1,2],[1,5]],"sum":1.5,"count":6}
 *       the latest value of a series, in /metrics with role and instance labels added;
 *   {"record":"scheduler:nightly","data":{...}}
 *       one more of a bounded list (the last ROLECHAN_KEEP_RECORDS), such as a schedule's runs,
 *       which `roster schedules` reads over the control socket.
 *
 * Components and series are the running process's: they go when it exits. Records stay with
 * the copy (across its restarts) until the copy itself goes. Everything is bounded; a message
 * that is not one of these, or too big, is said once per copy in roster's log and ignored.
 * Reading never blocks roster: the descriptor is non-blocking and each wake reads a bounded
 * number of datagrams. */
#ifndef ROSTER_ROLECHAN_H
#define ROSTER_ROLECHAN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strmap.h"
#include "serve/status.h"
#include "supervise/supervisor.h"

#define ROLECHAN_MAX_MSG        4096
/* Per copy: enough for a scheduler of CONFIG_MAX_SCHEDULES schedules (a component, a record
 * name and about ten series each); the tables grow as they are used. */
#define ROLECHAN_MAX_COMPONENTS  1024
#define ROLECHAN_MAX_SERIES      16384
#define ROLECHAN_MAX_RECORD_KEYS 1024
#define ROLECHAN_KEEP_RECORDS   20
#define ROLECHAN_MAX_LABELS     8
#define ROLECHAN_MAX_BUCKETS    16
/* Datagrams read per wake of the loop; more wait for the next turn. */
#define ROLECHAN_READ_BATCH 64

enum rolechan_err {
    ROLECHAN_OK,
    ROLECHAN_TOO_BIG,   /* longer than ROLECHAN_MAX_MSG */
    ROLECHAN_NOT_JSON,  /* not a JSON object */
    ROLECHAN_UNKNOWN,   /* none of component, metric, record */
    ROLECHAN_BAD_FIELD, /* a member missing or of the wrong kind (why says which) */
    ROLECHAN_TOO_MANY,  /* past one of the limits above */
};
const char *rolechan_strerror(enum rolechan_err e);

struct rolechan_component {
    char *name;
    char *type;
    enum health_level level;
    cJSON *detail; /* an object, or NULL */
};

struct rolechan_series {
    char *key; /* family{labels}: what names the series */
    char *family, *type, *help;
    char *labels; /* rendered: name="value",... (escaped), "" for none */
    double value; /* counter, gauge */
    size_t nbuckets;
    double le[ROLECHAN_MAX_BUCKETS];
    double bucket[ROLECHAN_MAX_BUCKETS]; /* cumulative counts */
    double sum, count;                   /* histogram */
};

struct rolechan_records {
    char *key;
    cJSON *items[ROLECHAN_KEEP_RECORDS]; /* a ring: the oldest at head once full */
    size_t n, head;
};

/* What one copy of a builtin role has said; each table with a map from its names to indexes, so
 * a message costs the same with a thousand schedules as with one. Zeroed is empty. */
struct rolechan_state {
    struct rolechan_component *comp; /* up to ROLECHAN_MAX_COMPONENTS */
    size_t ncomp, capcomp;
    strmap comp_ix;
    struct rolechan_series *series; /* up to ROLECHAN_MAX_SERIES */
    size_t nseries, capseries;
    strmap series_ix, family_ix; /* a family to its first series (which says its type) */
    struct rolechan_records *rec; /* up to ROLECHAN_MAX_RECORD_KEYS */
    size_t nrec, caprec;
    strmap rec_ix;
    uint64_t messages, bad; /* accepted, ignored */
};

/* Applies one message to st: ROLECHAN_OK, or why not with details in why (st unchanged). */
enum rolechan_err rolechan_apply(struct rolechan_state *st, const char *msg, size_t len, char *why,
                                 size_t whylen);
/* Called with what is wrong with the first bad message a state gets (later ones are counted). */
typedef void (*rolechan_said_fn)(void *ud, const char *what);
/* Reads up to ROLECHAN_READ_BATCH datagrams from the non-blocking fd into st. Returns how many
 * were read (0: none waiting), or -1 when the other end has closed. */
int rolechan_drain(int fd, struct rolechan_state *st, rolechan_said_fn said, void *ud);
/* Drops what the running process said (components, series); keeps the records. */
void rolechan_state_clear_live(struct rolechan_state *st);
void rolechan_state_free(struct rolechan_state *st);
/* Appends st's series of one family to out, each with extra labels first (role="..",...; may be
 * ""). */
void rolechan_series_render(const struct rolechan_state *st, const char *family,
                            const char *extra, sbuf *out);

/* The observer. */
struct rolechan;
/* Attaches to s: builtin roles' copies get a channel. NULL when no observer slot is left (the
 * roles run without one). Free with rolechan_free after sup_run. */
struct rolechan *rolechan_attach(struct sup *s);
void rolechan_free(struct rolechan *rc);
/* The channel's state of an instance, or NULL (no builtin, or nothing said yet). */
const struct rolechan_state *rolechan_of(const struct rolechan *rc, const struct instance *in);
/* Adds every component of every instance to /health's checks (a key per component, an array
 * of one object per copy), raising *level. */
void rolechan_health(const struct rolechan *rc, const struct sup *s, cJSON *checks,
                     const char *now, int *level);
/* Appends every metric family the builtins report, with role and instance labels. */
void rolechan_metrics(const struct rolechan *rc, const struct sup *s, sbuf *out);
/* An array, one object per component or record key starting with prefix ("scheduler:"), per
 * copy: {"role","instance","name" (after the prefix),"status","detail","records":[...]}. */
cJSON *rolechan_json(const struct rolechan *rc, const struct sup *s, const char *prefix);

#endif
