"""roster cron against gen_cron_vectors.py's independent reading of the rules (Python's zoneinfo),
on random expressions started just before DST changes in six zones: each expression's next six
fire times must be the same (issue 12)."""
import os
import random
import sys

from harness import check, run, run_roster

sys.path.insert(0, os.path.join(os.environ.get("ROSTER_SRC", "."), "tests", "unit"))
import gen_cron_vectors as ref  # noqa: E402

ZONES = ["America/Toronto", "Australia/Sydney", "America/St_Johns", "Europe/Berlin",
         "Australia/Lord_Howe", "Asia/Kolkata"]
STARTS = ["2026-03-08T04:00:00Z", "2026-11-01T03:00:00Z", "2026-04-04T14:00:00Z",
          "2026-10-03T14:00:00Z", "2026-03-29T00:00:00Z", "2026-10-25T00:00:00Z"]


def field(rnd, lo, hi):
    r = rnd.random()
    if r < 0.3:
        return "*"
    if r < 0.45:
        return "*/%d" % rnd.randint(2, hi // 2 + 1)
    if r < 0.65:
        return str(rnd.randint(lo, hi))
    if r < 0.8:
        a = rnd.randint(lo, hi)
        return "%d-%d" % (a, rnd.randint(a, hi))
    return ",".join(str(x) for x in sorted(rnd.sample(range(lo, hi + 1), 3)))


def test_random_expressions_match_the_reference():
    if not os.path.exists("/usr/share/zoneinfo/America/Toronto"):
        print("SKIP: no tzdata")
        return
    rnd = random.Random(12)
    compared = 0
    for _ in range(150):
        expr = " ".join([field(rnd, 0, 59), field(rnd, 0, 23),
                         rnd.choice(["*", "*", field(rnd, 1, 28), "L"]),
                         rnd.choice(["*", "*", field(rnd, 1, 12)]),
                         rnd.choice(["*", "*", field(rnd, 0, 6)])])
        zname, start = rnd.choice(ZONES), rnd.choice(STARTS)
        code, out, err = run_roster(["cron", expr, "--tz", zname, "--from", start, "--count", "6"])
        check(code == 0, (expr, err))
        c, zone, t = ref.Cron(expr), ref.ZoneInfo(zname), ref.ts(start)
        want = []
        for _ in range(6):
            t = c.next(t, zone)
            want.append(ref.iso(t, zone))
        check(out.split() == want, (expr, zname, start, out.split(), want))
        compared += 1
    check(compared == 150, compared)  # the sentinel: every case was compared


if __name__ == "__main__":
    run(globals())
