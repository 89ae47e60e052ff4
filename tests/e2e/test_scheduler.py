"""The built-in scheduler role (issue 12): `roster run` starts a builtin: scheduler role as its
own process (`roster role NAME`); its schedules fire at their cron times and run a command (own
process group, ROSTER_SCHEDULE and ROSTER_SCHEDULED_AT, timeout, overlap) or an http request;
each run is logged with its outcome."""
import datetime as dt
import http.server
import os
import re
import signal
import time

from harness import check, free_port, http_server, pid_exists, Roster, wait_for


def sched_roster(schedules):
    """A roster whose only role is a scheduler with these schedules (YAML lines, indented 6)."""
    return Roster("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n" + schedules,
                  json_logs=False)


def read_lines(path):
    try:
        with open(path) as f:
            return [l.rstrip("\n") for l in f if l.endswith("\n")]
    except FileNotFoundError:
        return []


def no_sanitizer_report(r):
    """The scheduler process's sanitizer reports (a sanitizer build) come out framed as its
    lines: none may be there once roster has stopped."""
    bad = [l for l in r.output() if "Sanitizer" in l or "runtime error:" in l]
    check(not bad, "\n".join(bad[:20]))


def pids_gone(pids):
    return all(not pid_exists(p) for p in pids)


def test_every_second_env():
    r = sched_roster("      tick: {cron: \"@every 1s\", command: \"sh -c 'echo "
                     "$${ROSTER_SCHEDULE} $${ROSTER_SCHEDULED_AT} >> @DIR@/fires'\"}\n")
    with r:
        path = os.path.join(r.dir, "fires")
        lines = wait_for(lambda: (lambda l: l if len(l) >= 4 else None)(read_lines(path)), 30,
                         "4 fires of @every 1s")
        r.wait_line(r"^scheduler \| tick: finished ok: exit 0 in \d+\.\d+s$", timeout=10)
        check(r.stop() == 0, r.tail())
    times = []
    for l in lines:
        name, at = l.split(" ")
        check(name == "tick", l)
        t = dt.datetime.fromisoformat(at)
        check(t.utcoffset() is not None and t.microsecond == 0, l)
        times.append(int(t.timestamp()))
    # one run per occurrence, each a whole second (the epoch's multiples of 1s), in order; a
    # loaded machine may leave one out (no catch-up), never run one twice
    check(all(b > a for a, b in zip(times, times[1:])), lines)
    check(times[-1] - times[0] <= 2 * (len(times) - 1), lines)
    starts = [l for l in r.output() if re.match(r"^scheduler \| tick: started the run of ", l)]
    check(len(starts) >= 4, r.tail())


def test_task_prefix():
    # a command's output is shown as the schedule's: "scheduler/NAME | line", on both streams;
    # the scheduler's own lines stay "scheduler | ..."; a mark the command prints itself is
    # text, and a user role's mark is never read
    cmd = ("printf 'out line\\\\n'; printf 'err line\\\\n' >&2; "
           "printf '\\\\036other\\\\037forged\\\\n'; touch @DIR@/done")
    cfg = ("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
           "      nightly: {cron: \"@every 1s\", command: [sh, -c, \"%s\"]}\n"
           "  user:\n    command: [sh, -c, \"printf '\\\\036nightly\\\\037not a task\\\\n'; "
           "exec sleep 300\"]\n" % cmd)
    r = Roster(cfg, json_logs=False)
    with r:
        r.wait_line(r"^scheduler/nightly +\| out line$", timeout=30)
        r.wait_line(r"^scheduler/nightly +\| err line$", timeout=10)
        r.wait_line(r"^scheduler/nightly +\| \\x1eother\\x1fforged$", timeout=10)
        r.wait_line(r"^scheduler +\| nightly: finished ok: exit 0 in ", timeout=10)
        r.wait_line(r"^user +\| \\x1enightly\\x1fnot a task$", timeout=10)
        r.stop()
    check(not [l for l in r.output() if re.match(r"^scheduler +\| nightly \|", l)], r.tail())
    check(not [l for l in r.output() if l.startswith("scheduler/other")], r.tail())
    # JSON: the role stays the role; the schedule is the line's task
    r = Roster(cfg)
    with r:
        wait_for(lambda: [x for x in r.records() if x.get("msg") == "out line"], 30,
                 "the command's line in JSON")
        wait_for(lambda: [x for x in r.records() if x.get("role") == "scheduler" and
                          "finished" in x.get("msg", "")], 30, "a run's end in JSON")
        wait_for(lambda: [x for x in r.records() if x.get("role") == "user"], 30,
                 "the user role's line in JSON")
        r.stop()
    recs = [x for x in r.records() if x.get("msg") in ("out line", "err line")]
    check(recs and all(x["role"] == "scheduler" and x["task"] == "nightly" for x in recs), recs)
    check(any(x["stream"] == "stderr" for x in recs), recs)
    own = [x for x in r.records() if x.get("role") == "scheduler" and "finished" in x.get("msg", "")]
    check(own and all("task" not in x for x in own), own)
    user = [x for x in r.records() if x.get("role") == "user"]
    check(user and all("task" not in x for x in user), user)


