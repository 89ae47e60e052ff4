"""Restarts: only the crashed role restarts, backoff with jitter, give_up exit and stay."""
import os
import signal
import time

import json

from harness import Roster, check, free_port, http_get, pid_alive, run, wait_for, zombies_of


def test_only_crashed_role_restarts():
    cfg = """
roles:
  steady:
    command: [@CHILD@, sleep, "1000"]
  other:
    command: [@CHILD@, sleep, "1000"]
  crashy:
    command: [@CHILD@, exit, "1", "200"]
    backoff: {initial: 50ms}
"""
    with Roster(cfg) as r:
        r.wait_event("restarting", "crashy", count=3)
        for role in ("steady", "other"):
            pids = r.pids(role)
            check(len(pids) == 1, "%s was started %d times: %s" % (role, len(pids), pids))
            check(pid_alive(pids[0]), "%s (pid %d) is not alive" % (role, pids[0]))
        check(len(set(r.pids("crashy"))) >= 3, "crashy did not get new pids")
        check(not zombies_of(r.pid), "zombies left: %s" % zombies_of(r.pid))
        check(r.stop() == 0, "clean shutdown exits 0")


def test_backoff_delays_within_jitter_bounds():
    cfg = """
roles:
  crashy:
    command: [@CHILD@, exit, "1"]
    backoff: {initial: 40ms, max: 400ms, reset_after: 30s}
    give_up: {after: 50, within: 60s}
"""
    with Roster(cfg) as r:
        evs = r.wait_event("restarting", "crashy", count=8, timeout=20)
        delays = [e["delay_ms"] for e in evs[:8]]
        check(delays[0] == 0, "the first restart is immediate, got %s" % delays[0])
        for n, d in enumerate(delays[1:], start=2):
            base = min(40 * 2 ** (n - 2), 400)
            check(0.8 * base <= d <= 1.2 * base,
                  "restart %d waited %d ms, outside %d ms ±20%%" % (n, d, base))
        # the delays actually happen: exited -> started spacing is at least the announced delay
        recs = r.records()
        t = {}
        seq = []
        for rec in recs:
            if rec.get("subject") != "crashy":
                continue
            if rec.get("event") in ("restarting", "started"):
                seq.append(rec)
        for a, b in zip(seq, seq[1:]):
            if a["event"] == "restarting" and b["event"] == "started" and a["delay_ms"] >= 100:
                ta = _ts(a["ts"])
                tb = _ts(b["ts"])
                check(tb - ta >= a["delay_ms"] / 1000.0 - 0.005,
                      "started %.3fs after a %d ms delay" % (tb - ta, a["delay_ms"]))
        r.stop()


def _ts(iso):
    # 2026-11-22T10:00:00.123Z
    hms = iso[11:23]
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_give_up_exit_exits_1():
    cfg = """
roles:
  steady:
    command: [@CHILD@, sleep, "1000"]
  crashy:
    command: [@CHILD@, exit, "2"]
    backoff: {initial: 10ms}
    give_up: {after: 3, within: 10s, then: exit}
"""
    with Roster(cfg) as r:
        code = r.wait_exit(20)
        check(code == 2, "give_up exit makes roster exit with the role's status 2, got %s" % code)
        check(len(r.events("restarting", "crashy")) == 3, "exactly 3 restarts before giving up")
        check(r.events("gave_up", "crashy"), "a gave_up event")
        steady = r.pids("steady")[0]
        check(not pid_alive(steady), "the other role was stopped")
        check(r.events("stopped", "steady"), "steady stopped in the shutdown")


def test_give_up_stay_keeps_running():
    cfg = """
roles:
  steady:
    command: [@CHILD@, sleep, "1000"]
  crashy:
    command: [@CHILD@, exit, "2"]
    backoff: {initial: 10ms}
    give_up: {after: 2, within: 10s, then: stay}
"""
    with Roster(cfg) as r:
        r.wait_event("gave_up", "crashy", timeout=10)
        check(r.proc.poll() is None, "roster keeps running after give_up: stay")
        steady = r.pids("steady")
        check(len(steady) == 1 and pid_alive(steady[0]), "steady untouched")
        n = len(r.pids("crashy"))
        check(n == 3, "crashy ran 1 + 2 restarts, got %d" % n)
        check(r.stop() == 0, "SIGTERM still exits 0")


