"""Ordered shutdown: reverse dependency order, stop.timeout, whole process groups, bounds."""
import os
import signal
import time

from harness import (Roster, check, group_members, pid_alive, read_pidfile, run, wait_for)


def test_reverse_dependency_order():
    cfg = """
roles:
  db:
    command: [@CHILD@, sleep, "1000"]
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: [db]
  worker:
    command: [@CHILD@, sleep, "1000"]
    depends_on: [api]
  lone:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg) as r:
        r.wait_event("started", "worker")
        r.wait_event("started", "lone")
        check(r.stop() == 0, "exit 0 after SIGTERM")
        stops = [e["subject"] for e in r.events("stopped")]
        check(stops.index("worker") < stops.index("api") < stops.index("db"),
              "stopped in reverse dependency order: %s" % stops)
        stopping = [e["subject"] for e in r.events("stopping")]
        # independent roles stop in parallel: lone is signalled with the first wave
        check(stopping.index("lone") < stopping.index("api"), "lone stops in parallel: %s" % stopping)


def test_transitive_dependencies_stop_first():
    cfg = """
roles:
  db:
    command: [@CHILD@, sleep, "1000"]
  migrate:
    kind: oneshot
    command: [@CHILD@, exit, "0"]
    depends_on: {db: started}
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {migrate: completed}
"""
    with Roster(cfg) as r:
        r.wait_event("started", "api")
        check(r.stop() == 0, "exit 0")
        stops = [e["subject"] for e in r.events("stopped")]
        check(stops == ["api", "db"], "db waits for api, which needs it through migrate: %s" % stops)


def test_ignoring_sigterm_is_killed_after_stop_timeout():
    cfg = """
roles:
  stubborn:
    command: [@CHILD@, ignore-term, "@DIR@/pid"]
    stop: {timeout: 600ms}
"""
    with Roster(cfg) as r:
        pid = read_pidfile(os.path.join(r.dir, "pid"))
        r.wait_line("ignoring SIGTERM")
        t0 = time.monotonic()
        check(r.stop(timeout=10) == 0, "exit 0")
        took = time.monotonic() - t0
        check(r.events("killing", "stubborn"), "SIGKILL announced")
        ev = r.events("stopped", "stubborn")[0]
        check(ev.get("signal") == "SIGKILL", "stopped by SIGKILL: %s" % ev)
        check(0.5 <= took < 5, "took %.2fs, expected stop.timeout 0.6s" % took)
        check(not pid_alive(pid), "the child is gone")


def test_grandchild_in_group_is_stopped():
    cfg = """
roles:
  parent:
    command: [@CHILD@, grandchild, "@DIR@/gc"]
    stop: {timeout: 500ms}
"""
    with Roster(cfg) as r:
        gc = read_pidfile(os.path.join(r.dir, "gc"))
        # the pidfile can appear before roster's 'started' line has been read: wait for it
        pgid = r.wait_event("started", "parent")[0]["pid"]
        check(pid_alive(gc), "grandchild running")
        check(r.stop(timeout=10) == 0, "exit 0")
        check(not pid_alive(gc), "the grandchild (which ignores SIGTERM) is gone")
        check(group_members(pgid) == [], "the whole group is gone: %s" % group_members(pgid))


def test_leader_exit_stops_rest_of_group():
    cfg = """
roles:
  leaky:
    command: [sh, -c, "@CHILD@ pidfile @DIR@/left & sleep 0.3; exit 5"]
    restart: never
    give_up: {then: stay}
    stop: {timeout: 2s}
"""
    with Roster(cfg) as r:
        left = read_pidfile(os.path.join(r.dir, "left"))
        ev = r.wait_event("exited", "leaky", timeout=10)[0]
        check(ev["code"] == 5, "the leader's code is reported: %s" % ev)
        check(not pid_alive(left), "the process left in the group was stopped before 'exited'")
        r.stop()


def test_shutdown_timeout_bounds_everything():
    cfg = """
shutdown_timeout: 1s
roles:
  stubborn:
    command: [@CHILD@, ignore-term, "@DIR@/pid"]
    stop: {timeout: 60s}
