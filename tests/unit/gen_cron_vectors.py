#!/usr/bin/env python3
"""gen_cron_vectors.py — writes cron_vectors.h, the expected fire times test_cron.c checks
roster's cron against. Computed here independently of roster's C code: with Python's zoneinfo
(the same system tzdata) and a separate reading of the rules (README, "Schedules and time
zones"):

- a wildcard job (minute or hour field starts with '*') fires at every instant whose local time
  matches: found by walking UTC minutes one by one and reading each in the zone;
- a fixed-time job fires at each matching local wall time converted with fold=0, which is PEP
  495's reading: the first pass of a repeated time, and for a time in a skipped interval the
  offset in force before the change (RFC 5545 §3.3.5);
- @every N fires at the multiples of N seconds since the epoch.

Run it from anywhere: python3 tests/unit/gen_cron_vectors.py > tests/unit/cron_vectors.h
"""
import calendar
import datetime as dt
import sys
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DOWS = "sun mon tue wed thu fri sat".split()
SPANS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@hourly": "0 * * * *"}


def value(i, s):
    if s.isdigit():
        return int(s)
    names = MONTHS if i == 3 else DOWS
    return names.index(s.lower()) + (1 if i == 3 else 0)


def field(i, text):
    lo, hi = SPANS[i]
    out = set()
    for item in text.split(","):
        rng, _, step = item.partition("/")
        step = int(step) if step else 1
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            a, b = (value(i, x) for x in rng.split("-"))
        else:
            a = value(i, rng)
            b = hi if step != 1 or "/" in item else a
        out.update(range(a, b + 1, step))
    if i == 4:
        out = {d % 7 for d in out}
    return out


