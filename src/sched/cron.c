/* cron.c — cron expressions: a parser that says which byte is wrong, and the next fire time
 * computed on local calendar days of the job's zone, with the DST rules applied per wall time. */
#include "sched/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/units.h"

const char *cron_strerror(enum cron_err e)
{
    switch (e) {
    case CRON_OK: return "ok";
    case CRON_EMPTY: return "empty cron expression";
    case CRON_TOO_LONG: return "cron expression longer than 256 bytes";
    case CRON_FEW_FIELDS:
        return "too few fields (expected 5: minute hour day-of-month month day-of-week, or an @ "
               "macro)";
    case CRON_MANY_FIELDS:
        return "too many fields (expected 5: minute hour day-of-month month day-of-week)";
    case CRON_EMPTY_ITEM: return "empty item in a list";
    case CRON_BAD_VALUE: return "not a number nor a name this field knows";
    case CRON_OUT_OF_RANGE: return "value out of range";
    case CRON_BAD_RANGE: return "range start after its end";
    case CRON_BAD_STEP: return "step must be a number from 1 to the field's largest value";
    case CRON_BAD_L: return "L is allowed only alone in day-of-month (the month's last day)";
    case CRON_NEVER: return "this day never occurs in the months given";
    case CRON_BAD_MACRO:
        return "unknown macro (expected @yearly, @annually, @monthly, @weekly, @daily, "
               "@midnight, @hourly or @every DURATION)";
    case CRON_BAD_EVERY:
        return "@every takes a duration of whole seconds, at least 1s (such as 30s, 5m, 1h30m)";
    }
    return "unknown error";
}

static const struct {
    const char *name;
    int lo, hi;
} fields[CRON_NFIELDS] = {
    {"minute", 0, 59}, {"hour", 0, 23}, {"day-of-month", 1, 31}, {"month", 1, 12},
    {"day-of-week", 0, 7},
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

void cron_error_format(const struct cron_error *e, char *buf, size_t size)
{
    if (e->field < 0 || e->field >= CRON_NFIELDS) {
        snprintf(buf, size, "%s", cron_strerror(e->code));
        return;
    }
    const char *f = fields[e->field].name;
    if (e->code == CRON_OUT_OF_RANGE || e->code == CRON_BAD_VALUE)
        snprintf(buf, size, "%s: %s (%d-%d%s)", f, cron_strerror(e->code), fields[e->field].lo,
                 fields[e->field].hi,
                 e->field == CRON_MONTH ? " or JAN-DEC"
                 : e->field == CRON_DOW ? " or SUN-SAT, 0 and 7 both Sunday"
                                        : "");
    else
        snprintf(buf, size, "%s: %s", f, cron_strerror(e->code));
}

/* One value of field f in [p, end): a number, or a three-letter name in month and
 * day-of-week. */
static enum cron_err parse_value(int f, const char *p, const char *end, int *v)
{
    size_t n = (size_t)(end - p);
    if (n == 0) return CRON_BAD_VALUE;
    if (isdigit((unsigned char)*p)) {
        long x = 0;
        for (const char *q = p; q < end; q++) {
            if (!isdigit((unsigned char)*q)) return CRON_BAD_VALUE;
            if (x < 1000) x = x * 10 + (*q - '0');
        }
        if (x < fields[f].lo || x > fields[f].hi) return CRON_OUT_OF_RANGE;
        *v = (int)x;
        return CRON_OK;
    }
    if (n == 3 && f == CRON_MONTH) {
        for (int i = 0; i < 12; i++)
            if (!strncasecmp(p, month_names[i], 3)) return *v = i + 1, CRON_OK;
    } else if (n == 3 && f == CRON_DOW) {
        for (int i = 0; i < 7; i++)
            if (!strncasecmp(p, dow_names[i], 3)) return *v = i, CRON_OK;
    }
    return CRON_BAD_VALUE;
}

/* "5L", "L" and the like outside day-of-month's lone L: Quartz forms roster does not have. */
static bool looks_like_l(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && isdigit((unsigned char)*q))
        q++;
    return end - q == 1 && (*q == 'L' || *q == 'l');
}

