/* tz.c — TZif reading and UTC-offset lookups, without the C library's global TZ state, so a
 * scheduler can hold many zones at once and any thread may ask. */
#include "sched/tz.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Bounds far above any zone in tzdata (the largest fat files hold a few hundred transitions);
 * a file beyond them is not one we should trust. */
#define TZ_FILE_MAX   (256 * 1024)
#define TZ_TRANS_MAX  4096
#define TZ_TYPES_MAX  256
#define TZ_CHARS_MAX  1024
#define TZ_LEAPS_MAX  1024

const char *tz_strerror(enum tz_err e)
{
    switch (e) {
    case TZ_OK: return "ok";
    case TZ_BAD_NAME: return "not a time zone name (expected an IANA name such as Europe/Berlin)";
    case TZ_UNKNOWN: return "unknown time zone (not in the system's tzdata)";
    case TZ_NO_TZDATA: return "no tzdata on this system (install the tzdata package)";
    case TZ_BAD_FILE: return "the zone's TZif file is corrupt";
    case TZ_TOO_BIG: return "the zone's TZif file is larger than any real zone";
    case TZ_BAD_RULE: return "the zone's POSIX TZ rule does not parse";
    }
    return "unknown error";
}

const char *tz_dir(const char *dir)
{
    return dir && *dir ? dir : "/usr/share/zoneinfo";
}

void tz_error_format(enum tz_err e, const char *dir, char *buf, size_t n)
{
    bool env = dir && *dir;
    if (e == TZ_UNKNOWN)
        snprintf(buf, n, "unknown time zone: no such zone in %.200s%s", tz_dir(dir),
                 env ? " (TZDIR)" : "");
    else if (e == TZ_NO_TZDATA && env)
        snprintf(buf, n, "no tzdata in %.200s (TZDIR): fix TZDIR, or install the tzdata package",
                 dir);
    else if (e == TZ_NO_TZDATA)
        snprintf(buf, n, "no tzdata in %s: install the tzdata package (or set TZDIR)", tz_dir(dir));
    else
        snprintf(buf, n, "%s", tz_strerror(e));
}

int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    /* Howard Hinnant's days_from_civil: eras of 400 years, March-based years. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int tz_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int64_t y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

void tz_utc(struct tz *z)
{
    memset(z, 0, sizeof *z);
    snprintf(z->name, sizeof z->name, "UTC");
}

void tz_free(struct tz *z)
{
    free(z->trans);
    free(z->trans_off);
    z->trans = NULL;
    z->trans_off = NULL;
    z->ntrans = 0;
}

/* --- POSIX TZ rules --- */

static const char *rule_name(const char *p)
{
    if (*p == '<') {
        const char *q = strchr(p, '>');
        return q && q - p >= 2 ? q + 1 : NULL;
    }
    const char *q = p;
    while (isalpha((unsigned char)*q))
        q++;
    return q - p >= 3 ? q : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536's extension for change times). */
static const char *rule_time(const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p)) return NULL;
    long parts[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p)) return NULL;
        char *end;
        parts[i] = strtol(p, &end, 10);
        if (end - p > 3) return NULL;
        p = end;
        if (*p != ':' || i == 2) break;
        p++;
    }
    if (parts[0] > 167 || parts[1] > 59 || parts[2] > 59) return NULL;
    *out = sign * (int32_t)(parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return p;
}

static const char *rule_num(const char *p, int lo, int hi, int *out)
{
    if (!isdigit((unsigned char)*p)) return NULL;
    char *end;
    long v = strtol(p, &end, 10);
    if (v < lo || v > hi || end - p > 3) return NULL;
    *out = (int)v;
    return end;
}

static const char *rule_change(const char *p, struct tz_change *c)
{
    memset(c, 0, sizeof *c);
    if (*p == 'M') {
        c->kind = 'M';
        if (!(p = rule_num(p + 1, 1, 12, &c->month)) || *p++ != '.') return NULL;
        if (!(p = rule_num(p, 1, 5, &c->week)) || *p++ != '.') return NULL;
        if (!(p = rule_num(p, 0, 6, &c->wday))) return NULL;
    } else if (*p == 'J') {
        c->kind = 'J';
        if (!(p = rule_num(p + 1, 1, 365, &c->yday))) return NULL;
    } else {
        c->kind = 'D';
        if (!(p = rule_num(p, 0, 365, &c->yday))) return NULL;
    }
    c->time = 7200;
    if (*p == '/' && !(p = rule_time(p + 1, &c->time))) return NULL;
    return p;
}

