"""Reload (SIGHUP): only changed roles restart; added and removed roles; a bad config is
reported and the running roles are kept."""
import signal

from harness import Roster, check, pid_alive, run

BASE = """
roles:
  keep:
    command: [@CHILD@, sleep, "1000"]
  change:
    command: [@CHILD@, sleep, "1000"]
    env: {VERSION: "1"}
  drop:
    command: [@CHILD@, sleep, "1000"]
"""

NEW = """
roles:
  keep:
    command: [@CHILD@, sleep, "1000"]
  change:
    command: [@CHILD@, sleep, "1000"]
    env: {VERSION: "2"}
  added:
    command: [@CHILD@, sleep, "1000"]
"""


def write(r, text):
    with open(r.config_path, "w") as f:
        f.write(text.replace("@CHILD@", __import__("harness").CHILD))


def test_reload_restarts_only_changed_roles():
    with Roster(BASE) as r:
        for role in ("keep", "change", "drop"):
            r.wait_event("started", role)
        keep, change, drop = r.pids("keep")[0], r.pids("change")[0], r.pids("drop")[0]
        write(r, NEW)
        r.send(signal.SIGHUP)
        r.wait_event("reloaded")
        r.wait_event("started", "change", count=2)
        r.wait_event("started", "added")
        r.wait_event("stopped", "drop")
        check(r.pids("keep") == [keep] and pid_alive(keep), "keep kept its pid")
        check(not pid_alive(change) and pid_alive(r.pids("change")[1]), "change restarted")
        check(not pid_alive(drop), "drop stopped")
        msg = r.events("reloaded")[0]["msg"]
        check("1 changed, 1 added, 1 removed, 1 unchanged" in msg, msg)
        check(r.stop() == 0, "exit 0")


def test_bad_reload_keeps_running_roles():
    with Roster(BASE) as r:
        r.wait_event("started", "drop")
        before = {role: r.pids(role)[0] for role in ("keep", "change", "drop")}
        with open(r.config_path, "a") as f:
            f.write("  broken:\n    comand: x\n")
        r.send(signal.SIGHUP)
        evs = r.wait_event("reload_failed", count=2)
        msgs = " / ".join(e["msg"] for e in evs)
        check("roster.yaml:11:5: unknown key 'comand' in a role (did you mean 'command'?)" in msgs,
              "the error names file, line and column: %s" % msgs)
        check(all(pid_alive(p) for p in before.values()), "every role still runs")
        check({role: r.pids(role)[0] for role in before} == before and
              all(len(r.pids(x)) == 1 for x in before), "nothing restarted")
        # a fixed config reloads fine afterwards
        write(r, NEW)
        r.send(signal.SIGHUP)
        r.wait_event("reloaded")
        r.wait_event("started", "added")
        check(r.stop() == 0, "exit 0")


def test_reload_changed_env_file_restarts_role():
    cfg = """
roles:
  a:
    command: [@CHILD@, env, MODE]
    env_file: a.env
  b:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg, extra_files={"a.env": "MODE=one\n"}) as r:
        r.wait_line('"MODE=one"')
        b = r.pids("b")[0]
        with open(r.dir + "/a.env", "w") as f:
            f.write("MODE=two\n")
        r.send(signal.SIGHUP)
        r.wait_line('"MODE=two"')
        check(r.pids("b") == [b], "b untouched")
        r.stop()


if __name__ == "__main__":
    run(globals())
