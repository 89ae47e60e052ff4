"""The scheduler's fleet side at its edges (a review of issue 12's schedfleet.c), against a real
redis-server: what another replica or a person may have left in the keys it reads — a last
fired epoch ahead of the clock (a replica whose clock is ahead wrote it) or past any time, and
garbage — is no missed run: nothing is caught up, nothing overflows."""
import os
import time

from harness import check, tmpdir, wait_for
from services import Redis
from test_scheduler_fleet import appender, epochs, fleet_roster, lines_of


def test_catch_up_last_ahead_or_garbage():
    rd = Redis()
    d = tmpdir()
    hour = int(time.time()) // 3600 * 3600
    stored = {
        "ok": str(hour - 3600),        # the sentinel: an hour missed, caught up
        "ahead": str(hour + 86400),    # a replica's clock a day ahead
        "max": "9223372036854775807",  # the largest epoch strtoll reads: last + 1 overflowed
        "over": "99999999999999999999",
        "junk": "soon",
    }
    sched = ""
    for name, value in stored.items():
        rd.cli("SET", "roster:cg:sched:%s:last" % name, value)
        sched += appender(os.path.join(d, name), "@every 1h", name, "catch_up: last, ")
    r = fleet_roster(rd, sched, app="cg")
    with r:
        wait_for(lambda: epochs(os.path.join(d, "ok")) or None, 30, "ok's catch-up run\n" + r.tail())
        r.wait_line(r"^scheduler \| junk: catch_up: \S+ holds 'soon', no epoch; nothing is "
                    r"caught up$", timeout=10)
        r.wait_line(r"^scheduler \| ok: finished ok", timeout=10)
        check(r.stop() == 0, r.tail())
    for name in ("ahead", "max", "over", "junk"):
        check(epochs(os.path.join(d, name)) == [], (name, r.tail()))
        check(not lines_of([r], r"^scheduler \| %s: (the run of|catching up|started)" % name),
              "%s: something was caught up or claimed:\n%s" % (name, r.tail()))
    # the keys are left as they were (nothing claimed for them)
    for name in ("ahead", "max", "over", "junk"):
        check(rd.cli("GET", "roster:cg:sched:%s:last" % name) == stored[name], name)
    rd.cleanup()


if __name__ == "__main__":
    from harness import run
    run(globals())
