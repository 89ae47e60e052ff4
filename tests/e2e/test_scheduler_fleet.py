"""The scheduler across replicas (issue 12), against a real redis-server: each occurrence is
claimed with SET NX (three rosters on one Redis run every occurrence exactly once in total),
Redis unreachable at fire time (redis_down: skip / run; connection refused and a command timing
out), locking resumed after Redis comes back, catch_up: last and none, manual triggers popped by
one replica, the runs list the jobs API reads, and roster check's notes without Redis. Through
the scheduler this also tests redisconn_command: replies, an error reply, a timeout and a lost
connection each reach the callback once."""
import datetime as dt
import json
import os
import re
import signal
import subprocess
import time

from harness import SANITIZER, Roster, check, run_roster, tmpdir, wait_for
from services import Redis


class FleetRoster(Roster):
    """A roster whose role's sanitizer reports (the scheduler is a process of its own, its stderr
    framed into roster's output) fail the test too."""

    def cleanup(self):
        super().cleanup()
        bad = [l for l in self.output() if SANITIZER.search(l)]
        check(not bad, "sanitizer report from the scheduler role:\n" + "\n".join(bad[:40]))


def fleet_roster(rd, schedules, app="fleet", extra=""):
    """A roster with Redis and one scheduler role (schedules: YAML lines indented 6)."""
    return FleetRoster("app: %s\nredis: {url: \"%s\"}\nroles:\n  scheduler:\n    builtin: scheduler\n"
                  "%s    schedules:\n%s" % (app, rd.url, extra, schedules), json_logs=False)


def appender(path, cron, name, more=""):
    """A schedule whose command appends its ROSTER_SCHEDULED_AT to path."""
    return ("      %s: {cron: \"%s\", %scommand: \"sh -c 'echo $${ROSTER_SCHEDULED_AT} >> %s'\"}\n"
            % (name, cron, more, path))


def epochs(path):
    try:
        with open(path) as f:
            return [int(dt.datetime.fromisoformat(l.strip()).timestamp())
                    for l in f if l.endswith("\n")]
    except FileNotFoundError:
        return []


def lines_of(rosters, pattern):
    rx = re.compile(pattern)
    return [l for r in rosters for l in r.output() if rx.search(l)]


def test_three_replicas_once_each_and_manual_trigger():
    rd = Redis()
    d = tmpdir()
    fires, manual = os.path.join(d, "fires"), os.path.join(d, "manual")
    sched = appender(fires, "@every 1s", "tick") + appender(manual, "0 0 1 1 *", "manual")
    rs = [fleet_roster(rd, sched) for _ in range(3)]
    try:
        for r in rs:
            r.wait_line(r"^scheduler \| redis: connected$", timeout=30)
        t0 = time.time()
        # ten seconds of occurrences, all three running
        wait_for(lambda: len([e for e in epochs(fires) if e > t0]) >= 10, 60,
                 "10 occurrences after all three connected")
        taken = lines_of(rs, r"^scheduler \| tick: the run of \S+ was taken by another replica "
                             r"\(\S+:\d+; \d+ taken elsewhere\)$")
        check(len(taken) >= 10, "losers logged: %d\n%s" % (len(taken), rs[0].tail()))
        # manual trigger: one replica pops it, the schedule runs once in the fleet
        rd.cli("RPUSH", "roster:fleet:sched:trigger:manual",
               json.dumps({"requested_at": "2026-01-02T03:04:05.678Z", "by": "tester"}))
        got = wait_for(lambda: epochs(manual) or None, 15, "the manual run")
        req = lines_of(rs, r"^scheduler \| manual: manual run requested by tester at "
                           r"2026-01-02T03:04:05\+00:00$")
        wait_for(lambda: int(rd.cli("LLEN", "roster:fleet:sched:manual:runs") or 0) == 1, 15,
                 "the manual run recorded")
        check(got == [1767323045] and len(req) == 1, (got, req))
        for r in rs:
            check(r.stop() == 0, r.tail())
    finally:
        for r in rs:
            r.cleanup()
    seen = epochs(fires)
    check(len(seen) == len(set(seen)), "an occurrence ran twice: %s" % sorted(seen))
    s = sorted(seen)
    # every occurrence between the first and the last ran (the three keep each other's gaps)
    missing = sorted(set(range(s[0], s[-1] + 1)) - set(s))
    check(not missing, "occurrences that ran nowhere: %s" % missing)
    check(len(epochs(manual)) == 1, epochs(manual))
    # the runs list: newest first, JSON as the jobs API reads it, capped at 50
    runs = [json.loads(x) for x in
            rd.cli("LRANGE", "roster:fleet:sched:tick:runs", "0", "-1").splitlines()]
    check(0 < len(runs) <= 50, len(runs))
    last = runs[0]
    check(set(last) == {"scheduled_at", "started", "finished", "outcome", "exit_code",
                        "http_status", "duration_ms", "host"}, last)
    check(last["outcome"] == "ok" and last["exit_code"] == 0 and last["http_status"] is None,
          last)
    check(re.match(r"^\S+:\d+$", last["host"]) and isinstance(last["duration_ms"], int), last)
    started = dt.datetime.fromisoformat(last["started"])
    finished = dt.datetime.fromisoformat(last["finished"])
    at = dt.datetime.fromisoformat(last["scheduled_at"])
    check(at <= started <= finished, last)
    check(int(at.timestamp()) in seen, last)
    check(int(rd.cli("GET", "roster:fleet:sched:tick:last")) == s[-1],
          "last: %s, ran: %d" % (rd.cli("GET", "roster:fleet:sched:tick:last"), s[-1]))
    # each claim key lives at least 60 s (2 × the period, at least a minute)
    ttl = int(rd.cli("PTTL", "roster:fleet:sched:tick:%d" % s[-1]))
    check(50000 < ttl <= 60000, ttl)
    rd.cleanup()


