/* units.c — parsing and printing of durations and sizes for the config. */
#include "base/units.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int units_parse_duration(const char *s, uint64_t *ms, const char **err)
{
    const char *p = s;
    double total = 0;
    int parts = 0;
    if (!*p) {
        *err = "empty duration (expected e.g. 500ms, 10s, 5m)";
        return -1;
    }
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.') {
            *err = "invalid duration (expected e.g. 500ms, 10s, 5m, 1h30m)";
            return -1;
        }
        const char *num = p;
        while (isdigit((unsigned char)*p) || *p == '.')
            p++;
        double v;
        char tmp[32];
        size_t nlen = (size_t)(p - num);
        if (nlen == 0 || nlen >= sizeof tmp) {
            *err = "invalid duration (expected e.g. 500ms, 10s, 5m, 1h30m)";
            return -1;
        }
        memcpy(tmp, num, nlen);
        tmp[nlen] = '\0';
        char *end;
        v = strtod(tmp, &end);
        if (*end) {
            *err = "invalid number in duration";
            return -1;
        }
        double mult;
        if (strncmp(p, "ms", 2) == 0) {
            mult = 1;
            p += 2;
        } else if (*p == 's') {
            mult = 1000;
            p++;
        } else if (*p == 'm') {
            mult = 60000;
            p++;
        } else if (*p == 'h') {
            mult = 3600000;
            p++;
        } else if (*p == 'd') {
            mult = 86400000;
            p++;
        } else if (*p == '\0') {
            *err = parts == 0 ? "duration needs a unit (ms, s, m, h), e.g. 10s"
                              : "duration part needs a unit (ms, s, m, h)";
            return -1;
        } else {
            *err = "unknown duration unit (use ms, s, m, h or d)";
            return -1;
        }
        total += v * mult;
        parts++;
    }
    if (total > 1e15) {
        *err = "duration is too long";
        return -1;
    }
    *ms = (uint64_t)llround(total);
    return 0;
}

int units_parse_size(const char *s, uint64_t *bytes, const char **err)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"B", 1},
        {"K", 1e3},
        {"KB", 1e3},
        {"M", 1e6},
        {"MB", 1e6},
        {"G", 1e9},
        {"GB", 1e9},
        {"T", 1e12},
        {"TB", 1e12},
        {"KiB", 1024.0},
        {"MiB", 1048576.0},
        {"GiB", 1073741824.0},
        {"TiB", 1099511627776.0},
    };
    const char *p = s;
    while (isdigit((unsigned char)*p) || *p == '.')
        p++;
    if (p == s) {
        *err = "invalid size (expected e.g. 400MiB, 1GiB, 512MB)";
        return -1;
    }
    char tmp[32];
    size_t nlen = (size_t)(p - s);
    if (nlen >= sizeof tmp) {
        *err = "invalid size";
        return -1;
    }
    memcpy(tmp, s, nlen);
    tmp[nlen] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end) {
        *err = "invalid number in size";
        return -1;
    }
    while (*p == ' ')
        p++;
    /* A bare number is a mistake waiting to happen (max_memory: 10 is 10 bytes, and a restart
     * loop), except 0, which is the same in every unit. */
    if (!*p) {
        if (v == 0) {
            *bytes = 0;
            return 0;
        }
        *err = "size needs a unit (B, KB, MB, GB, KiB, MiB or GiB), e.g. 10MB";
        return -1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].suffix) == 0) {
            double total = v * units[i].mult;
            if (total > 1.8e19) {
                *err = "size is too large";
                return -1;
            }
            /* round, not llround: a size above 2^63 does not fit a long long */
            *bytes = (uint64_t)round(total);
            return 0;
        }
    }
    *err = "unknown size unit (use B, KB, MB, GB, KiB, MiB or GiB)";
    return -1;
}

void units_format_duration(uint64_t ms, char *buf, size_t size)
{
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    /* Hours and minutes, then what is left of the minute: whole seconds ("30s"), milliseconds
     * alone ("250ms"), or seconds with the fraction that is needed ("1.5s", "34.567s"), so the
     * text always parses back to the same value. */
    uint64_t s = ms / 1000, frac = ms % 1000;
    size_t off = 0;
    buf[0] = '\0';
    if (s >= 3600) {
        off += (size_t)snprintf(buf + off, size - off, "%lluh", (unsigned long long)(s / 3600));
        s %= 3600;
    }
    if (s >= 60 && off < size) {
        off += (size_t)snprintf(buf + off, size - off, "%llum", (unsigned long long)(s / 60));
        s %= 60;
    }
    if (off >= size) return;
    if (frac == 0) {
        if (s > 0) snprintf(buf + off, size - off, "%llus", (unsigned long long)s);
    } else if (s == 0) {
        snprintf(buf + off, size - off, "%llums", (unsigned long long)frac);
    } else {
        char digits[4];
        snprintf(digits, sizeof digits, "%03llu", (unsigned long long)frac);
        size_t nd = 3;
        while (digits[nd - 1] == '0')
            nd--;
        snprintf(buf + off, size - off, "%llu.%.*ss", (unsigned long long)s, (int)nd, digits);
    }
}

void units_format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char *names[] = {"TiB", "GiB", "MiB", "KiB"};
    static const uint64_t mults[] = {1ull << 40, 1ull << 30, 1ull << 20, 1ull << 10};
    for (int i = 0; i < 4; i++) {
        if (bytes >= mults[i] && bytes % mults[i] == 0) {
            snprintf(buf, size, "%llu%s", (unsigned long long)(bytes / mults[i]), names[i]);
            return;
        }
    }
    snprintf(buf, size, "%lluB", (unsigned long long)bytes);
}
