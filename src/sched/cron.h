/* cron.h — cron expressions (SPEC §9, issue 12): parsing and the next fire time in a zone,
 * with the DST rules written in the README. Pure: no I/O, no clock, no global state. */
#ifndef ROSTER_CRON_H
#define ROSTER_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/tz.h"

/* The longest expression accepted; longer is CRON_TOO_LONG. */
#define CRON_EXPR_MAX 256

enum cron_err {
    CRON_OK = 0,
    CRON_EMPTY,
    CRON_TOO_LONG,
    CRON_FEW_FIELDS,
    CRON_MANY_FIELDS,
    CRON_EMPTY_ITEM,
    CRON_BAD_VALUE,
    CRON_OUT_OF_RANGE,
    CRON_BAD_RANGE,
    CRON_BAD_STEP,
    CRON_BAD_L,
    CRON_NEVER,
    CRON_BAD_MACRO,
    CRON_BAD_EVERY,
};
const char *cron_strerror(enum cron_err e);

enum cron_field { CRON_MINUTE, CRON_HOUR, CRON_DOM, CRON_MONTH, CRON_DOW, CRON_NFIELDS };

/* Where a parse failed: col is 1-based, the first byte of the bad item (of the field, for a
 * field that is missing: one past the end); field is -1 when the error is not a field's. */
struct cron_error {
    enum cron_err code;
    int field;
    size_t col;
};
/* "hour: value out of range (0-23)"-style text for an error, without the column. */
void cron_error_format(const struct cron_error *e, char *buf, size_t size);

struct cron {
    uint64_t minute; /* bit n: minute n matches */
    uint32_t hour;
    uint32_t dom; /* bits 1..31 */
    uint16_t month; /* bits 1..12 */
    uint8_t dow;  /* bits 0..6, Sunday 0 (7 is folded into 0) */
    bool dom_last; /* `L`: the month's last day */
    /* A day field that starts with '*' leaves the day to the other one; when neither does,
     * either may match (Vixie cron). */
    bool dom_star, dow_star;
    /* The minute or hour field starts with '*': the job follows real time through DST changes
     * (README); otherwise it is a fixed-time job. */
    bool wildcard;
    int64_t every; /* @every: the period in seconds (≥ 1); 0 for field expressions */
};

/* Parses expr. Returns CRON_OK and fills c, or an error with *err saying where. */
enum cron_err cron_parse(const char *expr, struct cron *c, struct cron_error *err);

/* The first fire time strictly after instant t (seconds since the epoch) in zone z. Returns
 * false when there is none within 50 years (only expressions rejected by cron_parse as
 * CRON_NEVER could have none, so this is a guard). */
bool cron_next(const struct cron *c, const struct tz *z, int64_t t, int64_t *next);

/* Formats instant t as ISO-8601 with the zone's offset there: "2026-03-08T03:30:00-04:00"
 * ("Z" is never used, so the offset always shows; UTC is "+00:00"). */
void cron_format_time(const struct tz *z, int64_t t, char *buf, size_t size);
/* Parses "YYYY-MM-DDTHH:MM[:SS](Z|±HH:MM|±HHMM)" (also with a space for 'T'). Returns 0, or -1
 * when it is not such a time. */
int cron_parse_time(const char *s, int64_t *t);

#endif