"""
    with Roster(cfg) as r:
        pid = read_pidfile(os.path.join(r.dir, "pid"))
        r.wait_line("ignoring SIGTERM")
        t0 = time.monotonic()
        r.stop(timeout=15)
        took = time.monotonic() - t0
        check(0.9 <= took < 5, "shutdown bounded by shutdown_timeout (took %.2fs)" % took)
        check(r.events("shutdown_timeout"), "the timeout is reported")
        check(not pid_alive(pid), "the child was killed")


def test_second_signal_kills_at_once():
    cfg = """
roles:
  stubborn:
    command: [@CHILD@, ignore-term, "@DIR@/pid"]
    stop: {timeout: 60s}
"""
    with Roster(cfg) as r:
        pid = read_pidfile(os.path.join(r.dir, "pid"))
        r.wait_line("ignoring SIGTERM")
        r.send(signal.SIGTERM)
        r.wait_event("stopping", "stubborn")
        t0 = time.monotonic()
        r.send(signal.SIGINT)
        r.wait_exit(10)
        check(time.monotonic() - t0 < 3, "the second signal kills at once")
        check(r.events("kill"), "announced")
        check(not pid_alive(pid), "the child is gone")


def test_custom_stop_signal():
    cfg = """
roles:
  polite:
    command: [sh, -c, "trap 'echo got INT; exit 0' INT; echo ready; while :; do sleep 0.05; done"]
    stop: {signal: INT, timeout: 5s}
"""
    with Roster(cfg) as r:
        r.wait_line("ready")
        check(r.stop(timeout=10) == 0, "exit 0")
        msgs = [x["msg"] for x in r.records() if x.get("role") == "polite"]
        check("got INT" in msgs, "the role got SIGINT: %s" % msgs)
        check("SIGINT" in r.events("stopping", "polite")[0]["msg"], "stopping names SIGINT")


def test_string_command_without_shell_syntax_is_execd():
    """A string command with no shell syntax runs as the program itself (its pid is the one
    roster started and signals), as foreman does; one with shell syntax still goes to /bin/sh."""
    cfg = """
roles:
  plain:
    command: "@CHILD@ pidfile @DIR@/plain"
  shelled:
    command: "@CHILD@ pidfile @DIR@/shelled && true"
"""
    with Roster(cfg) as r:
        plain = read_pidfile(os.path.join(r.dir, "plain"))
        shelled = read_pidfile(os.path.join(r.dir, "shelled"))
        started = {e["subject"]: e["pid"] for e in r.wait_event("started", count=2)}
        check(started["plain"] == plain, "plain: roster started %s, the program is %s (a shell "
              "between them)" % (started["plain"], plain))
        # the sentinel: with shell syntax the program is the shell's child, not the pid started
        check(started["shelled"] != shelled, "shelled: the shell runs the command")
        check(r.stop() == 0, "exit 0")


def test_signals_that_would_end_roster_are_handled():
    """USR1, USR2, ALRM, ... once killed roster at once and left its roles unsupervised: now
    they are ignored and said (once a second per signal), and PWR stops the run in order."""
    cfg = """
roles:
  a:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg) as r:
        pid = r.wait_event("started", "a")[0]["pid"]
        names = ["SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGXCPU",
                 "SIGXFSZ"]
        for name in names + ["SIGUSR1"]:
            r.send(getattr(signal, name))
        r.send(signal.SIGRTMIN + 3)
        said = r.wait_event("signal", count=len(names) + 1)
        msgs = " ".join(e["msg"] for e in said)
        for name in names + ["SIGRTMIN+3"]:
            check(name + " received: ignored" in msgs, "%s is said: %s" % (name, msgs))
        check(msgs.count("SIGUSR1 received") == 1, "said once a second: %s" % msgs)
        check(r.proc.poll() is None and pid_alive(pid), "roster and its role run on")
        r.send(signal.SIGPWR)
        check(r.wait_exit(10) == 0, "SIGPWR: an ordered stop, exit 0")
        check(r.events("stopped", "a"), "a was stopped in order")
        check(not pid_alive(pid), "a is gone")


if __name__ == "__main__":
    run(globals())
