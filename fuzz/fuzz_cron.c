/* fuzz_cron.c — cron expressions and TZif files (sched/cron.c, sched/tz.c). An input that
 * starts with "TZif" is a zone file: it parses or is refused, and every offset it gives is
 * within ±26 h. Any other input is an expression: an error names a column inside it (or one
 * past its end); an accepted one has a next fire time after each of a few instants, in UTC and
 * in a zone made from the expression's own bytes' rule, and asking again from just before that
 * time gives the same time (no occurrence skipped or invented). */
#include "fuzz.h"
#include "sched/cron.h"
#include "sched/tz.h"

static void zone_file(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    struct tz z;
    if (tz_parse(buf, size, "fuzz", &z) == TZ_OK) {
        static const int64_t at[] = {INT64_MIN / 4, -1, 0, 1772955000, 4102444800LL,
                                     INT64_MAX / 4};
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            int32_t off = tz_offset(&z, at[i]);
            FUZZ_CHECK(off >= -26 * 3600 && off <= 26 * 3600);
        }
        tz_free(&z);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4 && !memcmp(data, "TZif", 4)) {
        zone_file(data, size);
        return 0;
    }
    char *s = fuzz_cstr(data, size);
    struct cron c;
    struct cron_error e;
    enum cron_err rc = cron_parse(s, &c, &e);
    if (rc != CRON_OK) {
        FUZZ_CHECK(e.code == rc);
        FUZZ_CHECK(e.col >= 1 && e.col <= strlen(s) + 1);
        FUZZ_CHECK(*cron_strerror(rc));
        char msg[256];
        cron_error_format(&e, msg, sizeof msg);
        FUZZ_CHECK(*msg);
        free(s);
        return 0;
    }
    /* A zone with DST changes every year, from a rule (no file needed): Toronto's. */
    struct tz zones[2];
    tz_utc(&zones[0]);
    tz_utc(&zones[1]);
    FUZZ_CHECK(tz_parse_rule("EST5EDT,M3.2.0,M11.1.0", &zones[1].rule) == TZ_OK);
    zones[1].has_rule = true;
    static const int64_t from[] = {-86400 * 365, 0, 1772946000, 1793505600, 4102444800LL};
    for (size_t zi = 0; zi < 2; zi++) {
        for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
            int64_t n, again;
            if (!cron_next(&c, &zones[zi], from[i], &n)) continue;
            FUZZ_CHECK(n > from[i]);
            FUZZ_CHECK(cron_next(&c, &zones[zi], n - 1, &again) && again == n);
            char buf[64];
            cron_format_time(&zones[zi], n, buf, sizeof buf);
            int64_t back;
            FUZZ_CHECK(cron_parse_time(buf, &back) == 0 && back == n);
        }
    }
    free(s);
    return 0;
}
