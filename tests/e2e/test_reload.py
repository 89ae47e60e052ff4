"""Reload (SIGHUP): only changed roles restart; added and removed roles; a bad config is
reported and the running roles are kept. A reload reads its config off the loop: /livez keeps
answering while an env_file (a FIFO) holds the read, and a shutdown meanwhile is clean."""
import errno
import os
import signal
import threading
import time

from harness import Roster, check, free_port, http_get, pid_alive, run, run_roster

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


STALL = """
app: stall
health: {listen: "127.0.0.1:%d"}
control: {socket: "@DIR@/ctl.sock"}
roles:
  a:
    command: [@CHILD@, env, MODE]
    restart: always
    env_file: a.env
  b:
    command: [@CHILD@, sleep, "1000"]
"""


def fifo_env(r):
    """Turns a.env into a FIFO nobody writes yet: the next config read waits on it."""
    path = os.path.join(r.dir, "a.env")
    os.remove(path)
    os.mkfifo(path)
    return path


def started(r):
    """Waits for role a's first run, then makes a.env a FIFO; returns it and the socket path."""
    r.wait_line('"MODE=one"')
    return fifo_env(r), os.path.join(r.dir, "ctl.sock")


def open_writer(path, timeout=10):
    """Opens the FIFO for writing once roster has opened it for reading: from then on roster's
    read waits for what this end writes or for its close. Opening first also proves roster is in
    the read (a non-blocking open without a reader fails with ENXIO)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def reload_client(sock, res):
    """Runs `roster reload --socket sock` on a thread; its (code, out, err) lands in res["rc"]."""
    t = threading.Thread(target=lambda: res.update(
        rc=run_roster(["reload", "--socket", sock], timeout=30)))
    t.start()
    return t


def livez_latencies(port, seconds):
    """Polls /livez every 50 ms for `seconds`: each answer's latency (a failed request counts as
    its whole timeout)."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            st, _, _ = http_get("http://127.0.0.1:%d/livez" % port, timeout=1)
            ok = st == 200
        except OSError:
            ok = False
        dt = time.monotonic() - t0
        out.append(dt if ok else max(dt, 1.0))
        time.sleep(0.05)
    return out


def check_livez_during_stall(r, port, fifo):
    fd = open_writer(fifo)
    try:
        lat = livez_latencies(port, 2.0)
        lat.sort()
        p99 = lat[min(len(lat) - 1, -(-len(lat) * 99 // 100) - 1)]
        print("livez during a stalled reload: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
              % (len(lat), lat[len(lat) // 2] * 1000, p99 * 1000, lat[-1] * 1000))
        check(len(lat) >= 10 and lat[-1] < 0.25,
              "/livez answers quickly while a reload reads a stalled file (max %.0f ms)"
              % (lat[-1] * 1000))
        check(not r.events("reloaded") and not r.events("reload_failed"),
              "the reload was still waiting on the file")
        os.write(fd, b"MODE=two\n")
    finally:
        os.close(fd)


def test_livez_answers_during_a_stalled_sighup_reload():
    port = free_port()
    with Roster(STALL % port, extra_files={"a.env": "MODE=one\n"}) as r:
        r.wait_line('"MODE=one"')
        b = r.pids("b")[0]
        fifo = fifo_env(r)
        r.send(signal.SIGHUP)
        check_livez_during_stall(r, port, fifo)
        r.wait_event("reloaded")
        r.wait_line('"MODE=two"')
        check(r.pids("b") == [b], "b untouched")
        check(r.stop() == 0, "exit 0")


def test_livez_answers_during_a_stalled_control_reload():
    port = free_port()
    with Roster(STALL % port, extra_files={"a.env": "MODE=one\n"}) as r:
        fifo, sock = started(r)
        res = {}
        t = reload_client(sock, res)
        check_livez_during_stall(r, port, fifo)
        t.join(30)
        code, out, err = res["rc"]
        check(code == 0 and "config reloaded" in out, "roster reload: %d %s %s" % (code, out, err))
        r.wait_line('"MODE=two"')
        # the control socket answers other requests while a reload waits on a second stall
        fifo_env(r)
        res = {}
        t = reload_client(sock, res)
        fd = open_writer(os.path.join(r.dir, "a.env"))
        try:
            t0 = time.monotonic()
            st, _, _ = http_get("http://x/roles", unix=sock, timeout=2)
            check(st == 200 and time.monotonic() - t0 < 0.5, "GET /roles answers meanwhile")
            os.write(fd, b"MODE=three\n")
        finally:
            os.close(fd)
        t.join(30)
        check(res.get("rc", (None,))[0] == 0, "second reload: %s" % (res,))
        r.wait_line('"MODE=three"')
        check(r.stop() == 0, "exit 0")


def test_sigterm_during_a_stalled_reload():
    port = free_port()
    with Roster(STALL % port, extra_files={"a.env": "MODE=one\n"}) as r:
        fifo, sock = started(r)
        res = {}
        # SIGHUP starts a reload that stalls; a `roster reload` meanwhile waits for the next one
        r.send(signal.SIGHUP)
        fd = open_writer(fifo)
        try:
            t = reload_client(sock, res)
            r.wait_event("reload_pending")
            r.send(signal.SIGTERM)
            # answered at once, while the first reload still waits on the FIFO
            t.join(10)
            check("rc" in res, "roster reload answered during the shutdown")
            code, out, err = res["rc"]
            check(code == 1 and "roster is shutting down" in err,
                  "roster reload: %d %s %s" % (code, out, err))
            r.wait_event("exit")
            check(r.proc.poll() is None, "roster waits for the reload's read (sentinel)")
        finally:
            # the read ends (EOF): roster drops the reload and exits
            os.close(fd)
        check(r.wait_exit(10) == 0, "exit 0 as for a normal shutdown")
        check(not r.events("reloaded"), "nothing swapped in after the shutdown began")


def test_sighups_during_a_reload_make_one_more():
    port = free_port()
    with Roster(STALL % port, extra_files={"a.env": "MODE=one\n"}) as r:
        r.wait_line('"MODE=one"')
        fifo = fifo_env(r)
        r.send(signal.SIGHUP)
        fd = open_writer(fifo)
        try:
            for _ in range(3):
                r.send(signal.SIGHUP)
                time.sleep(0.02)  # spacing only: nothing waits on it
            # the reload that follows reads the file as it is after this one's read
            tmp = os.path.join(r.dir, "a.env.new")
            with open(tmp, "w") as f:
                f.write("MODE=three\n")
            os.rename(tmp, fifo)  # the reload in flight has the FIFO open already
            os.write(fd, b"MODE=two\n")
        finally:
            os.close(fd)
        r.wait_event("reloaded", count=2)
        r.wait_line('"MODE=three"')
        # sentinel: one more SIGHUP now shows as a third reload, so a third one made of the
        # three signals above would have shown too
        r.send(signal.SIGHUP)
        r.wait_event("reloaded", count=3)
        time.sleep(0.2)  # a stray fourth would come at once; no condition to wait on
        check(len(r.events("reloaded")) == 3, "three SIGHUPs during a reload made one more")
        check(r.stop() == 0, "exit 0")


if __name__ == "__main__":
    run(globals())