/* One list item of field f: *, *\/S, A, A-B, A/S (A to the field's end), A-B/S. */
static enum cron_err parse_item(int f, const char *p, const char *end, uint64_t *bits)
{
    if (p >= end) return CRON_EMPTY_ITEM; /* (>=: gcc 14 cannot see end - p > 0 otherwise) */
    if (looks_like_l(p, end)) return CRON_BAD_L;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *vend = slash ? slash : end;
    int lo, hi, step = 1;
    enum cron_err e;
    if (vend - p == 1 && *p == '*') {
        lo = fields[f].lo;
        hi = fields[f].hi;
    } else {
        const char *dash = memchr(p, '-', (size_t)(vend - p));
        if ((e = parse_value(f, p, dash ? dash : vend, &lo))) return e;
        if (dash) {
            if ((e = parse_value(f, dash + 1, vend, &hi))) return e;
            if (lo > hi) return CRON_BAD_RANGE;
        } else {
            hi = slash ? fields[f].hi : lo;
        }
    }
    if (slash) {
        long s = 0;
        const char *q = slash + 1;
        if (q == end) return CRON_BAD_STEP;
        for (; q < end; q++) {
            if (!isdigit((unsigned char)*q)) return CRON_BAD_STEP;
            if (s < 1000) s = s * 10 + (*q - '0');
        }
        if (s < 1 || s > fields[f].hi) return CRON_BAD_STEP;
        step = (int)s;
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << v;
    return CRON_OK;
}

static enum cron_err fail(struct cron_error *err, enum cron_err code, int field, size_t col)
{
    err->code = code;
    err->field = field;
    err->col = col;
    return code;
}

/* Field f in [p, end), a comma list; base is the expression's start (for columns). */
static enum cron_err parse_field(int f, const char *base, const char *p, const char *end,
                                 uint64_t *bits, struct cron *c, struct cron_error *err)
{
    if (f == CRON_DOM && end - p == 1 && (*p == 'L' || *p == 'l')) {
        c->dom_last = true;
        return CRON_OK;
    }
    for (const char *item = p;;) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        const char *iend = comma ? comma : end;
        enum cron_err e = parse_item(f, item, iend, bits);
        if (e) return fail(err, e, f, (size_t)(item - base) + 1);
        if (!comma) return CRON_OK;
        item = comma + 1;
    }
}

