"""The health server: /health levels and codes, /readyz, /metrics through promtool, hostile
clients while /livez keeps answering, `roster health`, and roster's own READY=1."""
import json
import os
import shutil
import socket
import subprocess
import threading
import time

from harness import (Roster, check, free_port, http_get, run, run_roster, tmpdir, wait_for)


def health(port):
    st, body, _ = http_get("http://127.0.0.1:%d/health" % port)
    return st, json.loads(body)


def test_health_pass_warn_fail():
    port = free_port()
    cfg = """
health: {listen: "127.0.0.1:%d"}
roles:
  steady:
    command: [@CHILD@, sleep, "1000"]
  flaky:
    command: [sh, -c, "test -f @DIR@/crash && exit 1; exec sleep 1000"]
    backoff: {initial: 10ms}
    give_up: {after: 2, within: 1m, then: stay}
""" % port
    with Roster(cfg) as r:
        r.wait_event("started", "flaky")
        st, doc = wait_for(lambda: (lambda x: x[1]["status"] == "pass" and x)(health(port)), 5,
                           "health to pass")
        check(st == 200, "pass is 200")
        check(set(doc["checks"]) == {"steady:uptime", "flaky:uptime"}, doc["checks"].keys())
        inst = doc["checks"]["flaky:uptime"][0]
        check(inst["state"] == "ready" and inst["pid"] == r.pids("flaky")[0], inst)
        # one restart -> warn, still 200
        r_pid = r.pids("flaky")[0]
        os.kill(r_pid, 9)
        r.wait_event("started", "flaky", count=2)
        st, doc = wait_for(lambda: (lambda x: x[1]["status"] == "warn" and x)(health(port)), 5,
                           "health to warn after a restart")
        check(st == 200, "warn is 200")
        inst = doc["checks"]["flaky:uptime"][0]
        check(inst["restarts"] == 1 and inst["lastExit"]["signal"] == "SIGKILL", inst)
        check(inst["output"] == "restarted recently", inst)
        # crash until it gives up with stay -> fail, 503
        open(os.path.join(r.dir, "crash"), "w").close()
        os.kill(r.pids("flaky")[-1], 9)
        r.wait_event("gave_up", "flaky", timeout=10)
        st, doc = health(port)
        check(st == 503 and doc["status"] == "fail", (st, doc["status"]))
        inst = doc["checks"]["flaky:uptime"][0]
        check(inst["state"] == "given_up" and inst["status"] == "fail", inst)
        check(doc["checks"]["steady:uptime"][0]["status"] == "pass", "steady still passes")
        st, _, _ = http_get("http://127.0.0.1:%d/livez" % port)
        check(st == 200, "livez stays 200")
        r.stop()


def test_readyz_lists_what_is_not_ready():
    port = free_port()
    cfg = """
health: {listen: "127.0.0.1:%d"}
roles:
  quick:
    command: [@CHILD@, sleep, "1000"]
  slow:
    command: [@CHILD@, sleep, "1000"]
    ready: {exec: "test -f @DIR@/go", every: 50ms, timeout: 60s}
  after:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {slow: ready}
""" % port
    with Roster(cfg) as r:
        r.wait_event("started", "slow")
        st, body, _ = http_get("http://127.0.0.1:%d/readyz" % port)
        check(st == 503, "not ready yet: %d" % st)
        check(body.strip() == "not ready: slow (running), after (stopped)", body)
        open(os.path.join(r.dir, "go"), "w").close()
        r.wait_event("started", "after")
        wait_for(lambda: http_get("http://127.0.0.1:%d/readyz" % port)[0] == 200, 5, "readyz 200")
        r.stop()


def test_metrics_pass_promtool():
    if not shutil.which("promtool"):
        raise AssertionError("promtool is required (Debian package prometheus)")
    port = free_port()
    cfg = """
health: {listen: "127.0.0.1:%d"}
roles:
  api:
    command: [sh, -c, "echo hello; echo oops >&2; exec sleep 1000"]
    instances: 2
  job:
    kind: oneshot
    command: [@CHILD@, exit, "3"]
    give_up: {then: stay}
""" % port
    with Roster(cfg) as r:
        r.wait_event("exited", "job")
        wait_for(lambda: 'roster_log_lines_total{role="api",instance="1",stream="stderr"} 1' in
                 http_get("http://127.0.0.1:%d/metrics" % port)[1], 5, "log line counts")
        st, body, _ = http_get("http://127.0.0.1:%d/metrics" % port)
        check(st == 200, "200")
        p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True)
        check(p.returncode == 0, "promtool check metrics: %s %s" % (p.stdout, p.stderr))
        for line in ('roster_role_up{role="api",instance="0"} 1',
                     'roster_role_last_exit_code{role="job",instance="0"} 3',
                     'roster_role_restarts_total{role="api",instance="1"} 0',
                     'roster_log_lines_total{role="api",instance="0",stream="stdout"} 1'):
            check(line in body, "%s in /metrics" % line)
        r.stop()


