/* test_units.c — durations and sizes: parsing, errors and formatting. */
#include <signal.h>
#include <stdint.h>

#include "base/units.h"
#include "base/util.h"
#include "t.h"

#define MS(s)    dur_ok(s)
#define BYTES(s) size_ok(s)

/* The parsed duration, or UINT64_MAX when parsing failed. */
static uint64_t dur_ok(const char *s)
{
    uint64_t ms = 0;
    const char *err = NULL;
    if (units_parse_duration(s, &ms, &err) != 0) return UINT64_MAX;
    return ms;
}

/* The error text of a duration that must not parse, or NULL when it parsed. */
static const char *dur_err(const char *s)
{
    uint64_t ms = 12345;
    const char *err = NULL;
    if (units_parse_duration(s, &ms, &err) == 0) return NULL;
    return err;
}

static uint64_t size_ok(const char *s)
{
    uint64_t b = 0;
    const char *err = NULL;
    if (units_parse_size(s, &b, &err) != 0) return UINT64_MAX;
    return b;
}

static const char *size_err(const char *s)
{
    uint64_t b = 0;
    const char *err = NULL;
    if (units_parse_size(s, &b, &err) == 0) return NULL;
    return err;
}

static void test_durations(void)
{
    CHECK_INT(MS("100ms"), 100);
    CHECK_INT(MS("10s"), 10000);
    CHECK_INT(MS("5m"), 300000);
    CHECK_INT(MS("1h"), 3600000);
    CHECK_INT(MS("1h30m"), 5400000);
    CHECK_INT(MS("1m30s"), 90000);
    CHECK_INT(MS("1.5s"), 1500);
    CHECK_INT(MS("0.25s"), 250);
    CHECK_INT(MS("2d"), 172800000);
    CHECK_INT(MS("0s"), 0);
    CHECK_INT(MS("1s500ms"), 1500);
    CHECK_INT(MS("1m5ms"), 60005); /* "5ms" after "1m" is milliseconds, not minutes + s */
    CHECK_INT(MS("1.5h"), 5400000);
}

static void test_duration_errors(void)
{
    CHECK_STR(dur_err("10"), "duration needs a unit (ms, s, m, h), e.g. 10s");
    CHECK_STR(dur_err(""), "empty duration (expected e.g. 500ms, 10s, 5m)");
    CHECK_STR(dur_err("5x"), "unknown duration unit (use ms, s, m, h or d)");
    CHECK_STR(dur_err("abc"), "invalid duration (expected e.g. 500ms, 10s, 5m, 1h30m)");
    CHECK_STR(dur_err("1m30"), "duration part needs a unit (ms, s, m, h)");
    CHECK_STR(dur_err("-5s"), "invalid duration (expected e.g. 500ms, 10s, 5m, 1h30m)");
    CHECK_STR(dur_err("1.2.3s"), "invalid number in duration");
    CHECK_STR(dur_err(" 5s"), "invalid duration (expected e.g. 500ms, 10s, 5m, 1h30m)");
    CHECK_STR(dur_err("5 s"), "unknown duration unit (use ms, s, m, h or d)");
    CHECK_STR(dur_err("10S"), "unknown duration unit (use ms, s, m, h or d)");
    CHECK(dur_err("99999999999999999s") != NULL); /* too long */
}

static void test_sizes(void)
{
    CHECK_INT(BYTES("400MiB"), 400ull * 1024 * 1024);
    CHECK_INT(BYTES("1GiB"), 1073741824ull);
    CHECK_INT(BYTES("512MB"), 512000000ull);
    CHECK_INT(BYTES("100B"), 100);
    CHECK_INT(BYTES("0"), 0); /* 0 is 0 in every unit: max_memory: 0 is no limit */
    CHECK_INT(BYTES("0B"), 0);
    CHECK_INT(BYTES("2K"), 2000);
    CHECK_INT(BYTES("2KB"), 2000);
    CHECK_INT(BYTES("3KiB"), 3072);
    CHECK_INT(BYTES("1T"), 1000000000000ull);
    CHECK_INT(BYTES("1TiB"), 1099511627776ull);
    CHECK_INT(BYTES("1.5GiB"), 1610612736ull);
    CHECK_INT(BYTES("0.5KiB"), 512);
    CHECK_INT(BYTES("64 MiB"), 64ull << 20); /* a space before the unit is accepted */
    /* Found by fuzz_units: sizes from 2^63 up to the 1.8e19 limit came out as 2^63 (llround
     * overflows a long long there). */
    CHECK(BYTES("10000000TB") == 10000000000000000000ull);
    CHECK(BYTES("16000000TiB") == 16000000ull << 40);
}

static void test_size_errors(void)
{
    CHECK_STR(size_err(""), "invalid size (expected e.g. 400MiB, 1GiB, 512MB)");
    CHECK_STR(size_err("MiB"), "invalid size (expected e.g. 400MiB, 1GiB, 512MB)");
    CHECK_STR(size_err("-1MiB"), "invalid size (expected e.g. 400MiB, 1GiB, 512MB)");
    /* a number without a unit (issue 10 item 13: max_memory: 10 was 10 bytes, a restart loop) */
    CHECK_STR(size_err("10"), "size needs a unit (B, KB, MB, GB, KiB, MiB or GiB), e.g. 10MB");
    CHECK_STR(size_err("1.5 "), "size needs a unit (B, KB, MB, GB, KiB, MiB or GiB), e.g. 10MB");
    CHECK_STR(size_err("10XB"), "unknown size unit (use B, KB, MB, GB, KiB, MiB or GiB)");
    CHECK_STR(size_err("10mib"), "unknown size unit (use B, KB, MB, GB, KiB, MiB or GiB)");
    CHECK_STR(size_err("1.2.3MB"), "invalid number in size");
    CHECK_STR(size_err("99999999999TiB"), "size is too large");
}