def test_overlap_skip():
    r = sched_roster("      slow: {cron: \"@every 1s\", command: \"sh -c 'echo x >> @DIR@/runs; "
                     "sleep 3.5'\"}\n")
    with r:
        r.wait_line(r"^scheduler \| slow: skipped the run of \S+: the previous run is still "
                    r"going \(2 skipped\)$", timeout=30)
        check(len(read_lines(os.path.join(r.dir, "runs"))) == 1, r.tail())
        r.wait_line(r"^scheduler \| slow: finished ok: exit 0 in [3-9]\.\d+s$", timeout=30)
        r.stop()


def test_overlap_allow():
    r = sched_roster("      slow: {cron: \"@every 1s\", overlap: allow, command: \"sh -c 'echo x >> "
                     "@DIR@/runs; sleep 3.5'\"}\n")
    with r:
        path = os.path.join(r.dir, "runs")
        wait_for(lambda: len(read_lines(path)) >= 3, 30, "3 runs started")
        # three started within the first one's 3.5 s: they ran side by side
        check(not [l for l in r.output() if "finished" in l or "skipped" in l], r.tail())
        r.stop()


def test_timeout_kills_group():
    # the command leaves a grandchild in its group; the timeout kills the group whole
    r = sched_roster("      hang: {cron: \"@every 1s\", timeout: 1s, command: \"sh -c 'sleep 300 & "
                     "echo $$! >> @DIR@/pids; sleep 300'\"}\n")
    with r:
        m = r.wait_line(r"^scheduler \| hang: failed: timed out after (\d+\.\d+)s \(the command's "
                        r"group was killed\)$", timeout=30)
        check(float(m.group(1)) >= 1.0, m.group(0))
        first = int(read_lines(os.path.join(r.dir, "pids"))[0])
        wait_for(lambda: pids_gone([first]), 15, "the timed-out command's grandchild gone")
        r.stop()
        pids = [int(p) for p in read_lines(os.path.join(r.dir, "pids"))]
        wait_for(lambda: pids_gone(pids), 15, "every grandchild gone after roster stopped")


def test_sigterm_stops_running_command():
    r = sched_roster("      long: {cron: \"@every 1s\", command: \"sh -c 'echo $$$$ >> @DIR@/pids; "
                     "exec sleep 300'\"}\n")
    with r:
        path = os.path.join(r.dir, "pids")
        wait_for(lambda: read_lines(path), 30, "the command started")
        r.wait_line(r"^scheduler \| long: skipped the run of ", timeout=30)
        check(r.stop(timeout=30) == 0, r.tail())
        pids = [int(p) for p in read_lines(path)]
        check(len(pids) == 1, pids)
        wait_for(lambda: pids_gone(pids), 10, "the running command gone")
        r.wait_line(r"^scheduler \| long: stopped after \d+\.\d+s \(roster is stopping\)$", 5)
        r.wait_line(r"^roster +\| scheduler stopped \(code 0\)$", 5)


def test_roster_killed_stops_scheduler():
    # SIGKILL to roster cannot stop its roles; the scheduler stops itself and its command
    r = sched_roster("      long: {cron: \"@every 1s\", command: \"sh -c 'echo $$$$ >> @DIR@/pids; "
                     "exec sleep 300'\"}\n")
    with r:
        sched = int(r.wait_line(r"^roster +\| scheduler started \(pid (\d+)\)$", 30).group(1))
        path = os.path.join(r.dir, "pids")
        wait_for(lambda: read_lines(path), 30, "the command started")
        r.stop(sig=signal.SIGKILL)
        wait_for(lambda: pids_gone([sched] + [int(p) for p in read_lines(path)]), 15,
                 "the scheduler and its command gone")