def test_bad_requests_do_not_stall_livez():
    port = free_port()
    cfg = """
health: {listen: "127.0.0.1:%d"}
roles:
  a:
    command: [@CHILD@, sleep, "1000"]
""" % port
    with Roster(cfg) as r:
        wait_for(lambda: _try(lambda: http_get("http://127.0.0.1:%d/livez" % port)[0] == 200),
                 5, "livez")
        base = "http://127.0.0.1:%d" % port
        check(http_get(base + "/nope")[0] == 404, "unknown path 404")
        st, _, _ = http_get(base + "/health", method="POST")
        check(st == 405, "POST is 405, got %d" % st)
        check(http_get(base + "/metrics", method="DELETE")[0] == 405, "DELETE is 405")
        # a request body is refused
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
        check(s.recv(100).startswith(b"HTTP/1.1 413"), "body refused")
        s.close()
        # oversized headers
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64000 + b"\r\n\r\n")
        check(s.recv(100).startswith(b"HTTP/1.1 431"), "oversized headers refused")
        s.close()
        # clients that connect and send nothing, or half a request, and hold on
        idle = []
        for i in range(50):
            c = socket.create_connection(("127.0.0.1", port))
            if i % 2:
                c.sendall(b"GET /livez HTTP/1.1\r\nHo")
            idle.append(c)
        worst = 0
        for _ in range(20):
            st, _, secs = http_get(base + "/livez", timeout=2)
            check(st == 200, "livez answers while idle clients hang on")
            worst = max(worst, secs)
        print("  /livez worst latency with 50 idle clients: %.1f ms" % (worst * 1000))
        check(worst < 0.25, "each /livez answered within 250 ms (worst %.3fs)" % worst)
        for c in idle:
            c.close()
        r.stop()


def _try(fn):
    try:
        return fn()
    except OSError:
        return False


def test_livez_answers_while_stdout_is_blocked():
    """Logs fill a pipe nobody reads: roster stops reading the children, /livez still answers."""
    port = free_port()
    d = tmpdir()
    cfg = os.path.join(d, "roster.yaml")
    from harness import CHILD, ROSTER
    with open(cfg, "w") as f:
        f.write("""
health: {listen: "127.0.0.1:%d"}
roles:
  flood:
    command: [%s, flood, "10000000", "100", flood]
""" % (port, CHILD))
    rfd, wfd = os.pipe()
    p = subprocess.Popen([ROSTER, "-c", cfg, "--no-color"], stdout=wfd, stderr=subprocess.DEVNULL)
    os.close(wfd)
    try:
        wait_for(lambda: _try(lambda: http_get("http://127.0.0.1:%d/livez" % port)[0] == 200),
                 5, "livez")
        # nobody reads rfd: wait until roster has paused its children (the pipe is full and
        # roster's own queue is at its high-water mark), visible as the flooder blocking in write
        wait_for(lambda: _flooder_blocked(), 10, "the flood to block on a full pipe")
        worst = 0
        for _ in range(30):
            st, _, secs = http_get("http://127.0.0.1:%d/livez" % port, timeout=2)
            check(st == 200, "livez answers")
            worst = max(worst, secs)
        rss = _rss(p.pid)
        print("  /livez worst %.1f ms with stdout blocked; roster RSS %d KiB" % (worst * 1000, rss))
        check(worst < 0.25, "livez within 250 ms while stdout is blocked (%.3fs)" % worst)
        check(rss < 40 * 1024, "roster does not buffer the flood (%d KiB)" % rss)
    finally:
        p.terminate()
        # drain so roster can exit
        t = threading.Thread(target=lambda: _drain(rfd), daemon=True)
        t.start()
        p.wait(timeout=20)
        # the drain ends at EOF; closing rfd under a reader would let it read whatever pipe
        # reuses the descriptor next (another test's roster output)
        t.join(timeout=20)
        os.close(rfd)


def _flooder_blocked():
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if b"flood\x0010000000" not in f.read():
                    continue
            with open("/proc/%s/wchan" % d) as f:
                w = f.read()
            with open("/proc/%s/stat" % d) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return state == "S" and "pipe" in w
        except OSError:
            continue
    return False


def _drain(fd):
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def _rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1])
    except OSError:
        return 0
    return 0


def test_roster_health_command():
    port = free_port()
    cfg = """
health: {listen: "0.0.0.0:%d"}
roles:
  a:
    command: [@CHILD@, sleep, "1000"]
""" % port
    with Roster(cfg) as r:
        r.wait_event("started", "a")
        code, _, err = run_roster(["health", "-c", r.config_path])
        check(code == 0, "roster health finds the port in the config: %s" % err)
        code, _, _ = run_roster(["health", "http://127.0.0.1:%d" % port])
        check(code == 0, "explicit URL")
        r.stop()
    code, _, err = run_roster(["health", "http://127.0.0.1:%d/livez" % port])
    check(code == 1 and "127.0.0.1:%d" % port in err, "nothing listening: exit 1 (%s)" % err)


def test_roster_sends_ready_and_stopping_to_systemd():
    d = tmpdir()
    path = os.path.join(d, "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(10)
    cfg = """
roles:
  slow:
    command: [@CHILD@, sleep, "1000"]
    ready: {exec: "test -f @DIR@/go", every: 50ms}
  fast:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg, env={"NOTIFY_SOCKET": path}) as r:
        r.wait_event("started", "slow")
        s.settimeout(0.3)
        try:
            early = s.recv(4096)
        except socket.timeout:
            early = None
        check(early is None, "no READY=1 before every role is ready: %r" % early)
        open(os.path.join(r.dir, "go"), "w").close()
        s.settimeout(10)
        msg = s.recv(4096).decode()
        check(msg.startswith("READY=1"), "READY=1 once all roles are ready: %r" % msg)
        r.wait_event("ready", "slow")
        # the children did not inherit roster's NOTIFY_SOCKET (checked in test_env), and
        # shutdown says STOPPING=1
        r.send(15)
        msg = s.recv(4096).decode()
        check(msg.startswith("STOPPING=1"), "STOPPING=1 on shutdown: %r" % msg)
        r.wait_exit(10)
    s.close()


if __name__ == "__main__":
    run(globals())