static const char *fmt_dur(uint64_t ms)
{
    static char buf[64];
    units_format_duration(ms, buf, sizeof buf);
    return buf;
}

static const char *fmt_size(uint64_t b)
{
    static char buf[64];
    units_format_size(b, buf, sizeof buf);
    return buf;
}

static void test_format(void)
{
    CHECK_STR(fmt_dur(0), "0s");
    CHECK_STR(fmt_dur(250), "250ms");
    CHECK_STR(fmt_dur(1000), "1s");
    CHECK_STR(fmt_dur(1500), "1.5s");
    CHECK_STR(fmt_dur(10000), "10s");
    CHECK_STR(fmt_dur(90000), "1m30s");
    CHECK_STR(fmt_dur(300000), "5m");
    CHECK_STR(fmt_dur(3600000), "1h");
    CHECK_STR(fmt_dur(5400000), "1h30m");
    CHECK_STR(fmt_dur(7201000), "2h1s");
    CHECK_STR(fmt_dur(172800000), "48h");
    /* fractions stay exact: no "%g" rounding, no exponents */
    CHECK_STR(fmt_dur(61500), "1m1.5s");
    CHECK_STR(fmt_dur(100500), "1m40.5s");
    CHECK_STR(fmt_dur(1234567), "20m34.567s");
    CHECK_STR(fmt_dur(5400001), "1h30m1ms");
    CHECK_STR(fmt_dur(1050), "1.05s");

    CHECK_STR(fmt_size(0), "0B");
    CHECK_STR(fmt_size(100), "100B");
    CHECK_STR(fmt_size(1024), "1KiB");
    CHECK_STR(fmt_size(400ull << 20), "400MiB");
    CHECK_STR(fmt_size(1ull << 30), "1GiB");
    CHECK_STR(fmt_size(3ull << 40), "3TiB");
    CHECK_STR(fmt_size(1536ull << 20), "1536MiB");
    CHECK_STR(fmt_size(512000000), "500000KiB");
    CHECK_STR(fmt_size(1000), "1000B");
}

/* Every formatted value parses back to itself. */
static void test_round_trips(void)
{
    static const uint64_t durs[] = {0,       1,       250,      999,     1000,    1500,
                                    10000,   61500,   90000,    100500,  1234567, 3600000,
                                    5400000, 5400001, 86400000, 90061001};
    for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++) {
        char buf[64];
        units_format_duration(durs[i], buf, sizeof buf);
        uint64_t back = UINT64_MAX;
        const char *err = NULL;
        int rc = units_parse_duration(buf, &back, &err);
        CHECK_INT(rc, 0);
        CHECK_INT(back, durs[i]);
        if (back != durs[i])
            fprintf(stderr, "  duration %llu formatted as \"%s\"\n", (unsigned long long)durs[i],
                    buf);
    }
    static const uint64_t sizes[] = {
        0, 1, 1023, 1024, 4096, 400ull << 20, 1ull << 30, (1ull << 30) + 1, 5ull << 40, 512000000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char buf[64];
        units_format_size(sizes[i], buf, sizeof buf);
        CHECK_INT(size_ok(buf), sizes[i]);
    }
    static const char *const texts[] = {"100ms", "10s", "5m", "1h30m", "1.5s", "2h1s"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        CHECK_STR(fmt_dur(dur_ok(texts[i])), texts[i]);
}

/* Signal names, as events and messages say them (real-time signals relative to SIGRTMIN). */
static void test_signal_names(void)
{
    CHECK_STR(signal_name(SIGTERM), "SIGTERM");
    CHECK_STR(signal_name(SIGSTKFLT), "SIGSTKFLT");
    CHECK_STR(signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
    CHECK_STR(signal_name(SIGRTMIN), "SIGRTMIN+0");
    CHECK_INT(signal_from_name("usr1"), SIGUSR1);
}

/* ISO-8601 instants in UTC: from milliseconds, and from seconds (the same text). */
static void test_iso8601(void)
{
    char buf[40];
    format_iso8601_ms(buf, sizeof buf, 1796551200012LL); /* 2026-12-06T10:00:00.012Z */
    CHECK_STR(buf, "2026-12-06T10:00:00.012Z");
    format_iso8601_ms(buf, sizeof buf, 951782400999LL); /* a leap day */
    CHECK_STR(buf, "2000-02-29T00:00:00.999Z");
    format_iso8601(buf, sizeof buf, 1796551200.5);
    CHECK_STR(buf, "2026-12-06T10:00:00.500Z");
    int64_t a = wall_ms();
    CHECK(a > 1700000000000LL && wall_ms() >= a);
}

int main(void)
{
    test_iso8601();
    test_signal_names();
    test_durations();
    test_duration_errors();
    test_sizes();
    test_size_errors();
    test_format();
    test_round_trips();
    return t_done("units");
}
