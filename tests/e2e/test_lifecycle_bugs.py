"""Bugs 1, 9 and 10 of issue 8 with real processes: a restart passes the same dependency gate as
a first start; immediate retries of a spawn that fails at once neither crash roster nor stop it
answering; a lone oneshot stopped by roster's shutdown exits with the command's status."""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

from harness import Failure, Roster, check, run, run_roster, tmpdir, wait_for


def never(pred, seconds, what):
    """Fails as soon as pred() holds within seconds (the negative check of a test that also
    shows, afterwards, that the same pred does become true: its sentinel)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = pred()
        check(not v, "%s: %s" % (what, v))
        time.sleep(0.02)


def status(r, timeout=10, prefix=()):
    """`roster status --json` through the control socket: (document, seconds it took). prefix:
    to run it as roster's user (a client talks only to a roster of its own user or root's)."""
    t0 = time.monotonic()
    try:
        code, out, err = run_roster(["status", "--json", "-c", r.config_path], timeout=timeout,
                                    prefix=prefix)
    except subprocess.TimeoutExpired:
        raise Failure("roster status got no answer within %ss" % timeout)
    took = time.monotonic() - t0
    check(code == 0, "roster status failed (%s): %s%s\n%s" % (code, out, err, r.tail()))
    return json.loads(out), took


def row(doc, role):
    return [x for x in doc["roles"] if x["role"] == role][0]


# ---- bug 1 ---------------------------------------------------------------------------------

DEP_CFG = """
app: deps
control: {socket: "@DIR@/ctl.sock"}
roles:
  db:
    command: [@CHILD@, sleep, "1000"]
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {db: started}
    backoff: {initial: 100ms, max: 100ms}
"""


def _ctl(r, verb, role):
    code, out, err = run_roster([verb, role, "-c", r.config_path])
    check(code == 0, "roster %s %s: %s%s" % (verb, role, out, err))


def _api_waits_then_follows_db(r, api_starts, why):
    """api crashed while db is stopped: it must stay down; once db starts, api follows."""
    api = r.pids("api")[-1]
    os.kill(api, signal.SIGKILL)
    r.wait_event("exited", "api", count=api_starts)
    # Long past the restart that would come (at once, or after the 100 ms backoff).
    never(lambda: len(r.pids("api")) > api_starts and r.pids("api"), 1.5,
          "api started again while db is stopped (%s)" % why)
    doc, _ = status(r)
    check(row(doc, "api")["state"] == "stopped" and row(doc, "db")["state"] == "stopped",
          "api waits, down, for db: %s" % doc["roles"])
    _ctl(r, "start", "db")
    r.wait_event("started", "api", count=api_starts + 1)
    order = [e["subject"] for e in r.events("started")]
    check(order[-2:] == ["db", "api"], "db starts before api: %s" % order)


def test_restart_waits_for_a_stopped_dependency():
    with Roster(DEP_CFG) as r:
        r.wait_event("started", "api")
        _ctl(r, "stop", "db")
        r.wait_event("stopped", "db")
        # the first crash: a restart at once (this one ignored the dependency before the fix)
        _api_waits_then_follows_db(r, 1, "the immediate restart")
        # the second crash in a row: a restart after backoff
        _ctl(r, "stop", "db")
        r.wait_event("stopped", "db", count=2)
        _api_waits_then_follows_db(r, 2, "the restart after backoff")
        check(r.stop() == 0, "exit 0")


# ---- bug 9 ---------------------------------------------------------------------------------

RETRY_CFG = """
app: retry
control: {socket: "%(dir)s/ctl.sock"}
roles:
  flaky:
    command: [%(cmd)s]
    %(user)s
    backoff: {initial: 0ms}
    give_up: {after: 1000000, within: 1h}
"""


def _listening(path):
    """True when a client can connect to the unix socket at path. Its file exists from bind(),
    a moment before listen(): a client in that moment is refused (seen under load)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def _retries(r, target, limit_s, prefix=()):
    """Polls status until the role has restarted target times; each answer must come fast
    (roster keeps turning its loop between retries) and roster must stay up (no stack
    overflow)."""
    sock = os.path.join(os.path.dirname(r.config_path), "ctl.sock")
    wait_for(lambda: _listening(sock) or r.proc.poll() is not None, 10, "the control socket")
    deadline = time.monotonic() + limit_s
    slowest = 0.0
    while True:
        check(r.proc.poll() is None, "roster exited (%s) during the retries\n%s" % (
            r.proc.returncode, r.tail()))
        try:
            doc, took = status(r, prefix=prefix)
        except Failure as e:
            # no answer: say whether roster died (a stack overflow is exit -11 or 139)
            try:
                r.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                raise e
            raise Failure("roster exited (%s) during the retries" % r.proc.returncode)
        slowest = max(slowest, took)
        check(took < 2.0, "roster status took %.2fs during the retries" % took)
        n = row(doc, "flaky")["restarts"]
        if n >= target:
            return n, slowest
        check(time.monotonic() < deadline, "only %d retries in %ss\n%s" % (n, limit_s, r.tail()))
        time.sleep(0.2)