def test_cwd_with_a_relative_config_path():
    # -c names the file relative to roster's directory; the role's cwd is its commands'
    cfg = ("roles:\n  scheduler:\n    builtin: scheduler\n    cwd: /\n    schedules:\n"
           "      here: {cron: \"@every 1s\", command: \"sh -c 'pwd > @DIR@/where'\"}\n")
    r = Roster(None, args=["-c", "sched.yaml"], json_logs=False, extra_files={"sched.yaml": cfg})
    with r:
        where = os.path.join(r.dir, "where")
        wait_for(lambda: read_lines(where), 30, "the command ran")
        check(read_lines(where) == ["/"], (read_lines(where), r.tail()))
        r.stop()


class Handler(http.server.BaseHTTPRequestHandler):
    seen = []

    def answer(self):
        Handler.seen.append((self.command, self.path))
        code = 200 if self.path == "/ok" else 503
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_DELETE = answer

    def log_message(self, *a):
        pass


def test_http_action():
    srv, port = http_server(Handler)
    try:
        r = sched_roster("      ok: {cron: \"@every 1s\", http: \"POST http://127.0.0.1:%d/ok\"}\n"
                         "      bad: {cron: \"@every 1s\", http: \"DELETE http://127.0.0.1:%d/bad\"}\n"
                         "      down: {cron: \"@every 1s\", timeout: 2s, http: "
                         "\"GET http://127.0.0.1:1/x\"}\n" % (port, port))
        with r:
            r.wait_line(r"^scheduler \| ok: finished ok: HTTP 200 in \d+\.\d+s$", timeout=30)
            r.wait_line(r"^scheduler \| bad: failed: HTTP 503 in \d+\.\d+s$", timeout=30)
            r.wait_line(r"^scheduler \| down: failed: .* in \d+\.\d+s$", timeout=30)
            r.stop()
        check(("POST", "/ok") in Handler.seen, Handler.seen)
        check(("DELETE", "/bad") in Handler.seen, Handler.seen)
        check(not [s for s in Handler.seen if s[0] not in ("POST", "DELETE")], Handler.seen)
    finally:
        srv.shutdown()


def test_config_read_with_rosters_port():
    """The scheduler's process reads the config again: ${PORT} there is roster's PORT (the
    platform's port, which roles do not inherit), as `roster check` and roster read it. Without
    it the role's http action went to the default port (or the config did not load)."""
    srv, port = http_server(Handler)
    try:
        Handler.seen.clear()
        r = Roster("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
                   "      ping: {cron: \"@every 1s\", "
                   "http: \"POST http://127.0.0.1:${PORT:-1}/ok\"}\n",
                   env={"PORT": str(port)}, json_logs=False)
        with r:
            r.wait_line(r"^scheduler \| ping: finished ok: HTTP 200 in \d+\.\d+s$", timeout=30)
            r.stop()
        check(("POST", "/ok") in Handler.seen, Handler.seen)
    finally:
        srv.shutdown()


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers by path and records each request: method, path, headers, body."""
    seen = []
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        Recorder.seen.append((self.command, self.path, dict(self.headers), body))
        if self.path == "/slow":
            time.sleep(5)
        code, text, extra = {
            "/ok": (200, b"fine", {}),
            "/created": (201, b"\x1b[31mred\x07 " + b"x" * 300 + b"\nsecond line", {}),
            "/redirect": (302, b"", {"Location": "/target"}),
        }.get(self.path, (404, b"no such page", {}))
        try:
            self.send_response(code)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
        except OSError:
            pass  # /slow's client gave up (its timeout) before the answer

    do_GET = do_POST = do_PUT = answer

    def log_message(self, *a):
        pass


def test_http_mapping():
    srv, _ = http_server(Recorder)
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        r = Roster(
            "roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
            "      post:\n        cron: '@every 1s'\n"
            "        http: {url: \"%s/ok\", headers: {X-Token: \"${TOKEN}\", "
            "Content-Type: application/json}, body: '{\"a\":1}'}\n"
            "      put: {cron: '@every 1s', http: {method: PUT, url: \"%s/created\", "
            "expect: [200, 204]}}\n"
            "      created: {cron: '@every 1s', http: {url: \"%s/created\", expect: 201}}\n"
            "      redir: {cron: '@every 1s', http: {url: \"%s/redirect\"}}\n"
            "      refused: {cron: '@every 1s', http: {url: \"http://127.0.0.1:%d/x\"}}\n"
            "      slow: {cron: '@every 1s', timeout: 1s, http: {url: \"%s/slow\"}}\n"
            % (base, base, base, base, free_port(), base),
            env={"TOKEN": "t0k3n"}, json_logs=False)
        with r:
            r.wait_line(r"^scheduler \| post: finished ok: HTTP 200 in \d+\.\d+s$", timeout=30)
            # not an expected status: a failure naming the status, the statuses expected and
            # the answer's first line, cut at 200 bytes with its control characters escaped
            m = r.wait_line(r"^scheduler \| put: failed: HTTP 201 in \d+\.\d+s \(expected 200 or "
                            r"204\): answered \"(.*)\"$", timeout=30)
            shown = m.group(1)
            check(shown == r"\x1b[31mred\x07 " + "x" * 190 + "...", shown)
            r.wait_line(r"^scheduler \| created: finished ok: HTTP 201 in \d+\.\d+s$", timeout=30)
            # redirects are not followed: a 302 is a failure
            r.wait_line(r"^scheduler \| redir: failed: HTTP 302 in \d+\.\d+s$", timeout=30)
            r.wait_line(r"^scheduler \| refused: failed: .*[Cc]onnect.* in \d+\.\d+s$", timeout=30)
            r.wait_line(r"^scheduler \| slow: failed: timed out after 1\.\d+s \(the request was "
                        r"aborted\)$", timeout=30)
            r.stop()
        no_sanitizer_report(r)
        posts = [x for x in Recorder.seen if x[1] == "/ok"]
        check(posts, Recorder.seen)
        for method, path, headers, body in posts:
            check(method == "POST", (method, path))  # a body makes POST the default
            check(headers.get("X-Token") == "t0k3n", headers)
            check(headers.get("Content-Type") == "application/json", headers)
            check(body == b'{"a":1}', body)
        puts = [x for x in Recorder.seen if x[1] == "/created" and x[0] == "PUT"]
        check(puts and all(x[3] == b"" for x in puts), puts)
        gets = [x for x in Recorder.seen if x[1] == "/created" and x[0] == "GET"]
        check(gets, Recorder.seen)
        check(not [x for x in Recorder.seen if x[1] == "/target"], "a redirect was followed")
    finally:
        srv.shutdown()


class Framing(http.server.BaseHTTPRequestHandler):
    """Answers whose body ends in the other ways HTTP/1.1 has: chunks, or the connection's end."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(503)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"busy", b"\nsince noon"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/close":
            self.close_connection = True
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"bad\nmore")
        else:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *a):
        pass


