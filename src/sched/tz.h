/* tz.h — time zones from the system's tzdata: a TZif (RFC 8536) reader with the footer's POSIX
 * TZ rule for instants past the table, and the civil-calendar arithmetic the scheduler needs.
 * Parsing and lookups are pure and thread-safe (no TZ switching, no localtime); only tz_load
 * touches the file system. */
#ifndef ROSTER_TZ_H
#define ROSTER_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tz_err {
    TZ_OK = 0,
    TZ_BAD_NAME,  /* not a zone name (empty, "..", characters outside the IANA set) */
    TZ_UNKNOWN,   /* no such zone in the tzdata */
    TZ_NO_TZDATA, /* the tzdata folder is missing */
    TZ_BAD_FILE,  /* not a TZif file, or a corrupt one */
    TZ_TOO_BIG,   /* more transitions or types than any real zone has */
    TZ_BAD_RULE,  /* a POSIX TZ rule that does not parse */
};
const char *tz_strerror(enum tz_err e);
/* The folder tz_load reads for dir: dir, or /usr/share/zoneinfo when it is NULL or empty. */
const char *tz_dir(const char *dir);
/* tz_strerror(e), naming the folder searched when the zone or the tzdata was not found there
 * ("unknown time zone (no such zone in /usr/share/zoneinfo)"). */
void tz_error_format(enum tz_err e, const char *dir, char *buf, size_t n);

/* A POSIX TZ rule ("EST5EDT,M3.2.0,M11.1.0"): standard offset and, when dst, the daylight offset
 * with the two changes (kind 'M' month.week.day, 'J' Julian day without Feb 29, 'D' zero-based
 * day of year), each at a local time in seconds (which may be negative or past 24h). */
struct tz_change {
    char kind;
    int month, week, wday, yday;
    int32_t time;
};
struct tz_rule {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool dst;
    struct tz_change start, end;
};

struct tz {
    char name[64];
    size_t ntrans;
    int64_t *trans;     /* ntrans instants, ascending; owned */
    int32_t *trans_off; /* the UTC offset from each transition on; owned */
    int32_t first_off;  /* before the first transition */
    bool has_rule;      /* the footer's rule governs instants from the last transition on */
    struct tz_rule rule;
};

/* UTC: offset 0, no transitions. */
void tz_utc(struct tz *z);
/* Parses a TZif file held in buf (version 1 data is skipped in favour of the 64-bit data when
 * present). name is kept for messages. On success z owns its arrays (tz_free). */
enum tz_err tz_parse(const void *buf, size_t len, const char *name, struct tz *z);
/* Parses a POSIX TZ rule string. */
enum tz_err tz_parse_rule(const char *s, struct tz_rule *r);
/* Loads a zone by IANA name ("America/Toronto", also ":America/Toronto" as TZ may spell it) from
 * dir (NULL: /usr/share/zoneinfo). "UTC" works without tzdata. */
enum tz_err tz_load(const char *name, const char *dir, struct tz *z);
void tz_free(struct tz *z);

/* The zone's UTC offset in seconds at instant t (seconds since the epoch). */
int32_t tz_offset(const struct tz *z, int64_t t);
/* The least and greatest offsets the zone ever has (so a wall time bounds its instants). */
void tz_offset_range(const struct tz *z, int32_t *lo, int32_t *hi);

/* Civil calendar (proleptic Gregorian), days counted from 1970-01-01. */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int tz_weekday(int64_t days); /* 0 Sunday .. 6 Saturday */
int tz_days_in_month(int64_t y, int m);

#endif
