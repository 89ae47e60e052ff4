/* test_cron.c — cron expressions and zones: every parser error with its column, and next fire
 * times against cron_vectors.h, which gen_cron_vectors.py computes with Python's zoneinfo
 * independently of this code (DST days in five zones, leap days, L, the day-field OR, year
 * ends, @every). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/cron.h"
#include "sched/tz.h"
#include "t.h"

#include "cron_vectors.h"

static void test_errors(void)
{
    static const struct {
        const char *expr;
        enum cron_err code;
        size_t col;
        int field;
    } cases[] = {
        {"", CRON_EMPTY, 1, -1},
        {"   ", CRON_EMPTY, 1, -1},
        {"* * * *", CRON_FEW_FIELDS, 8, CRON_DOW},
        {"*", CRON_FEW_FIELDS, 2, CRON_HOUR},
        {"* * * * * *", CRON_MANY_FIELDS, 11, -1},
        {"1,,2 * * * *", CRON_EMPTY_ITEM, 3, CRON_MINUTE},
        {"1, * * * *", CRON_EMPTY_ITEM, 3, CRON_MINUTE},
        {"x * * * *", CRON_BAD_VALUE, 1, CRON_MINUTE},
        {"1a * * * *", CRON_BAD_VALUE, 1, CRON_MINUTE},
        {"0 0 * JANUARY *", CRON_BAD_VALUE, 7, CRON_MONTH},
        {"0 0 * * MON,FOO", CRON_BAD_VALUE, 13, CRON_DOW},
        {"0 0 * MON *", CRON_BAD_VALUE, 7, CRON_MONTH},
        {"0 0 JAN * *", CRON_BAD_VALUE, 5, CRON_DOM},
        {"60 * * * *", CRON_OUT_OF_RANGE, 1, CRON_MINUTE},
        {"0 24 * * *", CRON_OUT_OF_RANGE, 3, CRON_HOUR},
        {"0 0 0 * *", CRON_OUT_OF_RANGE, 5, CRON_DOM},
        {"0 0 32 * *", CRON_OUT_OF_RANGE, 5, CRON_DOM},
        {"0 0 * 13 *", CRON_OUT_OF_RANGE, 7, CRON_MONTH},
        {"0 0 * 0 *", CRON_OUT_OF_RANGE, 7, CRON_MONTH},
        {"0 0 * * 8", CRON_OUT_OF_RANGE, 9, CRON_DOW},
        {"0 0-99999999999 * * *", CRON_OUT_OF_RANGE, 3, CRON_HOUR},
        {"0 17-9 * * *", CRON_BAD_RANGE, 3, CRON_HOUR},
        {"0 0 * * FRI-MON", CRON_BAD_RANGE, 9, CRON_DOW},
        {"*/0 * * * *", CRON_BAD_STEP, 1, CRON_MINUTE},
        {"*/ * * * *", CRON_BAD_STEP, 1, CRON_MINUTE},
        {"*/x * * * *", CRON_BAD_STEP, 1, CRON_MINUTE},
        {"0 */24 * * *", CRON_BAD_STEP, 3, CRON_HOUR},
        {"0 1-5/2/3 * * *", CRON_BAD_STEP, 3, CRON_HOUR},
        {"0 0 L,15 * *", CRON_BAD_L, 5, CRON_DOM},
        {"0 0 15L * *", CRON_BAD_L, 5, CRON_DOM},
        {"0 0 * * 5L", CRON_BAD_L, 9, CRON_DOW},
        {"L 0 * * *", CRON_BAD_L, 1, CRON_MINUTE},
        {"0 0 30 2 *", CRON_NEVER, 5, CRON_DOM},
        {"0 0 31 4,6,9,11 *", CRON_NEVER, 5, CRON_DOM},
        {"@often", CRON_BAD_MACRO, 1, -1},
        {"  @reboot", CRON_BAD_MACRO, 3, -1},
        {"@daily 5", CRON_MANY_FIELDS, 8, -1},
        {"@every", CRON_BAD_EVERY, 7, -1},
        {"@every 500ms", CRON_BAD_EVERY, 8, -1},
        {"@every 1.5s", CRON_BAD_EVERY, 8, -1},
        {"@every 0s", CRON_BAD_EVERY, 8, -1},
        {"@every ten", CRON_BAD_EVERY, 8, -1},
        {"@every 30s 1", CRON_MANY_FIELDS, 12, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cron c;
        struct cron_error e;
        enum cron_err rc = cron_parse(cases[i].expr, &c, &e);
        if (rc != cases[i].code || e.col != cases[i].col || e.field != cases[i].field)
            fprintf(stderr, "  '%s': got %s at %zu (field %d)\n", cases[i].expr,
                    cron_strerror(rc), e.col, e.field);
        CHECK_INT(rc, cases[i].code);
        CHECK_INT(e.code, cases[i].code);
        CHECK_INT(e.col, cases[i].col);
        CHECK_INT(e.field, cases[i].field);
        CHECK(strcmp(cron_strerror(rc), "unknown error") != 0);
    }
    char longexpr[CRON_EXPR_MAX + 8];
    memset(longexpr, '1', sizeof longexpr - 1);
    longexpr[sizeof longexpr - 1] = '\0';
    struct cron c;
    struct cron_error e;
    CHECK_INT(cron_parse(longexpr, &c, &e), CRON_TOO_LONG);

    char msg[256];
    cron_parse("0 24 * * *", &c, &e);
    cron_error_format(&e, msg, sizeof msg);
    CHECK_STR(msg, "hour: value out of range (0-23)");
    cron_parse("0 0 * * FOO", &c, &e);
    cron_error_format(&e, msg, sizeof msg);
    CHECK_STR(msg, "day-of-week: not a number nor a name this field knows (0-7 or SUN-SAT, 0 and "
                   "7 both Sunday)");
}