static const struct {
    const char *name;
    const char *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static const char *skip_space(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

static const char *word_end(const char *p)
{
    while (*p && !is_space(*p))
        p++;
    return p;
}

static enum cron_err parse_macro(const char *expr, const char *p, struct cron *c,
                                 struct cron_error *err)
{
    const char *e = word_end(p);
    size_t n = (size_t)(e - p);
    if (n == 6 && !strncasecmp(p, "@every", 6)) {
        const char *d = skip_space(e);
        const char *dend = word_end(d);
        if (d == dend) return fail(err, CRON_BAD_EVERY, -1, (size_t)(d - expr) + 1);
        const char *rest = skip_space(dend);
        if (*rest) return fail(err, CRON_MANY_FIELDS, -1, (size_t)(rest - expr) + 1);
        char buf[64];
        uint64_t ms;
        const char *why;
        if ((size_t)(dend - d) >= sizeof buf) return fail(err, CRON_BAD_EVERY, -1, (size_t)(d - expr) + 1);
        memcpy(buf, d, (size_t)(dend - d));
        buf[dend - d] = '\0';
        /* whole seconds, so an occurrence is an epoch second every replica names the same */
        if (units_parse_duration(buf, &ms, &why) < 0 || ms < 1000 || ms % 1000 ||
            ms > (uint64_t)100 * 365 * 86400 * 1000)
            return fail(err, CRON_BAD_EVERY, -1, (size_t)(d - expr) + 1);
        memset(c, 0, sizeof *c);
        c->every = (int64_t)(ms / 1000);
        c->wildcard = true;
        return CRON_OK;
    }
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
        if (strlen(macros[i].name) == n && !strncasecmp(p, macros[i].name, n)) {
            const char *rest = skip_space(e);
            if (*rest) return fail(err, CRON_MANY_FIELDS, -1, (size_t)(rest - expr) + 1);
            struct cron_error inner;
            return cron_parse(macros[i].expr, c, &inner);
        }
    }
    return fail(err, CRON_BAD_MACRO, -1, (size_t)(p - expr) + 1);
}

/* Whether day-of-month and month can ever meet (Feb 29 counts; "30 2" never does). */
static bool some_day_exists(const struct cron *c)
{
    static const int longest[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (c->dom_last) return true;
    for (int m = 1; m <= 12; m++)
        for (int d = 1; d <= longest[m - 1]; d++)
            if ((c->month >> m & 1) && (c->dom >> d & 1)) return true;
    return false;
}

enum cron_err cron_parse(const char *expr, struct cron *c, struct cron_error *err)
{
    memset(c, 0, sizeof *c);
    memset(err, 0, sizeof *err);
    err->field = -1;
    if (strnlen(expr, CRON_EXPR_MAX + 1) > CRON_EXPR_MAX) return fail(err, CRON_TOO_LONG, -1, 1);
    const char *p = skip_space(expr);
    if (!*p) return fail(err, CRON_EMPTY, -1, 1);
    if (*p == '@') return parse_macro(expr, p, c, err);
    uint64_t bits[CRON_NFIELDS] = {0};
    const char *start[CRON_NFIELDS];
    for (int f = 0; f < CRON_NFIELDS; f++) {
        if (!*p) return fail(err, CRON_FEW_FIELDS, f, strlen(expr) + 1);
        const char *e = word_end(p);
        start[f] = p;
        enum cron_err rc = parse_field(f, expr, p, e, &bits[f], c, err);
        if (rc) return rc;
        p = skip_space(e);
    }
    if (*p) return fail(err, CRON_MANY_FIELDS, -1, (size_t)(p - expr) + 1);
    c->minute = bits[CRON_MINUTE];
    c->hour = (uint32_t)bits[CRON_HOUR];
    c->dom = (uint32_t)bits[CRON_DOM];
    c->month = (uint16_t)bits[CRON_MONTH];
    c->dow = (uint8_t)((bits[CRON_DOW] | bits[CRON_DOW] >> 7) & 0x7f); /* 7 is Sunday too */
    c->dom_star = *start[CRON_DOM] == '*';
    c->dow_star = *start[CRON_DOW] == '*';
    c->wildcard = *start[CRON_MINUTE] == '*' || *start[CRON_HOUR] == '*';
    if (c->dow_star && !some_day_exists(c))
        return fail(err, CRON_NEVER, CRON_DOM, (size_t)(start[CRON_DOM] - expr) + 1);
    return CRON_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static bool day_matches(const struct cron *c, int64_t days)
{
    int64_t y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    if (!(c->month >> m & 1)) return false;
    bool dom_ok = c->dom_last ? d == tz_days_in_month(y, m) : (c->dom >> d & 1) != 0;
    bool dow_ok = (c->dow >> tz_weekday(days) & 1) != 0;
    if (c->dom_star || c->dow_star) return dom_ok && dow_ok;
    return dom_ok || dow_ok;
}

/* The instants whose local time in z is the wall time w (local seconds since the epoch): none in
 * a skipped interval, two in a repeated one, ascending. *before is the offset in force before a
 * change near w. Assumes one change at most within a day of w, as every zone has. */
static int wall_instants(const struct tz *z, int64_t w, int64_t out[2], int32_t *before)
{
    int32_t a = tz_offset(z, w - 86400), b = tz_offset(z, w + 86400);
    int n = 0;
    *before = a;
    if (tz_offset(z, w - a) == a) out[n++] = w - a;
    if (b != a && tz_offset(z, w - b) == b) out[n++] = w - b;
    if (n == 2 && out[1] < out[0]) {
        int64_t t = out[0];
        out[0] = out[1];
        out[1] = t;
    }
    return n;
}

bool cron_next(const struct cron *c, const struct tz *z, int64_t t, int64_t *next)
{
    if (c->every) {
        *next = (floor_div(t, c->every) + 1) * c->every;
        return true;
    }
    /* A wall time w is some instant w - off with lo <= off <= hi: the ones at or before t + lo
     * are all at or before t, and once w - hi is past the best found nothing later beats it. */
    int32_t lo, hi;
    tz_offset_range(z, &lo, &hi);
    int64_t day0 = floor_div(t + lo, 86400);
    int64_t best = 0;
    bool found = false;
    for (int64_t day = day0; day < day0 + 50 * 366; day++) {
        if (found && day * 86400 - hi > best) break;
        if (!day_matches(c, day)) continue;
        for (int h = 0; h < 24; h++) {
            if (!(c->hour >> h & 1)) continue;
            if (day * 86400 + h * 3600 + 3599 <= t + lo) continue;
            for (int m = 0; m < 60; m++) {
                if (!(c->minute >> m & 1)) continue;
                int64_t w = day * 86400 + h * 3600 + m * 60;
                if (w <= t + lo) continue;
                if (found && w - hi > best) goto done;
                int64_t u[2];
                int32_t before;
                int n = wall_instants(z, w, u, &before);
                if (n == 0 && !c->wildcard) { /* skipped: read with the offset before (RFC 5545) */
                    u[0] = w - before;
                    n = 1;
                } else if (n == 2 && !c->wildcard) { /* repeated: the first pass only */
                    n = 1;
                }
                for (int i = 0; i < n; i++) {
                    if (u[i] > t && (!found || u[i] < best)) {
                        best = u[i];
                        found = true;
                    }
                }
            }
        }
    }
done:
    if (found) *next = best;
    return found;
}

void cron_format_time(const struct tz *z, int64_t t, char *buf, size_t size)
{
    int32_t off = tz_offset(z, t);
    int64_t local = t + off;
    int64_t days = floor_div(local, 86400), secs = local - days * 86400;
    int64_t y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    int32_t a = off < 0 ? -off : off;
    char extra[8] = "";
    if (a % 60) snprintf(extra, sizeof extra, ":%02d", (int)(a % 60)); /* old local mean times */
    snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d%s", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), off < 0 ? '-' : '+',
             (int)(a / 3600), (int)(a / 60 % 60), extra);
}

/* n digits at p into *v; false when they are not all digits. */
static bool digits(const char *p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i])) return false;
        *v = *v * 10 + (p[i] - '0');
    }
    return true;
}

int cron_parse_time(const char *s, int64_t *t)
{
    int y, mo, d, h, mi, sec = 0, oh = 0, om = 0;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi))
        return -1;
    const char *p = s + 16;
    if (*p == ':') {
        if (!digits(p + 1, 2, &sec)) return -1;
        p += 3;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > tz_days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return -1;
    int sign = 0;
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        sign = 1;
    } else if ((*p == '+' || *p == '-') && digits(p + 1, 2, &oh)) {
        sign = *p == '-' ? -1 : 1;
        const char *q = p + 3;
        if (*q == ':') q++;
        if (*q && (!digits(q, 2, &om) || q[2])) return -1;
        if (oh > 23 || om > 59) return -1;
    } else {
        return -1; /* an offset is required: a bare local time is ambiguous around DST */
    }
    *t = tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
         sign * (oh * 3600 + om * 60);
    return 0;
}