def _nobody():
    """The prefix that runs roster as an ordinary user, or None when that is not possible."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        return None
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    p = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--clear-groups"]
    roster = os.environ.get("ROSTER_BIN", "roster")
    try:
        ok = subprocess.run(p + [roster, "--version"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p if ok.returncode == 0 else None


def test_spawn_failing_at_once_retries_through_the_loop():
    """A spawn that fails inside roster (user: set, roster not root) with backoff 0 ms used to
    recurse until SIGSEGV after ~9,000 tries; 20,000 must pass with roster answering."""
    prefix = _nobody()
    if prefix is None:
        print("SKIP test_spawn_failing_at_once_retries_through_the_loop: cannot run roster as an "
              "ordinary user here (setpriv, nobody)")
        return
    d = tmpdir()
    # the ordinary user writes its control socket here, sticky as /tmp is: the client trusts
    # no socket in a directory where others could swap it
    os.chmod(d, 0o1777)
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(RETRY_CFG % {"dir": d, "cmd": "/bin/true", "user": "user: root"})
    os.chmod(path, 0o644)
    with Roster(None, args=["-c", path], prefix_cmd=prefix, stdout_file=True) as r:
        r.config_path = path
        n, slowest = _retries(r, 20000, 90, prefix)
        print("  %d retries; slowest status answer %.3fs" % (n, slowest))
        first = r.output()[:12]
        said = [json.loads(l) for l in first if '"spawn_failed"' in l]
        check(said and "needs roster to run as root" in said[0]["msg"],
              "the reason is said: %s" % first)
        check(r.stop(timeout=10) == 0, "SIGTERM ends roster cleanly during the retries")


def test_missing_command_retries_and_answers():
    """A command that does not exist (exec fails in the child): retried at once, said, and
    roster keeps answering."""
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(RETRY_CFG % {"dir": d, "cmd": os.path.join(d, "no-such-program"), "user": ""})
    with Roster(None, args=["-c", path], stdout_file=True) as r:
        r.config_path = path
        n, slowest = _retries(r, 300, 60)
        print("  %d retries; slowest status answer %.3fs" % (n, slowest))
        first = r.output()[:12]
        said = [json.loads(l) for l in first if '"spawn_failed"' in l]
        check(said and "not found" in said[0]["msg"] and "no-such-program" in said[0]["msg"],
              "the reason is said: %s" % first)
        check(r.stop(timeout=10) == 0, "SIGTERM ends roster cleanly during the retries")


# ---- bug 10 --------------------------------------------------------------------------------

LONE_CFG = """
roles:
  migrate:
    kind: oneshot
    command: [@CHILD@, sleep, "1000"]
"""

SELECTED_CFG = """
roles:
  migrate:
    kind: oneshot
    command: [@CHILD@, sleep, "1000"]
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {migrate: completed}
"""


def _cancelled_oneshot(cfg, args):
    with Roster(cfg, args=args) as r:
        r.wait_event("started", "migrate")
        r.send(signal.SIGTERM)
        code = r.wait_exit(10)
        check(r.events("stopped", "migrate"), "migrate was stopped\n%s" % r.tail())
        check(code == 143, "a cancelled oneshot exits with its status 143, got %s\n%s" % (
            code, r.tail()))
        check(not r.pids("api"), "api never started")


def test_lone_oneshot_cancelled_exits_143():
    _cancelled_oneshot(LONE_CFG, [])


def test_selected_oneshot_cancelled_exits_143():
    _cancelled_oneshot(SELECTED_CFG, ["--role", "migrate"])


def test_oneshot_cancelled_beside_a_service_exits_0():
    """The sentinel: with a service beside it, SIGTERM is an ordinary shutdown (exit 0)."""
    with Roster(SELECTED_CFG.replace("depends_on: {migrate: completed}", "")) as r:
        r.wait_event("started", "migrate")
        r.wait_event("started", "api")
        check(r.stop() == 0, "an ordinary shutdown exits 0")


if __name__ == "__main__":
    run(globals())