def test_backoff_resets_after_uptime():
    cfg = """
roles:
  flappy:
    command: [@CHILD@, exit, "1", "350"]
    backoff: {initial: 1s, reset_after: 250ms}
"""
    with Roster(cfg) as r:
        evs = r.wait_event("restarting", "flappy", count=3, timeout=10)
        check(all(e["delay_ms"] == 0 for e in evs[:3]),
              "each run outlived reset_after, so every restart is immediate: %s" %
              [e["delay_ms"] for e in evs])
        r.stop()


def test_restart_on_failure_and_never():
    cfg = """
roles:
  ok_exit:
    command: [@CHILD@, exit, "0", "100"]
    restart: on-failure
  bad_exit:
    command: [@CHILD@, exit, "4", "100"]
    restart: on-failure
    backoff: {initial: 10ms}
  keeper:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg) as r:
        r.wait_event("restarting", "bad_exit", count=2)
        r.wait_event("exited", "ok_exit")
        check(not r.events("restarting", "ok_exit"), "a clean exit is not restarted on-failure")
        r.stop()


def test_signal_death_is_named():
    cfg = """
roles:
  segv:
    command: [@CHILD@, crash]
    restart: never
    give_up: {then: stay}
"""
    with Roster(cfg) as r:
        ev = r.wait_event("exited", "segv")[0]
        check(ev.get("signal") == "SIGSEGV", "killed by a signal is reported by name: %s" % ev)
        check("signal SIGSEGV" in ev["msg"], ev["msg"])
        r.stop()


def test_first_respawn_is_fast():
    cfg = """
roles:
  crashy:
    command: [@CHILD@, exit, "1", "100"]
    backoff: {initial: 1s}
"""
    with Roster(cfg) as r:
        r.wait_event("started", "crashy", count=2)
        recs = [x for x in r.records() if x.get("subject") == "crashy"]
        ex = next(x for x in recs if x["event"] == "exited")
        st = [x for x in recs if x["event"] == "started"][1]
        gap = _ts(st["ts"]) - _ts(ex["ts"])
        print("  first respawn: %.1f ms between exit and start events" % (gap * 1000))
        check(gap < 0.5, "the first restart is immediate (%.3fs)" % gap)
        r.stop()


def test_command_not_found_is_reported():
    port = free_port()
    cfg = """
health: {listen: "127.0.0.1:%d"}
roles:
  typo:
    command: [no-such-program-here, --flag]
    restart: never
    give_up: {then: stay}
""" % port
    with Roster(cfg) as r:
        ev = r.wait_event("spawn_failed", "typo")[0]
        check("command not found: no-such-program-here" in ev["msg"], ev["msg"])
        ex = r.wait_event("exited", "typo")[0]
        check(ex["code"] == 127, "exit status 127, as a shell reports it: %s" % ex)
        st, body, _ = http_get("http://127.0.0.1:%d/health" % port)
        inst = json.loads(body)["checks"]["typo:uptime"][0]
        check(inst["error"] == "command not found: no-such-program-here", inst)
        r.stop()


def test_max_memory_restarts_gracefully():
    cfg = """
roles:
  hog:
    command: [@CHILD@, alloc, "96"]
    max_memory: 48MiB
    stop: {timeout: 2s}
  calm:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg) as r:
        ev = r.wait_event("stopping", "hog", timeout=10)[0]
        check("over max_memory 48MiB" in ev["msg"], "the reason names the limit: %s" % ev["msg"])
        r.wait_event("started", "hog", count=2, timeout=10)
        check(len(r.pids("calm")) == 1, "calm untouched")
        check(r.events("restarting", "hog"), "a memory restart goes through the restart policy")
        r.stop()


if __name__ == "__main__":
    run(globals())
