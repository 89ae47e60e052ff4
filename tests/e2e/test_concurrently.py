"""test_concurrently.py — concurrently's exit semantics (issue 9): first as roster.yaml says them
(exit_on_end, exit.success, exit.interrupted, give_up.then: continue), then from concurrently's
own command line. The cases follow concurrently's bin/concurrently.spec.ts where it has them.
Every wait has a deadline."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Roster, check, pid_alive, run, wait_for  # noqa: E402

# ---- roster.yaml: the same semantics -----------------------------------------------------------


def test_exit_on_end_oneshot_ends_the_run_with_its_status():
    # concurrently -k -s first "serve" "test:e2e": a service and a oneshot whose end ends the run
    cfg = """
exit: {success: first}
roles:
  serve:
    command: [@CHILD@, sleep, "1000"]
  e2e:
    kind: oneshot
    command: [@CHILD@, exit, "4", "200"]
    exit_on_end: true
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 4, "the run exits with e2e's status 4, got %s\n%s" % (code, r.tail()))
        serve = r.pids("serve")[0]
        check(not pid_alive(serve), "serve was stopped")
        check(r.events("stopped", "serve"), "serve stopped by the shutdown\n%s" % r.tail())


def test_exit_on_end_success_is_success():
    # -k: serve is killed, which is not a failure of the run (concurrently #187)
    cfg = """
roles:
  serve:
    command: [@CHILD@, sleep, "1000"]
  e2e:
    kind: oneshot
    command: [@CHILD@, exit, "0", "200"]
    exit_on_end: true
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 0, "every role that ended on its own succeeded: 0, got %s\n%s" % (
            code, r.tail()))


def test_exit_on_end_failure_ignores_success():
    # --kill-others-on-fail: a success leaves the others running; the run ends when all have
    cfg = """
roles:
  slow:
    command: [@CHILD@, exit, "0", "600"]
    restart: never
    exit_on_end: failure
  quick:
    command: [@CHILD@, exit, "0", "50"]
    restart: never
    exit_on_end: failure
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 0, "exit 0, got %s" % code)
        check(not r.events("stopping", "slow"), "slow was not stopped\n%s" % r.tail())
        check(r.events("exited", "slow"), "slow ended on its own")


def test_exit_on_end_failure_kills_on_failure():
    cfg = """
roles:
  slow:
    command: [@CHILD@, sleep, "1000"]
    exit_on_end: failure
  bad:
    command: [@CHILD@, exit, "6", "50"]
    restart: never
    give_up: {then: continue}
    exit_on_end: failure
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 6, "exit 6 (bad's status), got %s\n%s" % (code, r.tail()))
        check(r.events("stopped", "slow"), "slow was stopped")


def test_exit_on_end_drops_pending_restarts():
    # concurrently #579/#496: once the run ends, a role waiting in backoff is not restarted
    cfg = """
roles:
  crashy:
    command: [@CHILD@, exit, "1"]
    backoff: {initial: 300ms, max: 300ms}
    give_up: {after: 100, within: 1m}
  e2e:
    kind: oneshot
    command: [@CHILD@, exit, "0", "500"]
    exit_on_end: true
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        # crashy's last end was its own crash: under success all, the run fails with it
        check(code == 1, "exit 1 (crashy's crash), got %s\n%s" % (code, r.tail()))
        n = len(r.events("started", "crashy"))
        check(n >= 2, "crashy crashed and restarted meanwhile (%d starts)" % n)
        recs = r.records()
        at = [i for i, e in enumerate(recs) if e.get("event") == "shutdown"]
        check(at, "a shutdown")
        after = [e for e in recs[at[0]:] if e.get("event") == "started" and
                 e.get("subject") == "crashy"]
        check(not after, "crashy was not restarted after the shutdown began\n%s" % r.tail())


def test_success_last_and_role():
    cfg = """
exit: {success: last}
roles:
  a: {command: [@CHILD@, exit, "3", "50"], restart: never, give_up: {then: continue}}
  b: {command: [@CHILD@, exit, "0", "400"], restart: never}
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 0, "-s last: the last to end (b) succeeded, got %s\n%s" % (code, r.tail()))
    cfg2 = cfg.replace("success: last", "success: a")
    with Roster(cfg2) as r:
        code = r.wait_exit(10)
        check(code == 3, "success: a: a's status 3, got %s\n%s" % (code, r.tail()))
    cfg3 = cfg.replace("success: last", "success: '!a'")
    with Roster(cfg3) as r:
        code = r.wait_exit(10)
        check(code == 0, "success: !a: b succeeded, got %s\n%s" % (code, r.tail()))


def test_interrupted_crash_loop_exits_with_its_code():
    # a crash loop interrupted by Ctrl-C exits non-zero (as foreman does) ...
    cfg = """
roles:
  crashy:
    command: [@CHILD@, exit, "5"]
    backoff: {initial: 2s, max: 2s}
  steady:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg) as r:
        r.wait_event("exited", "crashy", count=2)
        code = r.stop(signal.SIGINT, 10)
        check(code == 5, "Ctrl-C during a crash loop exits 5, got %s\n%s" % (code, r.tail()))
    # ... but SIGTERM, a platform stopping roster, is a clean end
    with Roster(cfg) as r:
        r.wait_event("exited", "crashy", count=2)
        code = r.stop(signal.SIGTERM, 10)
        check(code == 0, "SIGTERM exits 0, got %s" % code)
    # ... and with exit.interrupted: success (concurrently's way), Ctrl-C is a success
    with Roster("exit: {interrupted: success}\n" + cfg) as r:
        r.wait_event("exited", "crashy", count=2)
        code = r.stop(signal.SIGINT, 10)
        check(code == 0, "exit.interrupted: success: 0, got %s" % code)


def test_give_up_continue_ends_when_all_ended():
    # give_up.then: continue: a role that gave up ends; the run ends once every role has
    cfg = """
roles:
  crashy:
    command: [@CHILD@, exit, "2"]
    backoff: {initial: 10ms, max: 10ms}
    give_up: {after: 2, within: 1m, then: continue}
  job:
    command: [@CHILD@, exit, "0", "600"]
    restart: on-failure
"""
    with Roster(cfg) as r:
        r.wait_event("gave_up", "crashy")
        check(r.proc.poll() is None and not r.events("shutdown"),
              "roster runs on while job runs\n%s" % r.tail())
        code = r.wait_exit(10)
        check(code == 2, "the run carries crashy's status 2, got %s\n%s" % (code, r.tail()))
        check(r.events("exited", "job") and not r.events("stopping", "job"),
              "job ended on its own")


def test_check_shows_exit_rules():
    from harness import run_roster, tmpdir
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("exit: {success: e2e, interrupted: success}\nroles:\n"
                "  serve: {command: sleep 100}\n"
                "  e2e: {kind: oneshot, command: 'true', exit_on_end: true}\n")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 0, "roster check passes: %s" % err)
    check("exit: success e2e, interrupted success" in out, "the exit rule is shown:\n" + out)
    check("exit_on_end: true" in out, "exit_on_end is shown:\n" + out)


if __name__ == "__main__":
    run(globals())