enum tz_err tz_parse_rule(const char *s, struct tz_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = rule_name(s);
    int32_t off;
    if (!p || !(p = rule_time(p, &off))) return TZ_BAD_RULE;
    r->std_off = -off; /* POSIX counts west of Greenwich as positive */
    if (!*p) return TZ_OK;
    if (!(p = rule_name(p))) return TZ_BAD_RULE;
    r->dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = rule_time(p, &off))) return TZ_BAD_RULE;
        r->dst_off = -off;
    }
    if (!*p) { /* no change dates: the US rules, as glibc assumes */
        r->start = (struct tz_change){.kind = 'M', .month = 3, .week = 2, .wday = 0, .time = 7200};
        r->end = (struct tz_change){.kind = 'M', .month = 11, .week = 1, .wday = 0, .time = 7200};
        return TZ_OK;
    }
    if (*p++ != ',' || !(p = rule_change(p, &r->start))) return TZ_BAD_RULE;
    if (*p++ != ',' || !(p = rule_change(p, &r->end))) return TZ_BAD_RULE;
    return *p ? TZ_BAD_RULE : TZ_OK;
}

/* The day (from the epoch) on which a change falls in year y. */
static int64_t change_day(const struct tz_change *c, int64_t y)
{
    int64_t jan1 = tz_days_from_civil(y, 1, 1);
    if (c->kind == 'J') /* 1..365, Feb 29 never counted */
        return jan1 + c->yday - 1 + (is_leap(y) && c->yday >= 60);
    if (c->kind == 'D') return jan1 + c->yday;
    int64_t first = tz_days_from_civil(y, c->month, 1);
    int64_t d = first + (c->wday - tz_weekday(first) + 7) % 7 + 7 * (c->week - 1);
    int64_t last = first + tz_days_in_month(y, c->month) - 1;
    while (d > last) /* week 5: the last such weekday */
        d -= 7;
    return d;
}

static int32_t rule_offset(const struct tz_rule *r, int64_t t)
{
    if (!r->dst) return r->std_off;
    int64_t y;
    int m, d;
    int64_t local = t + r->std_off;
    tz_civil_from_days(local >= 0 ? local / 86400 : -((-local + 86399) / 86400), &y, &m, &d);
    /* Each change's local time is read in the offset in force before it. */
    int64_t start = change_day(&r->start, y) * 86400 + r->start.time - r->std_off;
    int64_t end = change_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
    if (start < end) return t >= start && t < end ? r->dst_off : r->std_off;
    return t >= end && t < start ? r->std_off : r->dst_off; /* southern hemisphere */
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
    if (z->ntrans == 0 || t < z->trans[0]) {
        if (z->ntrans == 0 && z->has_rule) return rule_offset(&z->rule, t);
        return z->first_off;
    }
    if (t >= z->trans[z->ntrans - 1] && z->has_rule) return rule_offset(&z->rule, t);
    size_t lo = 0, hi = z->ntrans; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->trans_off[lo];
}

void tz_offset_range(const struct tz *z, int32_t *lo, int32_t *hi)
{
    *lo = *hi = z->first_off;
    for (size_t i = 0; i < z->ntrans; i++) {
        if (z->trans_off[i] < *lo) *lo = z->trans_off[i];
        if (z->trans_off[i] > *hi) *hi = z->trans_off[i];
    }
    if (!z->has_rule) return;
    int32_t r[2] = {z->rule.std_off, z->rule.dst ? z->rule.dst_off : z->rule.std_off};
    for (int i = 0; i < 2; i++) {
        if (r[i] < *lo) *lo = r[i];
        if (r[i] > *hi) *hi = r[i];
    }
}

