/* units.h — durations ("100ms", "10s", "5m", "1h30m") and sizes ("400MiB", "2GB"). Pure. */
#ifndef ROSTER_UNITS_H
#define ROSTER_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Parses a duration made of number+unit pairs (units ms, s, m, h, d; fractions allowed, as in
 * "1.5s"). Returns 0, or -1 with *err pointing at a static explanation. */
int units_parse_duration(const char *s, uint64_t *ms, const char **err);

/* Parses a size: a number with B, K/KB, M/MB, G/GB, T/TB (powers of 1000) or KiB, MiB, GiB, TiB
 * (powers of 1024); a number without a unit is an error, except 0. Returns 0, or -1 with *err
 * set. */
int units_parse_size(const char *s, uint64_t *bytes, const char **err);

/* Formats the shortest exact form: "250ms", "10s", "1m30s", "2h". */
void units_format_duration(uint64_t ms, char *buf, size_t size);
/* Formats "400MiB" when exact in a binary unit, else a plain byte count. */
void units_format_size(uint64_t bytes, char *buf, size_t size);

#endif