static void test_parse(void)
{
    struct cron c;
    struct cron_error e;
    CHECK_INT(cron_parse("1-59/7 9-17/2 * jan,Jul Sun,7", &c, &e), CRON_OK);
    CHECK(c.minute == ((1ull << 1) | (1ull << 8) | (1ull << 15) | (1ull << 22) | (1ull << 29) |
                       (1ull << 36) | (1ull << 43) | (1ull << 50) | (1ull << 57)));
    CHECK(c.hour == ((1u << 9) | (1u << 11) | (1u << 13) | (1u << 15) | (1u << 17)));
    CHECK(c.month == ((1u << 1) | (1u << 7)));
    CHECK(c.dow == 1);
    CHECK(!c.wildcard && c.dom_star && !c.dow_star);
    CHECK_INT(cron_parse("\t0  */2 L * *  ", &c, &e), CRON_OK);
    CHECK(c.dom_last && c.wildcard && !c.dom_star);
    CHECK_INT(cron_parse("@HOURLY", &c, &e), CRON_OK);
    CHECK(c.wildcard && c.minute == 1 && c.hour == 0xffffff);
    CHECK_INT(cron_parse("@daily", &c, &e), CRON_OK);
    CHECK(!c.wildcard);
    CHECK_INT(cron_parse("@every 1h30m", &c, &e), CRON_OK);
    CHECK_INT(c.every, 5400);
    /* a day-of-week field of only 7 is Sunday, not nothing */
    CHECK_INT(cron_parse("0 0 * * 7", &c, &e), CRON_OK);
    CHECK_INT(c.dow, 1);
    /* 30 Feb never comes, but with a weekday restricted the OR lets Mondays fire */
    CHECK_INT(cron_parse("0 0 30 2 MON", &c, &e), CRON_OK);
}

static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof cron_vectors / sizeof cron_vectors[0]; i++) {
        struct cron c;
        struct cron_error e;
        struct tz z;
        CHECK_INT(cron_parse(cron_vectors[i].expr, &c, &e), CRON_OK);
        enum tz_err te = tz_load(cron_vectors[i].zone, NULL, &z);
        CHECK_INT(te, TZ_OK);
        if (te) continue;
        int64_t t = cron_vectors[i].after;
        for (int k = 0; k < CRON_VECTOR_COUNT; k++) {
            char buf[64] = "(none)";
            if (cron_next(&c, &z, t, &t)) cron_format_time(&z, t, buf, sizeof buf);
            if (strcmp(buf, cron_vectors[i].next[k]))
                fprintf(stderr, "  '%s' in %s, #%d after %lld:\n", cron_vectors[i].expr,
                        cron_vectors[i].zone, k + 1, cron_vectors[i].after);
            CHECK_STR(buf, cron_vectors[i].next[k]);
        }
        tz_free(&z);
    }
}

static void test_time(void)
{
    int64_t t;
    CHECK_INT(cron_parse_time("2026-03-08T07:30:00Z", &t), 0);
    CHECK_INT(t, 1772955000);
    CHECK_INT(cron_parse_time("2026-03-08T03:30:00-04:00", &t), 0);
    CHECK_INT(t, 1772955000);
    CHECK_INT(cron_parse_time("2026-03-08 13:00+05:30", &t), 0);
    CHECK_INT(t, 1772955000);
    CHECK_INT(cron_parse_time("2026-03-08T02:30:00-0500", &t), 0);
    CHECK_INT(t, 1772955000);
    CHECK_INT(cron_parse_time("1969-12-31T23:59:59Z", &t), 0);
    CHECK_INT(t, -1);
    CHECK_INT(cron_parse_time("2026-03-08T07:30:00", &t), -1); /* no offset */
    CHECK_INT(cron_parse_time("2026-02-29T00:00:00Z", &t), -1);
    CHECK_INT(cron_parse_time("2026-13-01T00:00:00Z", &t), -1);
    CHECK_INT(cron_parse_time("2026-03-08T24:00:00Z", &t), -1);
    CHECK_INT(cron_parse_time("2026-03-08T07:30:00Zjunk", &t), -1);
    CHECK_INT(cron_parse_time("2026-03-08", &t), -1);
    CHECK_INT(cron_parse_time("", &t), -1);

    struct tz z;
    char buf[64];
    tz_utc(&z);
    cron_format_time(&z, -1, buf, sizeof buf);
    CHECK_STR(buf, "1969-12-31T23:59:59+00:00");
    cron_format_time(&z, 951782400, buf, sizeof buf);
    CHECK_STR(buf, "2000-02-29T00:00:00+00:00");
}