/* --- TZif --- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
    char version;
    uint32_t isut, isstd, leap, time, type, chars;
};

static enum tz_err read_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
    if (len < 44 || memcmp(p, "TZif", 4)) return TZ_BAD_FILE;
    h->version = (char)p[4];
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chars = be32(p + 40);
    if (h->time > TZ_TRANS_MAX || h->type > TZ_TYPES_MAX || h->chars > TZ_CHARS_MAX ||
        h->leap > TZ_LEAPS_MAX || h->isut > TZ_TYPES_MAX || h->isstd > TZ_TYPES_MAX)
        return TZ_TOO_BIG;
    if (h->type == 0 || (h->isut && h->isut != h->type) || (h->isstd && h->isstd != h->type))
        return TZ_BAD_FILE;
    return TZ_OK;
}

static size_t data_len(const struct tzif_hdr *h, size_t tsize)
{
    return h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) + h->isstd +
           h->isut;
}

enum tz_err tz_parse(const void *buf, size_t len, const char *name, struct tz *z)
{
    const unsigned char *p = buf, *end = p + len;
    tz_utc(z);
    snprintf(z->name, sizeof z->name, "%s", name ? name : "");
    struct tzif_hdr h;
    enum tz_err e = read_hdr(p, len, &h);
    if (e) return e;
    size_t tsize = 4;
    size_t n = data_len(&h, 4);
    if ((size_t)(end - p) - 44 < n) return TZ_BAD_FILE;
    if (h.version >= '2') { /* skip the 32-bit data for the 64-bit block that follows */
        p += 44 + n;
        if ((e = read_hdr(p, (size_t)(end - p), &h))) return e;
        tsize = 8;
        n = data_len(&h, 8);
        if ((size_t)(end - p) - 44 < n) return TZ_BAD_FILE;
    }
    const unsigned char *times = p + 44;
    const unsigned char *idx = times + h.time * tsize;
    const unsigned char *types = idx + h.time;
    int32_t offs[TZ_TYPES_MAX];
    for (uint32_t i = 0; i < h.type; i++) {
        offs[i] = (int32_t)be32(types + 6 * i);
        if (offs[i] < -26 * 3600 || offs[i] > 26 * 3600) return TZ_BAD_FILE;
    }
    /* RFC 8536: type 0 is the one in force before the first transition. */
    z->first_off = offs[0];
    if (h.time) {
        z->trans = xcalloc(h.time, sizeof *z->trans);
        z->trans_off = xcalloc(h.time, sizeof *z->trans_off);
    }
    for (uint32_t i = 0; i < h.time; i++) {
        z->trans[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (idx[i] >= h.type || (i && z->trans[i] <= z->trans[i - 1])) {
            tz_free(z);
            return TZ_BAD_FILE;
        }
        z->trans_off[i] = offs[idx[i]];
    }
    z->ntrans = h.time;
    p += 44 + n;
    if (tsize == 8 && p < end && *p == '\n') { /* the footer: "\nRULE\n", possibly empty */
        const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
        if (!nl || nl - p - 1 > 120) {
            tz_free(z);
            return TZ_BAD_FILE;
        }
        char rule[128];
        memcpy(rule, p + 1, (size_t)(nl - p - 1));
        rule[nl - p - 1] = '\0';
        if (*rule) {
            if (tz_parse_rule(rule, &z->rule)) {
                tz_free(z);
                return TZ_BAD_RULE;
            }
            z->has_rule = true;
        }
    }
    return TZ_OK;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (!n || n >= sizeof ((struct tz *)0)->name || *s == '/' || *s == '-') return false;
    if (strstr(s, "..") || strstr(s, "//")) return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p)) return false;
    return true;
}

enum tz_err tz_load(const char *name, const char *dir, struct tz *z)
{
    tz_utc(z);
    if (*name == ':') name++;
    if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) return TZ_OK;
    if (!valid_name(name)) return TZ_BAD_NAME;
    dir = tz_dir(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf;
    size_t len;
    int rc = read_file(path, TZ_FILE_MAX, &buf, &len);
    if (rc == -EFBIG) return TZ_TOO_BIG;
    if (rc < 0) {
        char probe[4096];
        snprintf(probe, sizeof probe, "%s/UTC", dir);
        char *b2;
        size_t l2;
        if (read_file(probe, TZ_FILE_MAX, &b2, &l2) < 0) return TZ_NO_TZDATA;
        free(b2);
        return TZ_UNKNOWN;
    }
    /* zoneinfo also holds tables (zone.tab, tzdata.zi): a file that is not TZif is no zone */
    enum tz_err e = len >= 4 && !memcmp(buf, "TZif", 4) ? tz_parse(buf, len, name, z) : TZ_UNKNOWN;
    free(buf);
    return e;
}