def scheduler_pid(r):
    return int(r.wait_line(r"^roster +\| scheduler started \(pid (\d+)\)$", 30).group(1))


def maps_libcurl(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libcurl" in f.read()


def test_http_client():
    # plain http:// goes through roster's own client (no libcurl in the scheduler process):
    # chunked and close-delimited answers, a host name, and the libcurl path for https://
    srv, port = http_server(Framing)
    try:
        r = sched_roster(
            "      chunked: {cron: '@every 1s', http: \"GET http://127.0.0.1:%d/chunked\"}\n"
            "      close: {cron: '@every 1s', http: \"GET http://127.0.0.1:%d/close\"}\n"
            "      byname: {cron: '@every 1s', http: \"GET http://localhost:%d/ok\"}\n"
            % (port, port, port))
        with r:
            pid = scheduler_pid(r)
            r.wait_line(r'^scheduler \| chunked: failed: HTTP 503 in \d+\.\d+s: answered "busy"$',
                        timeout=30)
            r.wait_line(r'^scheduler \| close: failed: HTTP 500 in \d+\.\d+s: answered "bad"$',
                        timeout=30)
            r.wait_line(r"^scheduler \| byname: finished ok: HTTP 200 in \d+\.\d+s$", timeout=30)
            check(not maps_libcurl(pid), "libcurl loaded for http:// requests")
            r.stop()
        no_sanitizer_report(r)
        # https:// is libcurl's (its own wording for a refused connection); the sentinel that
        # the maps check above would see libcurl
        r = sched_roster("      tls: {cron: '@every 1s', http: \"GET https://127.0.0.1:%d/\"}\n"
                         % free_port())
        with r:
            pid = scheduler_pid(r)
            r.wait_line(r"^scheduler \| tls: failed: Failed to connect .* in \d+\.\d+s$", 30)
            check(maps_libcurl(pid), "libcurl not loaded for https://")
            r.stop()
        no_sanitizer_report(r)
    finally:
        srv.shutdown()


if __name__ == "__main__":
    from harness import run
    run(globals())
