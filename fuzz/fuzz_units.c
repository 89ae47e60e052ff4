/* fuzz_units.c — durations and sizes (base/units.c). Properties: a value that parses formats to
 * text that parses back to the same value, and a size is the number written times its unit (to
 * a double's precision: never wrapped or clamped). */
#include <math.h>

#include "base/units.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    const char *err = NULL;
    char buf[64];
    uint64_t ms, ms2;
    if (units_parse_duration(s, &ms, &err) == 0) {
        units_format_duration(ms, buf, sizeof buf);
        FUZZ_CHECK(units_parse_duration(buf, &ms2, &err) == 0);
        FUZZ_CHECK(ms2 == ms);
    } else {
        FUZZ_CHECK(err && *err);
    }
    uint64_t bytes, bytes2;
    err = NULL;
    if (units_parse_size(s, &bytes, &err) == 0) {
        units_format_size(bytes, buf, sizeof buf);
        FUZZ_CHECK(units_parse_size(buf, &bytes2, &err) == 0);
        FUZZ_CHECK(bytes2 == bytes);
        /* The number as written, scaled by hand: the parser's value must be that, rounded. */
        char *unit;
        double v = strtod(s, &unit);
        double mult = 1;
        const char *u = unit;
        while (*u == ' ')
            u++;
        if (*u == 'K') mult = u[1] == 'i' ? 1024.0 : 1e3;
        if (*u == 'M') mult = u[1] == 'i' ? 1048576.0 : 1e6;
        if (*u == 'G') mult = u[1] == 'i' ? 1073741824.0 : 1e9;
        if (*u == 'T') mult = u[1] == 'i' ? 1099511627776.0 : 1e12;
        double want = v * mult;
        FUZZ_CHECK(fabs((double)bytes - want) <= 1.0 + want * 1e-12);
    } else {
        FUZZ_CHECK(err && *err);
    }
    free(s);
    return 0;
}