def ticking(app, extra=""):
    """A Redis, and a roster whose schedule tick (@every 1s) appends to a file, once it ran."""
    rd = Redis()
    fires = os.path.join(tmpdir(), "fires")
    r = fleet_roster(rd, appender(fires, "@every 1s", "tick"), app=app, extra=extra)
    try:
        r.wait_line(r"^scheduler \| tick: finished ok", timeout=30)
    except Exception:
        r.cleanup()
        raise
    return rd, fires, r


def test_redis_down_skip_then_back():
    rd, fires, r = ticking("down")
    with r:
        # an error reply: a trigger key of the wrong type fails the poll, logged once
        rd.cli("SET", "roster:down:sched:trigger:tick", "not a list")
        r.wait_line(r"^scheduler \| redis: the trigger poll failed: .*WRONGTYPE", timeout=15)
        n_before = len(r.output())
        r.wait_line(r"^scheduler \| tick: finished ok", timeout=15)
        wait_for(lambda: len([l for l in r.output()[n_before:] if "finished ok" in l]) >= 2,
                 15, "two more runs while the poll fails")
        check(len(lines_of([r], r"trigger poll failed")) == 1, r.tail())
        rd.cli("DEL", "roster:down:sched:trigger:tick")
        # a trigger that is no JSON is said and dropped, a newline in it shown as '?'
        rd.cli("RPUSH", "roster:down:sched:trigger:tick", "run\nit")
        r.wait_line(r"^scheduler \| tick: ignored a trigger that is no JSON object .*: run\?it$",
                    timeout=15)
        # connection lost: the occurrences are skipped, logged and counted, and run nowhere
        rd.stop()
        t_down = time.time()
        r.wait_line(r"^scheduler \| tick: skipped the run of \S+: Redis is unreachable \(.*\) "
                    r"and redis_down: skip \(2 skipped for Redis\)$", timeout=20)
        check(not [e for e in epochs(fires) if e > t_down + 1], "ran while Redis was down")
        # back: locking resumes (the claim keys appear again)
        rd.start()
        t_up = time.time()
        r.wait_line(r"^scheduler \| redis: connected$", timeout=20)
        after = wait_for(lambda: [e for e in epochs(fires) if e > t_up] or None, 20,
                         "a run after Redis came back")
        check(rd.cli("EXISTS", "roster:down:sched:tick:%d" % after[0]) == "1",
              "no claim key for %d" % after[0])
        # a command timing out (Redis stopped, not gone) is Redis down too, within 2 s
        os.kill(rd.proc.pid, signal.SIGSTOP)
        try:
            r.wait_line(r"^scheduler \| tick: skipped the run of \S+: Redis is unreachable "
                        r"\(command timed out\)", timeout=20)
        finally:
            os.kill(rd.proc.pid, signal.SIGCONT)
        n = len(lines_of([r], r"^scheduler \| redis: connected$"))
        wait_for(lambda: len(lines_of([r], r"^scheduler \| redis: connected$")) > n, 20,
                 "connected again after the stall")
        check(r.stop() == 0, r.tail())
    seen = epochs(fires)
    check(len(seen) == len(set(seen)), seen)
    rd.cleanup()