class Cron:
    def __init__(self, expr):
        expr = MACROS.get(expr.lower(), expr)
        self.every = None
        if expr.startswith("@every "):
            d = expr.split()[1]
            mult = {"s": 1, "m": 60, "h": 3600}[d[-1]]
            self.every = int(d[:-1]) * mult
            return
        f = expr.split()
        self.wild = f[0].startswith("*") or f[1].startswith("*")
        self.last = f[2] == "L"
        self.minute, self.hour = field(0, f[0]), field(1, f[1])
        self.dom = set() if self.last else field(2, f[2])
        self.month, self.dow = field(3, f[3]), field(4, f[4])
        self.either = not f[2].startswith("*") and not f[4].startswith("*")

    def day(self, d):
        if d.month not in self.month:
            return False
        last = calendar.monthrange(d.year, d.month)[1]
        dom = d.day == last if self.last else d.day in self.dom
        dow = (d.isoweekday() % 7) in self.dow
        return (dom or dow) if self.either else (dom and dow)

    def matches(self, local):
        return self.day(local.date()) and local.hour in self.hour and local.minute in self.minute

    def next_wild(self, t, zone):
        u = (t // 60 + 1) * 60
        for _ in range(60 * 24 * 800):
            if self.matches(dt.datetime.fromtimestamp(u, zone)):
                return u
            u += 60
        raise SystemExit("no wildcard occurrence found")

    def next_fixed(self, t, zone):
        d = dt.datetime.fromtimestamp(t, zone).date() - dt.timedelta(days=2)
        best = None
        for _ in range(366 * 30):
            if best is not None and dt.datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() \
                    - 30 * 3600 > best:
                break
            if self.day(d):
                for h in sorted(self.hour):
                    for m in sorted(self.minute):
                        u = int(dt.datetime(d.year, d.month, d.day, h, m, fold=0,
                                            tzinfo=zone).timestamp())
                        if u > t and (best is None or u < best):
                            best = u
            d += dt.timedelta(days=1)
        return best

    def next(self, t, zone):
        if self.every:
            return (t // self.every + 1) * self.every
        return self.next_wild(t, zone) if self.wild else self.next_fixed(t, zone)


def iso(u, zone):
    return dt.datetime.fromtimestamp(u, zone).isoformat()


def ts(s):
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


COUNT = 4
VECTORS = [
    # America/Toronto: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST
    ("30 2 * * *", "America/Toronto", "2026-03-07T12:00:00Z"),
    ("30 1 * * *", "America/Toronto", "2026-10-31T12:00:00Z"),
    ("*/30 1 * * *", "America/Toronto", "2026-11-01T04:00:00Z"),
    ("*/30 2 * * *", "America/Toronto", "2026-03-08T05:00:00Z"),
    ("0 * * * *", "America/Toronto", "2026-03-08T05:30:00Z"),
    ("@hourly", "America/Toronto", "2026-11-01T04:30:00Z"),
    ("* * * * *", "America/Toronto", "2026-11-01T05:58:00Z"),
    ("* * * * *", "America/Toronto", "2026-03-08T06:58:00Z"),
    ("15 2 8 3 *", "America/Toronto", "2026-01-01T00:00:00Z"),
    ("0,30 1,2 * * *", "America/Toronto", "2026-11-01T04:00:00Z"),
    ("0 0 1,15 * MON", "America/Toronto", "2026-06-01T00:00:00Z"),
    ("30 2 * * *", "America/Toronto", "2040-03-10T12:00:00Z"),  # past a fat file's 2037 table
    ("30 1 * * *", "America/Toronto", "2040-11-03T12:00:00Z"),
    # Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET
    ("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"),
    ("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z"),
    ("*/20 2 * * *", "Europe/Berlin", "2026-10-24T23:00:00Z"),
    ("0 3 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z"),
    ("0 2 * * SUN", "Europe/Berlin", "2026-03-20T00:00:00Z"),
    # Australia/Sydney: 2026-04-05 03:00 AEDT -> 02:00 AEST; 2026-10-04 02:00 AEST -> 03:00
    ("30 2 * * *", "Australia/Sydney", "2026-04-04T00:00:00Z"),
    ("*/15 2 * * *", "Australia/Sydney", "2026-04-04T15:00:00Z"),
    ("30 2 * * *", "Australia/Sydney", "2026-10-03T00:00:00Z"),
    ("*/15 2 * * *", "Australia/Sydney", "2026-10-03T14:00:00Z"),
    ("0 0 29 2 *", "Australia/Sydney", "2026-01-01T00:00:00Z"),
    # Australia/Lord_Howe: a half-hour change, 2026-04-05 02:00 -> 01:30
    ("*/15 1 * * *", "Australia/Lord_Howe", "2026-04-04T13:00:00Z"),
    ("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00Z"),
    # America/St_Johns (-3:30 / -2:30): 2026-03-08 02:00 -> 03:00; 2026-11-01 02:00 -> 01:00
    ("30 2 * * *", "America/St_Johns", "2026-03-07T12:00:00Z"),
    ("45 1 * * *", "America/St_Johns", "2026-10-31T12:00:00Z"),
    ("*/30 * * * *", "America/St_Johns", "2026-11-01T03:00:00Z"),
    ("0 0 L * *", "America/St_Johns", "2026-01-15T00:00:00Z"),
    # Asia/Kolkata (+5:30, no DST)
    ("30 5 * * 1-5", "Asia/Kolkata", "2026-12-04T00:00:00Z"),
    ("0 9-17/2 * * MON-FRI", "Asia/Kolkata", "2026-12-04T10:00:00Z"),
    ("59 23 31 12 *", "Asia/Kolkata", "2026-12-31T18:29:00Z"),
    # UTC: leap days, L, day-field OR and AND, names, steps, year ends
    ("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z"),
    ("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z"),  # 2100 is no leap year
    ("0 0 L * *", "UTC", "2027-12-31T00:00:00Z"),
    ("0 12 L 2 *", "UTC", "2027-03-01T00:00:00Z"),
    ("0 12 13 * FRI", "UTC", "2026-02-01T00:00:00Z"),
    ("0 0 */10 * MON", "UTC", "2026-06-01T00:00:00Z"),
    ("0 0 1 * *", "UTC", "2026-12-31T23:59:59Z"),
    ("59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z"),
    ("0 0 * JAN,jul sun", "UTC", "2026-06-30T00:00:00Z"),
    ("1-59/7 * * * *", "UTC", "2026-05-05T05:55:00Z"),
    ("0 9-17/2 * * *", "UTC", "2026-05-05T12:00:00Z"),
    ("0 0 * * 7", "UTC", "2026-05-05T00:00:00Z"),
    ("0 0 * * 5-7", "UTC", "2026-05-05T00:00:00Z"),
    ("5/20 0 1 1 *", "UTC", "2026-05-05T00:00:00Z"),
    ("@yearly", "Europe/Berlin", "2026-12-31T22:59:59Z"),
    ("@weekly", "UTC", "2026-05-05T00:00:00Z"),
    ("@monthly", "America/Toronto", "2026-12-15T00:00:00Z"),
    ("@every 90s", "UTC", "2026-05-05T00:00:01Z"),
    ("@every 7s", "UTC", "1969-12-31T23:59:58Z"),
    ("@every 1h", "America/St_Johns", "2026-11-01T04:10:00Z"),
]


def main():
    out = sys.stdout
    out.write("/* cron_vectors.h — generated by gen_cron_vectors.py (zoneinfo, independent of roster's\n"
              " * code); do not edit. Each: expression, zone, after (epoch s), the next fire times. */\n")
    out.write("#define CRON_VECTOR_COUNT %d\n" % COUNT)
    out.write("static const struct {\n    const char *expr, *zone;\n    long long after;\n"
              "    const char *next[CRON_VECTOR_COUNT];\n} cron_vectors[] = {\n")
    for expr, zname, start in VECTORS:
        zone = ZoneInfo(zname)
        c = Cron(expr)
        t = ts(start)
        nxt = []
        u = t
        for _ in range(COUNT):
            u = c.next(u, zone)
            nxt.append(iso(u, zone))
        out.write('    {"%s", "%s", %dLL /* %s */,\n     {%s}},\n'
                  % (expr, zname, t, start, ", ".join('"%s"' % s for s in nxt)))
    out.write("};\n")


if __name__ == "__main__":
    main()
