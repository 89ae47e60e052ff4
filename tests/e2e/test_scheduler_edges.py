"""The scheduler role's edges (a review of issue 12's helpers): the process's descriptors stay as
many over many fires of commands and http requests (no leak per run, per request, or per re-arm of
a schedule's wall-clock alarm); without timerfd (ENOSYS as under gVisor-like seccomp, EMFILE when
out of descriptors: tests/helpers/seccomp_fail) schedules keep firing on the loop's timer alone."""
import http.server
import os
import re
import subprocess
import time

from harness import check, free_port, http_server, SANITIZER, wait_for
from harness import Roster as BaseRoster


class Roster(BaseRoster):
    """A roster whose scheduler's sanitizer reports (its stderr framed into roster's output)
    fail the test too."""

    def cleanup(self):
        super().cleanup()
        bad = [l for l in self.output() if SANITIZER.search(l)]
        check(not bad, "sanitizer report from the scheduler role:\n" + "\n".join(bad[:40]))

SECCOMP_FAIL = os.environ.get("SECCOMP_FAIL", "")


class Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


def read_lines(path):
    try:
        with open(path) as f:
            return [l for l in f if l.endswith("\n")]
    except FileNotFoundError:
        return []


class HeaderRecorder(http.server.BaseHTTPRequestHandler):
    """Records each request's Host, User-Agent, Accept and Connection lines, all of them."""
    protocol_version = "HTTP/1.1"
    seen = []

    def do_GET(self):
        HeaderRecorder.seen.append({k: self.headers.get_all(k) or [] for k in
                                    ("Host", "User-Agent", "Accept", "Connection")})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def test_http_headers_replace_defaults():
    # a schedule's own Host (a virtual host on 127.0.0.1), User-Agent or Accept replaces the
    # client's, as libcurl (https://) does: two Host lines are a 400 for a strict server
    # (RFC 9112 3.2); Connection stays the client's one "close"
    srv, port = http_server(HeaderRecorder)
    try:
        r = Roster("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
                   "      own: {cron: '@every 1s', http: {url: 'http://127.0.0.1:%d/', headers: "
                   "{host: app.example, User-Agent: mine/1, ACCEPT: text/plain, "
                   "Connection: keep-alive}}}\n"
                   "      plain: {cron: '@every 1s', http: 'GET http://127.0.0.1:%d/p'}\n"
                   % (port, port), json_logs=False)
        with r:
            r.wait_line(r"^scheduler \| own: finished ok: HTTP 200", timeout=30)
            r.wait_line(r"^scheduler \| plain: finished ok: HTTP 200", timeout=30)
            check(r.stop() == 0, r.tail())
    finally:
        srv.shutdown()
    own = [x for x in HeaderRecorder.seen if "app.example" in x["Host"]]
    plain = [x for x in HeaderRecorder.seen if x["Host"] == ["127.0.0.1:%d" % port]]
    check(own and plain, HeaderRecorder.seen)  # the sentinel: the defaults are sent without one
    for x in own:
        check(x == {"Host": ["app.example"], "User-Agent": ["mine/1"], "Accept": ["text/plain"],
                    "Connection": ["close"]}, x)
    for x in plain:
        check(len(x["User-Agent"]) == 1 and x["Accept"] == ["*/*"] and
              x["Connection"] == ["close"], x)


def scheduler_pid(r):
    return int(r.wait_line(r"^roster +\| scheduler started \(pid (\d+)\)$", 30).group(1))


def fds(pid):
    """The process's descriptors: number -> what it is."""
    out = {}
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(f)] = os.readlink("/proc/%d/fd/%s" % (pid, f))
        except OSError:
            pass
    return out


def fewest_fds(pid, seconds):
    """The fewest descriptors the process held over a window (a run in flight holds a few for
    its pipes or socket; between runs it holds only its own)."""
    end = time.monotonic() + seconds
    best = None
    while time.monotonic() < end:
        n = len(fds(pid))
        best = n if best is None else min(best, n)
        time.sleep(0.02)
    return best


