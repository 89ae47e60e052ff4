"""Dependencies: start order, oneshots gating dependents, failures, lone oneshot exit codes."""
import os

from harness import Roster, check, run, wait_for


def stamps(path):
    out = []
    with open(path) as f:
        for line in f:
            tag, _, ns = line.split()
            out.append((tag, int(ns)))
    return out


def test_oneshot_gates_dependents():
    cfg = """
roles:
  api:
    command: [@CHILD@, stamp, "@DIR@/stamps", api, "1000"]
    depends_on: {migrate: completed}
  migrate:
    kind: oneshot
    command: [@CHILD@, stamp, "@DIR@/stamps", migrate, "0.4"]
  cache:
    command: [@CHILD@, stamp, "@DIR@/stamps", cache, "1000"]
"""
    with Roster(cfg) as r:
        r.wait_event("started", "api")
        ev = {"%s:%s" % (e.get("subject"), e["event"]): e for e in r.events()}
        recs = r.records()
        order = [(x.get("subject"), x.get("event")) for x in recs if x.get("role") == "roster"]
        check(order.index(("migrate", "exited")) < order.index(("api", "started")),
              "api starts only after migrate exited: %s" % order)
        st = wait_for(lambda: (lambda d: "api" in d and d)(dict(stamps(os.path.join(r.dir, "stamps")))),
                      5, "api's stamp")
        check(st["api"] - st["migrate"] >= 0.4e9, "api's start is at least 0.4s after migrate's")
        check(st["cache"] < st["migrate"] + 0.3e9, "cache did not wait for migrate")
        check(ev["migrate:exited"]["code"] == 0, "migrate succeeded")
        check(r.stop() == 0, "clean exit")


def test_failed_oneshot_stops_dependents():
    cfg = """
roles:
  migrate:
    kind: oneshot
    command: [@CHILD@, exit, "3", "100"]
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {migrate: completed}
  worker:
    command: [@CHILD@, sleep, "1000"]
    depends_on: [api]
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 3, "a failed oneshot makes roster exit with its status 3, got %s" % code)
        check(not r.pids("api") and not r.pids("worker"), "dependents never started")
        check(r.events("failed", "migrate"), "the failure is reported")


def test_failed_oneshot_with_stay_blocks_dependents():
    cfg = """
roles:
  migrate:
    kind: oneshot
    command: [@CHILD@, exit, "3"]
    give_up: {then: stay}
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {migrate: completed}
"""
    with Roster(cfg) as r:
        r.wait_event("blocked", "api")
        check(r.proc.poll() is None, "roster stays up")
        check(not r.pids("api"), "api never started")
        check(r.stop() == 0, "SIGTERM exits 0")


def test_started_condition_orders_starts():
    cfg = """
roles:
  c:
    command: [@CHILD@, sleep, "1000"]
    depends_on: [b]
  b:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {a: started}
  a:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg) as r:
        r.wait_event("started", "c")
        order = [e["subject"] for e in r.events("started")]
        check(order == ["a", "b", "c"], "start order follows depends_on: %s" % order)
        r.stop()


def test_lone_oneshot_exits_with_its_status():
    cfg = """
roles:
  migrate:
    kind: oneshot
    command: [@CHILD@, exit, "7"]
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {migrate: completed}
"""
    with Roster(cfg, args=["--role", "migrate"]) as r:
        check(r.wait_exit(10) == 7, "roster --role migrate exits with migrate's status 7")
        check(not r.pids("api"), "api is not selected")


def test_lone_oneshot_success_exits_0():
    cfg = """
roles:
  migrate:
    kind: oneshot
    command: [sh, -c, "echo migrated"]
  api:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg, args=["--role", "migrate"]) as r:
        check(r.wait_exit(10) == 0, "a successful oneshot exits 0")
        msgs = [x["msg"] for x in r.records() if x.get("role") == "migrate"]
        check(msgs == ["migrated"], "its output is logged: %s" % msgs)


def test_all_oneshots_done_exits_0():
    cfg = """
roles:
  one:
    kind: oneshot
    command: [@CHILD@, exit, "0", "50"]
  two:
    kind: oneshot
    command: [@CHILD@, exit, "0", "100"]
    depends_on: {one: completed}
"""
    with Roster(cfg) as r:
        check(r.wait_exit(10) == 0, "every oneshot succeeded: exit 0")


def test_unselected_dependency_counts_as_met():
    cfg = """
roles:
  migrate:
    kind: oneshot
    command: [@CHILD@, exit, "1"]
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {migrate: completed}
"""
    with Roster(cfg, args=["--role", "api"]) as r:
        r.wait_event("started", "api")
        notes = [e["msg"] for e in r.events("note")]
        check(any("migrate is not selected" in n for n in notes), "the note is logged: %s" % notes)
        check(not r.pids("migrate"), "migrate is not run")
        r.stop()


if __name__ == "__main__":
    run(globals())