def tcp_table():
    """/proc/net/tcp as (local port, remote port, state, rx_queue, inode) tuples."""
    rows = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            rows.append((int(x[1].split(":")[1], 16), int(x[2].split(":")[1], 16), x[3],
                         int(x[4].split(":")[1], 16), x[9]))
    return rows


def socket_inodes(pid):
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def queued_bytes(port, pid):
    """Bytes that process pid sent to the server on 127.0.0.1:port and the server has not read
    yet (the server side's rx_queue): a command waiting in a busy Redis. Roster's own Redis
    connection is another process's, so its PINGs do not count."""
    inodes = socket_inodes(pid)
    rows = tcp_table()
    mine = {lp for lp, rp, st, q, ino in rows if rp == port and ino in inodes}
    return sum(q for lp, rp, st, q, ino in rows if lp == port and rp in mine and st == "01")


def test_connection_lost_in_flight():
    # Redis busy (a script that loops: for 5 s, lua-time-limit, Redis reads nothing else) holds
    # the scheduler's next command unanswered; killed then, the command's callback gets the lost
    # connection (not a timeout), once
    rd, fires, r = ticking("lost")
    with r:
        pid = int(r.wait_line(r"^roster +\| scheduler started \(pid (\d+)\)$").group(1))
        sleeper = subprocess.Popen(["redis-cli", "-p", str(rd.port), "EVAL",
                                    "while true do end", "0"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: queued_bytes(rd.port, pid) > 0, 4,
                     "a command of the scheduler's waiting in Redis")
            os.kill(rd.proc.pid, signal.SIGKILL)
            rd.proc.wait(timeout=10)
            rd.proc = None
        finally:
            sleeper.wait(timeout=20)
        m = r.wait_line(r"^scheduler \| (tick: skipped the run of \S+: Redis is unreachable "
                        r"\((.*)\) and redis_down: skip|redis: the trigger poll failed: (.*))$",
                        timeout=10)
        why = m.group(2) or m.group(3)
        # unread bytes make the kernel reset the connection, else it is closed
        check(why in ("Connection reset by peer", "Server closed the connection"), m.group(0))
        check(r.stop() == 0, r.tail())
    rd.cleanup()


def test_enqueue_on_the_one_connection():
    # redis: {} takes REDIS_HOST and REDIS_PORT (the enqueue action's own connection read the
    # unresolved url and crashed the role); the claims, the poll and the job store share one
    # connection of the scheduler process
    rd = Redis()
    r = FleetRoster("app: one\nredis: {}\nroles:\n  scheduler:\n    builtin: scheduler\n"
                    "    schedules:\n      d: {cron: \"@every 1s\", enqueue: {queue: q, type: t}}\n",
                    env={"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(rd.port)},
                    unset=("REDIS_URL",), json_logs=False)
    with r:
        pid = int(r.wait_line(r"^roster +\| scheduler started \(pid (\d+)\)$", 30).group(1))
        r.wait_line(r"^scheduler \| d: finished ok: enqueued job \d+ on q in ", timeout=30)
        conns = [1 for lp, rp, st, q, ino in tcp_table()
                 if rp == rd.port and st == "01" and ino in socket_inodes(pid)]
        check(len(conns) == 1, "the scheduler has %d connections to Redis" % len(conns))
        check(int(rd.cli("LLEN", "roster:one:sched:d:runs")) >= 1, "no run recorded")
        check(r.stop() == 0, r.tail())
    check(not [l for l in r.output() if "exited (signal" in l], r.tail())
    rd.cleanup()


def test_redis_down_run():
    rd, fires, r = ticking("downrun", extra="    redis_down: run\n")
    with r:
        rd.stop()
        t_down = time.time()
        r.wait_line(r"^scheduler \| tick: Redis is unreachable \(.*\): the run of \S+ runs here "
                    r"\(redis_down: run; it may run on several replicas\)$", timeout=20)
        wait_for(lambda: [e for e in epochs(fires) if e > t_down + 1] or None, 20,
                 "a run while Redis is down")
        check(r.stop() == 0, r.tail())
    rd.cleanup()


def test_catch_up_last_and_none():
    rd = Redis()
    d = tmpdir()
    a, b, c, e = (os.path.join(d, x) for x in "abce")
    hour = int(time.time()) // 3600 * 3600
    # a, b and e last ran an hour before this hour's occurrence, which they missed; c never ran
    for name in ("a", "b", "e"):
        rd.cli("SET", "roster:cu:sched:%s:last" % name, str(hour - 3600))
    sched = (appender(a, "@every 1h", "a", "catch_up: last, ") +
             appender(b, "@every 1h", "b", "catch_up: none, ") +
             appender(c, "@every 1h", "c", "catch_up: last, ") +
             appender(e, "0 * * * *", "e", "tz: UTC, catch_up: last, "))
    r = fleet_roster(rd, sched, app="cu")
    with r:
        got = wait_for(lambda: epochs(a) or None, 30, "a's catch-up run")
        r.wait_line(r"^scheduler \| a: catching up the missed run of \S+ \(catch_up: last; the "
                    r"last run was \S+\)$", timeout=10)
        r.wait_line(r"^scheduler \| a: finished ok", timeout=10)
        check(got[0] in (hour, hour + 3600), (got, hour))
        check(int(rd.cli("GET", "roster:cu:sched:a:last")) == got[0], "last not raised")
        # a cron expression: the most recent occurrence found by walking the fields
        got_e = wait_for(lambda: epochs(e) or None, 30, "e's catch-up run")
        check(got_e == got, (got_e, got))
        # the claim key lives 2 × the gap to the next occurrence (an hour)
        ttl = int(rd.cli("PTTL", "roster:cu:sched:e:%d" % got_e[0]))
        check(7100000 < ttl <= 7200000, ttl)
        check(r.stop() == 0, r.tail())
    # a ran (the sentinel); b (none) and c (never ran) did not
    check(epochs(b) == [] and epochs(c) == [], (epochs(b), epochs(c)))
    # started again: a's last is this occurrence, nothing is caught up twice
    r = fleet_roster(rd, sched, app="cu")
    with r:
        r.wait_line(r"^scheduler \| redis: connected$", timeout=30)
        # the MGET goes right after connecting; a later line proves its answer was handled
        rd.cli("RPUSH", "roster:cu:sched:trigger:c", json.dumps({"by": "sentinel"}))
        wait_for(lambda: epochs(c) or None, 15, "the sentinel's manual run")
        check(r.stop() == 0, r.tail())
    check(not lines_of([r], r"^scheduler \| [ae]: (started|catching)"), r.tail())
    check(len(epochs(a)) == 1 and len(epochs(e)) == 1, (epochs(a), epochs(e)))
    rd.cleanup()


def test_catch_up_after_a_stop():
    rd = Redis()
    d = tmpdir()
    fires = os.path.join(d, "fires")
    sched = appender(fires, "@every 3s", "tick", "catch_up: last, ")
    r = fleet_roster(rd, sched, app="stop")
    with r:
        wait_for(lambda: epochs(fires) or None, 30, "a first run")
        r.wait_line(r"^scheduler \| tick: finished ok", timeout=10)
        check(r.stop() == 0, r.tail())
    # stopped across the next occurrence (after the last that ran, however long the stop took)
    first = max(epochs(fires))
    wait_for(lambda: time.time() > first + 3.2, 10, "the next occurrence to pass")
    r = fleet_roster(rd, sched, app="stop")
    with r:
        r.wait_line(r"^scheduler \| tick: catching up the missed run of \S+", timeout=30)
        wait_for(lambda: [e for e in epochs(fires) if e > first], 10, "the catch-up run")
        check(r.stop() == 0, r.tail())
    seen = epochs(fires)
    later = [e for e in seen if e > first]
    check(len(seen) == len(set(seen)) and later and later[0] % 3 == 0, seen)
    check(len(lines_of([r], r"catching up")) == 1, r.tail())
    rd.cleanup()


def test_stopped_run_in_runs_list():
    """A run roster stops (it is stopping) is "stopped" in the runs list, as /health and the
    history table name it (it was "error" there)."""
    rd = Redis()
    try:
        r = fleet_roster(rd, "      slow: {cron: \"@every 1s\", command: \"sleep 30\"}\n",
                         app="stopped")
        with r:
            r.wait_line(r"^scheduler \| slow: started the run of", timeout=30)
            check(r.stop() == 0, r.tail())
        runs = [json.loads(x) for x in
                rd.cli("LRANGE", "roster:stopped:sched:slow:runs", "0", "-1").splitlines() if x]
        check(runs and runs[0]["outcome"] == "stopped", runs)
    finally:
        rd.cleanup()


BUSY_LUA = ("redis.call('RPUSH', KEYS[1], ARGV[1]) "
            "local t0 = redis.call('TIME') "
            "while true do local t = redis.call('TIME') "
            "if (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 1500000 then break end end "
            "return 1")


def test_trigger_popped_at_stop_is_put_back():
    """A trigger poll in flight when the role stops pops the element in Redis after the stop
    began: it is put back at the front of its list, not dropped (it was lost: logged as
    requested, then never run). Redis is held 1.5 s by a script that pushes the trigger first,
    so the next poll is queued behind it; SIGTERM comes while it waits."""
    rd = Redis()
    try:
        d = tmpdir()
        manual = os.path.join(d, "manual")
        r = fleet_roster(rd, appender(manual, "0 0 1 1 *", "manual"), app="putback")
        key = "roster:putback:sched:trigger:manual"
        elem = '{"requested_at":"2026-12-06T10:00:00Z","by":"test"}'
        with r:
            r.wait_line(r"^scheduler \| redis: connected$", timeout=30)
            busy = subprocess.Popen(["redis-cli", "-p", str(rd.port), "EVAL", BUSY_LUA, "1", key,
                                     elem], stdout=subprocess.DEVNULL)
            t0 = time.monotonic()
            # the scenario: a poll (one a second) is sent while the script holds Redis
            while time.monotonic() - t0 < 1.15:
                time.sleep(0.05)
            check(r.stop() == 0, r.tail())
            busy.wait(timeout=30)
        left = rd.cli("LRANGE", key, "0", "-1").splitlines()
        check(left == [elem], "the trigger is back in its list: %r\n%s" % (left, r.tail()))
        check(not os.path.exists(manual), "and it did not run")
    finally:
        rd.cleanup()


def test_redis_down_marks_health():
    """redis_down: skip marks the schedule warn in /health while its occurrences are skipped
    for Redis (they were only counted), and a run after Redis is back clears it."""
    from harness import free_port
    from test_schedhist import schedule_check
    rd = Redis()
    port = free_port()
    fires = os.path.join(tmpdir(), "fires")
    try:
        r = FleetRoster("app: hd\nredis: {url: \"%s\"}\nhealth: {listen: \"127.0.0.1:%d\"}\n"
                        "roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n%s"
                        % (rd.url, port, appender(fires, "@every 1s", "tick")), json_logs=False)
        with r:
            r.wait_line(r"^scheduler \| tick: finished ok", timeout=30)
            wait_for(lambda: (schedule_check(port, "tick") or {}).get("status") == "pass", 30,
                     "scheduler:tick passes while Redis is up")
            rd.stop()
            c = wait_for(lambda: (lambda x: x if x and x.get("status") == "warn" else None)(
                schedule_check(port, "tick")), 30, "scheduler:tick warns while Redis is down")
            check("Redis was unreachable" in c.get("output", ""), c)
            rd.start()
            wait_for(lambda: (schedule_check(port, "tick") or {}).get("status") == "pass", 30,
                     "scheduler:tick passes again once a run went through")
            check(r.stop() == 0, r.tail())
    finally:
        rd.cleanup()


def check_out(cfg):
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(cfg)
    return run_roster(["check", "-c", path])


def test_check_notes_without_redis():
    base = ("roles:\n  scheduler:\n    builtin: scheduler\n%s    schedules:\n"
            "      t: {cron: \"@every 1s\", %scommand: \"true\"}\n")
    code, out, err = check_out(base % ("    instances: 2\n", ""))
    check(code == 0, err)
    check("note: role scheduler: 2 copies of a scheduler role and no redis: configured: every "
          "copy runs every occurrence (with redis:, each occurrence runs once in the fleet)"
          in out, out)
    code, out, err = check_out("redis: {url: \"redis://127.0.0.1:1\"}\n" +
                               base % ("    instances: 2\n    redis_down: run\n", ""))
    check(code == 0 and "copies of a scheduler" not in out and "redis_down run" in out, out + err)
    code, out, err = check_out(base % ("", "catch_up: last, "))
    check(code == 0 and "note: role scheduler: schedule t: catch_up: last needs redis:" in out
          and "catch_up last" in out, out + err)
    # roster run says it once at start
    with Roster(base % ("    instances: 2\n", ""), json_logs=False) as r:
        r.wait_line(r"^scheduler\.1 \| 1 schedule$", timeout=30)
        notes = [l for l in r.output() if "copies of a scheduler role and no redis" in l]
        check(len(notes) == 1, r.tail())
        check(r.stop() == 0, r.tail())
    code, out, err = check_out(base % ("    redis_down: maybe\n", ""))
    check(code == 2 and re.search(r"roster\.yaml:4:\d+: .*redis_down.*skip.*run", err), err)
    code, out, err = check_out("roles:\n  web:\n    command: \"true\"\n    redis_down: run\n")
    check(code == 2 and "role 'web': redis_down: is for a role with builtin: scheduler" in err,
          err)
    code, out, err = check_out(base % ("", "catch_up: sometimes, "))
    check(code == 2 and "catch_up" in err, err)


if __name__ == "__main__":
    from harness import run
    run(globals())