def ticks(r, name):
    return [l for l in r.output() if l.startswith("scheduler | %s: finished" % name) or
            l.startswith("scheduler | %s: failed" % name)]


def test_fds_flat_over_fires():
    srv, port = http_server(Ok)
    try:
        r = Roster("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
                   "      cmd: {cron: '@every 1s', command: 'echo hi; echo err >&2'}\n"
                   "      web: {cron: '@every 1s', http: 'GET http://127.0.0.1:%d/'}\n"
                   "      refused: {cron: '@every 1s', http: 'GET http://127.0.0.1:%d/'}\n"
                   % (port, free_port()), json_logs=False)
        with r:
            pid = scheduler_pid(r)
            wait_for(lambda: len(ticks(r, "web")) >= 2 and len(ticks(r, "cmd")) >= 2, 30,
                     "two runs of each\n" + r.tail())
            # the sentinel: the count is seen, and it holds the schedules' alarms
            held = fds(pid)
            check(sum("timerfd" in t for t in held.values()) == 3, "3 timerfds: %r" % held)
            before = fewest_fds(pid, 1.5)
            n0 = len(ticks(r, "web"))
            wait_for(lambda: len(ticks(r, "web")) >= n0 + 8 and len(ticks(r, "refused")) >= 8,
                     60, "8 more runs\n" + r.tail())
            after = fewest_fds(pid, 1.5)
            check(after <= before, "descriptors grew from %d to %d over the fires: %r"
                  % (before, after, fds(pid)))
            check(r.stop() == 0, r.tail())
    finally:
        srv.shutdown()


def test_many_schedules_leave_descriptors_for_runs():
    # a role may have 1000 schedules; under the common soft limit of 1024 descriptors the
    # schedules' wall-clock alarms must not take them all: runs need pipes (and requests
    # sockets). The sentinel: the runs themselves, which need descriptors to start.
    d = "@DIR@"
    sched = "".join("      h%d: {cron: '@every 1h', command: 'true'}\n" % i for i in range(990))
    sched += "".join("      t%d: {cron: '@every 1s', command: 'sleep 1.5; echo t%d >> %s/ran'}\n"
                     % (i, i, d) for i in range(10))
    r = Roster("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n" + sched,
               json_logs=False, prefix_cmd=["prlimit", "--nofile=1024:1024", "--"])
    with r:
        wait_for(lambda: len(read_lines(os.path.join(r.dir, "ran"))) >= 20, 60,
                 "20 runs of the t schedules\n" + r.tail())
        check(r.stop() == 0, r.tail())
    failed = [l for l in r.output() if re.search(r"^scheduler \| t\d+: failed", l)]
    check(not failed, "\n".join(failed[:10]))


def seccomp_works():
    if not SECCOMP_FAIL or not os.path.exists(SECCOMP_FAIL):
        return False
    p = subprocess.run([SECCOMP_FAIL, "timerfd", "ENOSYS", "true"], capture_output=True)
    return p.returncode == 0


def without_timerfd(err):
    def t():
        if not seccomp_works():
            print("SKIP: tests/helpers/seccomp_fail is not built (libseccomp-dev) or seccomp "
                  "filters are not allowed here")
            return
        r = Roster("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
                   "      tick: {cron: '@every 1s', command: 'echo tick'}\n",
                   json_logs=False, prefix_cmd=[SECCOMP_FAIL, "timerfd", err])
        with r:
            pid = scheduler_pid(r)
            wait_for(lambda: len(ticks(r, "tick")) >= 3, 30, "3 runs\n" + r.tail())
            held = fds(pid)
            check(not [t for t in held.values() if "timerfd" in t], "no timerfd: %r" % held)
            check(r.stop() == 0, r.tail())
        bad = [l for l in r.output() if "Sanitizer" in l or "runtime error:" in l or "missed" in l]
        check(not bad, bad)
    return t


test_without_timerfd_enosys = without_timerfd("ENOSYS")
test_without_timerfd_emfile = without_timerfd("EMFILE")


if __name__ == "__main__":
    from harness import run
    run(globals())