static void test_zones(void)
{
    struct tz z;
    CHECK_INT(tz_load("Nowhere/Land", NULL, &z), TZ_UNKNOWN);
    CHECK_INT(tz_load("../../etc/passwd", NULL, &z), TZ_BAD_NAME);
    CHECK_INT(tz_load("/etc/passwd", NULL, &z), TZ_BAD_NAME);
    CHECK_INT(tz_load("", NULL, &z), TZ_BAD_NAME);
    CHECK_INT(tz_load("America", NULL, &z), TZ_UNKNOWN); /* a folder */
    CHECK_INT(tz_load("leapseconds", NULL, &z), TZ_UNKNOWN); /* a table, not a zone */
    CHECK_INT(tz_load("zone.tab", NULL, &z), TZ_BAD_NAME);
    CHECK_INT(tz_load("Europe/Berlin", "/nonexistent", &z), TZ_NO_TZDATA);
    CHECK_INT(tz_load("UTC", "/nonexistent", &z), TZ_OK);
    CHECK_INT(tz_offset(&z, 0), 0);
    CHECK_INT(tz_load(":Asia/Kolkata", NULL, &z), TZ_OK);
    CHECK_INT(tz_offset(&z, 1772955000), 19800);
    tz_free(&z);

    /* Corrupt files: truncated anywhere, or a wrong magic, is refused, never read past. */
    char *buf;
    size_t len;
    FILE *f = fopen("/usr/share/zoneinfo/America/St_Johns", "rb");
    CHECK(f != NULL);
    if (f) {
        buf = malloc(1 << 16);
        len = fread(buf, 1, 1 << 16, f);
        fclose(f);
        CHECK_INT(tz_parse(buf, len, "x", &z), TZ_OK);
        CHECK_INT(tz_offset(&z, 1772955000), -9000); /* NDT, -2:30 */
        tz_free(&z);
        for (size_t cut = 0; cut < len - 1; cut += 7) {
            enum tz_err e = tz_parse(buf, cut, "x", &z);
            CHECK(e == TZ_BAD_FILE || e == TZ_OK); /* a cut inside the footer keeps the table */
            tz_free(&z);
        }
        buf[0] = 'X';
        CHECK_INT(tz_parse(buf, len, "x", &z), TZ_BAD_FILE);
        free(buf);
    }

    /* POSIX rules, as the footer gives them */
    struct tz_rule r;
    CHECK_INT(tz_parse_rule("EST5EDT,M3.2.0,M11.1.0", &r), TZ_OK);
    CHECK(r.dst && r.std_off == -18000 && r.dst_off == -14400 && r.start.month == 3);
    CHECK_INT(tz_parse_rule("<+0530>-5:30", &r), TZ_OK);
    CHECK(!r.dst && r.std_off == 19800);
    CHECK_INT(tz_parse_rule("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", &r), TZ_OK);
    CHECK(r.start.time == -7200 && r.end.time == -3600);
    CHECK_INT(tz_parse_rule("IST-1GMT0,M10.5.0,M3.5.0/1", &r), TZ_OK); /* negative DST */
    CHECK(r.std_off == 3600 && r.dst_off == 0);
    CHECK_INT(tz_parse_rule("XXX3XXX,J60/25,300", &r), TZ_OK);
    CHECK(r.start.kind == 'J' && r.start.time == 90000 && r.end.kind == 'D');
    CHECK_INT(tz_parse_rule("EST", &r), TZ_BAD_RULE);
    CHECK_INT(tz_parse_rule("EST5EDT,M13.1.0,M11.1.0", &r), TZ_BAD_RULE);
    CHECK_INT(tz_parse_rule("EST5EDT,M3.2.0", &r), TZ_BAD_RULE);
    CHECK_INT(tz_parse_rule("EST5EDT,M3.2.0,M11.1.0junk", &r), TZ_BAD_RULE);
}

static void test_civil(void)
{
    /* every day across four centuries round-trips, weekdays cycle */
    for (int64_t d = -800000; d < 800000; d += 37) {
        int64_t y;
        int m, dd;
        tz_civil_from_days(d, &y, &m, &dd);
        CHECK(tz_days_from_civil(y, m, dd) == d);
    }
    CHECK_INT(tz_weekday(0), 4);
    CHECK_INT(tz_weekday(-1), 3);
    CHECK_INT(tz_days_in_month(2100, 2), 28);
    CHECK_INT(tz_days_in_month(2000, 2), 29);
}

int main(void)
{
    FILE *f = fopen("/usr/share/zoneinfo/America/Toronto", "rb");
    if (!f) {
        printf("SKIP: no tzdata in /usr/share/zoneinfo (install the tzdata package)\n");
        return 0;
    }
    fclose(f);
    test_errors();
    test_parse();
    test_vectors();
    test_time();
    test_zones();
    test_civil();
    return t_done("test_cron");
}
