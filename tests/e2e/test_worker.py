"""The built-in worker role (issue 13) against a real redis-server: command handlers (payload on
stdin, ROSTER_JOB_* env, output shown as worker/TYPE#ID, exit status, timeout killing the group with a
grandchild, max_memory), a type without handler goes dead, retries with backoff bounds and dead
after max_attempts, drain on SIGTERM (a slow job finishes; one slower than stop.timeout goes back
to its queue and the next worker runs it), Redis restarted mid-run (no job lost), the http
handler (signature checked with hmac, Retry-After honoured, a failure's status said; plain
http:// through roster's own client on kept-alive connections, without libcurl: a server closing
an idle connection, Connection: close, a chunked answer, a stale connection retried once, a slow
server's timeout), and the config's errors."""
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import threading
import time

from harness import check, http_server, pid_exists, run, run_roster, tmpdir, wait_for
from services import Redis
from test_scheduler import maps_libcurl, read_lines
from test_worker_chaos import children, cmdline
from workerlib import Jobs, worker_roster


def job_state(jobs, id_, states, timeout, what):
    return wait_for(lambda: (lambda j: j if j["state"] in states else None)(jobs.get(id_)),
                    timeout, what)


def test_command_stdin_env_output():
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    handlers:\n      mail: {command: \"sh -c 'cat > @DIR@/in."
                      "$${ROSTER_JOB_ID}; echo $${ROSTER_JOB_ID} $${ROSTER_JOB_TYPE} "
                      "$${ROSTER_JOB_ATTEMPT} $${ROSTER_JOB_QUEUE} > @DIR@/env.$${ROSTER_JOB_ID};"
                      " echo said-on-stdout; echo said-on-stderr >&2'\"}\n")
    with r:
        r.wait_line(r"^worker \| worker \S+: 1 slot, 1 queue, 1 handler$", timeout=20)
        id_ = jobs.enqueue("mail", {"to": "a@example.com", "n": [1, 2]})
        j = job_state(jobs, id_, ("done", "dead"), 20, "the job done")
        check(j["state"] == "done", j)
        check(j["attempts"] == 1, j)
        with open(os.path.join(r.dir, "in.%d" % id_)) as f:
            check(json.loads(f.read()) == {"to": "a@example.com", "n": [1, 2]}, "payload on stdin")
        with open(os.path.join(r.dir, "env.%d" % id_)) as f:
            check(f.read() == "%d mail 1 default\n" % id_, "env")
        r.wait_line(r"^worker/mail#%d \| said-on-stdout$" % id_, timeout=10)
        r.wait_line(r"^worker/mail#%d \| said-on-stderr$" % id_, timeout=10)
        check(r.stop() == 0, r.tail())
    jobs.close()


def test_no_handler_dead_and_failures():
    """A type without handler goes dead with the reason; a failing command is retried with
    backoff within its bounds and goes dead after max_attempts with the last error."""
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    handlers:\n      flaky: {command: \"sh -c 'date +%s.%N >> "
                      "@DIR@/tries; echo broken >&2; exit 3'\"}\n"
                      "    retry: {max_attempts: 4, backoff: {initial: 400ms, max: 1s}}\n")
    with r:
        r.wait_line(r"^worker \| worker ", timeout=20)
        nope = jobs.enqueue("nope")
        j = job_state(jobs, nope, ("dead",), 20, "the job without handler dead")
        check(j["last_error"] == "no handler for type nope", j)
        r.wait_line(r"^worker \| nope#%d dead after attempt 1: no handler for type nope$" % nope)
        flaky = jobs.enqueue("flaky")
        j = job_state(jobs, flaky, ("dead",), 40, "the failing job dead after 4 attempts")
        check(j["attempts"] == 4, j)
        check(j["last_error"] == "exit 3", j)
        tries = [float(t) for t in read_lines(os.path.join(r.dir, "tries"))]
        check(len(tries) == 4, tries)
        gaps = [b - a for a, b in zip(tries, tries[1:])]
        # 400ms, 800ms, then capped at 1s; each ±20% but never above max; the upper bound leaves
        # room for a loaded machine (promotion runs at the due time, pickup within 50 ms)
        for gap, base in zip(gaps, (0.4, 0.8, 1.0)):
            check(gap >= base * 0.8 - 0.01, "retry after %.3fs, below %s - 20%%: %r" % (gap, base, gaps))
            check(gap <= min(base * 1.2, 1.0) + 1.5, "retry after %.3fs: %r" % (gap, gaps))
        r.wait_line(r"^worker \| flaky#%d failed \(attempt 1 of 4\) after [\d.]+s: exit 3; "
                    r"retry in \d+ms$" % flaky)
        r.wait_line(r"^worker \| flaky#%d dead after attempt 4: exit 3$" % flaky)
        check(r.stop() == 0, r.tail())
    jobs.close()


def test_timeout_kills_group_and_max_memory():
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    concurrency: 2\n    handlers:\n"
                      "      slow: {command: \"sh -c 'sleep 60 & echo $$! > @DIR@/gc.pid; sleep 60'\","
                      " timeout: 700ms}\n"
                      "      fat: {command: [python3, -c, \"import time; x = bytearray(150 << 20);"
                      " time.sleep(60)\"], max_memory: 40MiB}\n"
                      "    retry: {max_attempts: 1}\n")
    with r:
        r.wait_line(r"^worker \| worker ", timeout=20)
        slow = jobs.enqueue("slow")
        fat = jobs.enqueue("fat")
        j = job_state(jobs, slow, ("dead",), 30, "the slow job dead")
        check(j["last_error"] == "timeout after 700ms", j)
        gc = int(read_lines(os.path.join(r.dir, "gc.pid"))[0])
        wait_for(lambda: not pid_exists(gc), 10, "the handler's grandchild gone with its group")
        j = job_state(jobs, fat, ("dead",), 30, "the fat job dead")
        check(j["last_error"].startswith("memory limit 40MiB exceeded (RSS "), j)
        check(r.stop() == 0, r.tail())
    jobs.close()


def slow_job_running(rd, jobs, rest, stop_timeout):
    """A worker whose handler of type slow touches began and then runs `rest`; a slow job
    enqueued and seen to begin. Returns the roster (entered) and the job's id."""
    r = worker_roster(rd.url, "    handlers:\n      slow: {command: \"sh -c 'touch @DIR@/began;"
                      " %s'\"}\n    stop: {timeout: %s}\n" % (rest, stop_timeout))
    r.__enter__()
    try:
        r.wait_line(r"^worker \| worker ", timeout=20)
        id_ = jobs.enqueue("slow")
        wait_for(lambda: os.path.exists(os.path.join(r.dir, "began")), 20, "the job started")
    except BaseException:
        r.cleanup()
        raise
    return r, id_


def test_drain_slow_job_finishes():
    rd = Redis()
    jobs = Jobs(rd.url)
    r, id_ = slow_job_running(rd, jobs, "sleep 2; touch @DIR@/ended", "15s")
    with r:
        t0 = time.monotonic()
        check(r.stop(timeout=30) == 0, r.tail())
        check(os.path.exists(os.path.join(r.dir, "ended")), "the job ran to its end")
        check(time.monotonic() - t0 < 12, "the drain ended once the job did")
        j = jobs.get(id_)
        check(j["state"] == "done", j)
        r.wait_line(r"^worker \| SIGTERM: draining: no more jobs taken; 1 running job may finish")
    jobs.close()


def test_drain_too_slow_requeued_then_run_by_next():
    rd = Redis()
    jobs = Jobs(rd.url)
    r, id_ = slow_job_running(rd, jobs, "sleep 60", "3s")
    with r:
        check(r.stop(timeout=30) == 0, r.tail())
        j = jobs.get(id_)
        check(j["state"] == "queued", "the job back in its queue: %r" % j)
        r.wait_line(r"^worker \| slow#%d stopped by the drain after [\d.]+s; it goes back" % id_)
        r.wait_line(r"^worker \| drained: 1 job given back to their queues$")
        roster_log = "\n".join(r.output())
        check("SIGKILL" not in roster_log, "the worker ended before stop.timeout:\n" + roster_log)
    r2 = worker_roster(rd.url, "    handlers:\n      slow: {command: \"true\"}\n")
    with r2:
        j = job_state(jobs, id_, ("done",), 30, "the requeued job run by the next worker")
        check(j["attempts"] == 2, j)
        check(r2.stop() == 0, r2.tail())
    jobs.close()


def test_second_sigterm_stops_at_once():
    """A second SIGTERM to a draining worker stops its running jobs now (not at stop.timeout):
    they go back to their queue, the worker exits 0, and the restarted one runs them again."""
    rd = Redis()
    jobs = Jobs(rd.url)
    r, id_ = slow_job_running(rd, jobs, "[ $${ROSTER_JOB_ATTEMPT} = 1 ] && sleep 60; true", "60s")
    with r:
        worker = [p for p in children(r.pid) if b"role" in cmdline(p)]
        check(len(worker) == 1, "the worker process: %r" % worker)
        os.kill(worker[0], signal.SIGTERM)
        r.wait_line(r"^worker \| SIGTERM: draining: no more jobs taken; 1 running job may finish")
        t0 = time.monotonic()
        os.kill(worker[0], signal.SIGTERM)
        r.wait_line(r"^worker \| stop.timeout is near: stopping 1 running job", timeout=10)
        r.wait_line(r"^worker \| drained: 1 job given back to their queues$", timeout=20)
        check(time.monotonic() - t0 < 15, "stopped long before stop.timeout (60 s)")
        j = job_state(jobs, id_, ("done",), 30, "the job run again by the restarted worker")
        check(j["attempts"] == 2, j)
        check(r.stop(timeout=30) == 0, r.tail())
    jobs.close()


def test_drain_with_redis_down():
    """SIGTERM while Redis is away: with nothing held, the worker stops at once (exit 0, no
    SIGKILL); with an outcome held, it waits for Redis until stop.timeout is near, then goes."""
    rd = Redis()
    jobs = Jobs(rd.url)
    r, id_ = slow_job_running(rd, jobs, "sleep 0.5", "4s")
    jobs.close()
    with r:
        rd.stop()
        r.wait_line(r"^worker \| Redis is down \(", timeout=20)
        # the job ends while Redis is away: its outcome is held
        deadline = time.monotonic() + 1.5
        wait_for(lambda: time.monotonic() >= deadline, 5, "the job's end")
        t0 = time.monotonic()
        check(r.stop(timeout=30) == 0, r.tail())
        took = time.monotonic() - t0
        r.wait_line(r"^worker \| Redis is still down at stop.timeout: the outcomes of 1 job are "
                    r"not recorded")
        check(2.0 <= took < 4.0, "stopped near stop.timeout less 1 s: %.2fs" % took)
        check(not [l for l in r.output() if "SIGKILL" in l], r.tail())
    r2 = worker_roster(rd.url, "    handlers:\n      x: {command: \"true\"}\n")
    with r2:
        # its start line: its signal handlers are in place (a SIGTERM before them ends it by
        # the signal, which roster says; no job can have been taken by then)
        r2.wait_line(r"^worker \| worker ", timeout=20)
        t0 = time.monotonic()
        check(r2.stop(timeout=30) == 0, r2.tail())
        check(time.monotonic() - t0 < 2.0, "nothing held: stopped at once")
        r2.wait_line(r"^worker \| Redis is down: stopping now")


def test_redis_restarted_mid_run():
    """Redis goes away while jobs run: they go on, their outcomes are held and written when it
    is back (it restarts from the dump SHUTDOWN SAVE wrote); no job is lost."""
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    concurrency: 4\n    handlers:\n      nap: {command: \"sh -c "
                      "'echo $${ROSTER_JOB_ID} >> @DIR@/ran; sleep 1.5'\"}\n")
    with r:
        r.wait_line(r"^worker \| worker ", timeout=20)
        ids = [jobs.enqueue("nap", {"i": i}) for i in range(12)]
        jobs.close()
        wait_for(lambda: len(read_lines(os.path.join(r.dir, "ran"))) >= 4, 20, "4 jobs running")
        rd.cli("SHUTDOWN", "SAVE")
        rd.proc.wait(timeout=10)
        r.wait_line(r"^worker \| Redis is down \(", timeout=20)
        # the running jobs (1.5 s each) end while Redis is away
        down_for = time.monotonic() + 2.5
        wait_for(lambda: time.monotonic() >= down_for, 5, "Redis away for 2.5 s")
        rd.start()
        r.wait_line(r"^worker \| Redis is back: writing [1-9]\d* held outcomes?", timeout=30)
        jobs = Jobs(rd.url)
        for id_ in ids:
            j = job_state(jobs, id_, ("done", "dead"), 60, "job %d done" % id_)
            check(j["state"] == "done", j)
        check(r.stop() == 0, r.tail())
    jobs.close()


class Hooks(http.server.BaseHTTPRequestHandler):
    """The app: verifies Roster-Signature, answers by the payload's "answer"."""
    protocol_version = "HTTP/1.1"
    secret = b""
    seen = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sig = dict(p.split("=", 1) for p in self.headers.get("Roster-Signature", "").split(","))
        want = hmac.new(self.secret, sig.get("t", "").encode() + b"." + body,
                        hashlib.sha256).hexdigest()
        ok_sig = hmac.compare_digest(want, sig.get("v1", "")) and \
            abs(time.time() - int(sig.get("t", "0"))) < 300
        payload = json.loads(body)
        with self.lock:
            Hooks.seen.append({"t": time.monotonic(), "sig_ok": ok_sig, "payload": payload,
                               "path": self.path, "port": self.client_address[1],
                               "headers": {k.lower(): v for k, v in self.headers.items()}})
            tries = sum(1 for s in Hooks.seen if s["payload"] == payload)
        ans = payload.get("answer", 200)
        if ans == "429-once" and tries == 1:
            self.reply(429, b"slow down", {"Retry-After": "2"})
        elif ans == "429-once":
            self.reply(200, b"ok")
        elif not ok_sig:
            self.reply(401, b"bad signature")
        else:
            self.reply(int(ans), b"answer %d\nsecond line" % int(ans))

    def reply(self, code, body, headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def hooks_server(secret):
    """The app (Hooks) on a free port, with its secret and nothing seen yet."""
    Hooks.secret = secret
    Hooks.seen = []
    srv, _ = http_server(Hooks)
    return srv


def test_http_handler_signature_retry_after():
    rd = Redis()
    jobs = Jobs(rd.url)
    srv = hooks_server(b"whsec_e2e")
    port = srv.server_address[1]
    r = worker_roster(rd.url, "    handlers:\n      hook: {http: {url: \"http://127.0.0.1:%d/jobs\","
                      " headers: {X-App: roster}, secret: \"${JOB_SECRET}\"}, timeout: 10s}\n"
                      "    retry: {max_attempts: 3, backoff: {initial: 300ms, max: 5s}}\n" % port,
                      env={"JOB_SECRET": "whsec_e2e"})
    try:
        with r:
            r.wait_line(r"^worker \| worker ", timeout=20)
            ok = jobs.enqueue("hook", {"answer": 200, "x": "é"})
            j = job_state(jobs, ok, ("done", "dead"), 20, "the http job done")
            check(j["state"] == "done", j)
            s = [x for x in Hooks.seen if x["payload"].get("x") == "é"][0]
            check(s["sig_ok"], "signature verified by the app")
            h = s["headers"]
            check(h.get("roster-job-id") == str(ok) and h.get("roster-job-type") == "hook" and
                  h.get("roster-job-attempt") == "1" and h.get("x-app") == "roster" and
                  h.get("content-type") == "application/json" and s["path"] == "/jobs", h)

            later = jobs.enqueue("hook", {"answer": "429-once"})
            j = job_state(jobs, later, ("done", "dead"), 30, "the 429 job done")
            check(j["state"] == "done" and j["attempts"] == 2, j)
            t = [x["t"] for x in Hooks.seen if x["payload"] == {"answer": "429-once"}]
            check(len(t) == 2 and t[1] - t[0] >= 1.9, "Retry-After: 2 honoured: %r" % t)

            # one job after another (concurrency 1) over one kept-alive connection
            ids = [jobs.enqueue("hook", {"answer": 200, "k": k}) for k in range(5)]
            for id_ in ids:
                job_state(jobs, id_, ("done",), 20, "job %d done" % id_)
            ports = {x["port"] for x in Hooks.seen if "k" in x["payload"]}
            check(len(ports) == 1, "one connection for 5 jobs: ports %r" % ports)
            # plain http:// is roster's own client's: the worker has not loaded libcurl
            worker = [p for p in children(r.pid) if b"role" in cmdline(p)]
            check(len(worker) == 1 and not maps_libcurl(worker[0]),
                  "libcurl loaded in the worker for an http:// handler")

            bad = jobs.enqueue("hook", {"answer": 500}, max_attempts=1)
            j = job_state(jobs, bad, ("dead",), 30, "the 500 job dead")
            check(j["last_error"] == "HTTP 500: answer 500", j)
            check(r.stop() == 0, r.tail())
    finally:
        srv.shutdown()
        jobs.close()


def test_http_status_without_retry_after():
    """A 503 without Retry-After is a plain failure. The answer's Retry-After was once read from
    curl's handle after curlm had freed it (a crash under load; with MALLOC_PERTURB_ the freed
    handle read as a huge Retry-After and this 503 was retried instead of failing)."""
    rd = Redis()
    jobs = Jobs(rd.url)
    srv = hooks_server(b"k")
    r = worker_roster(rd.url, "    handlers:\n      hook: {http: {url: \"http://127.0.0.1:%d/\","
                      " secret: k}}\n    retry: {max_attempts: 1}\n" % srv.server_address[1],
                      env={"MALLOC_PERTURB_": "37"})
    try:
        with r:
            r.wait_line(r"^worker \| worker ", timeout=20)
            ids = [jobs.enqueue("hook", {"answer": 503, "n": i}) for i in range(5)]
            for id_ in ids:
                j = job_state(jobs, id_, ("dead",), 30, "the 503 job dead")
                check(j["last_error"] == "HTTP 503: answer 503", j)
            check(r.stop() == 0, r.tail())
    finally:
        srv.shutdown()
        jobs.close()


class RawApp:
    """An app on a raw socket, to answer as no library would: each connection is numbered and
    its requests read one after another; the payload's "mode" says how to answer: "ok" (200,
    Content-Length), "then-close" (200, then the server closes the idle connection), "drop-next"
    (200, and the next request on this connection is read and the connection closed without a
    byte of answer), "close" (200 with Connection: close, the socket left open: the client must
    close it), "chunked" (chunked 200, or the status in "status"), "slow" (no answer)."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.lock = threading.Lock()
        self.seen = []        # (connection number, payload)
        self.eof = set()      # connections the client closed
        self.nconn = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with self.lock:
                self.nconn += 1
                n = self.nconn
            threading.Thread(target=self.serve, args=(c, n), daemon=True).start()

    def serve(self, c, n):
        buf, drop_next = b"", False
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        with self.lock:
                            self.eof.add(n)
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                length = [int(l.split(b":", 1)[1]) for l in head.split(b"\r\n")
                          if l.lower().startswith(b"content-length:")][0]
                while len(buf) < length:
                    buf += c.recv(65536)
                payload, buf = json.loads(buf[:length]), buf[length:]
                with self.lock:
                    self.seen.append((n, payload))
                if drop_next:
                    return  # read, then closed without an answer
                mode = payload.get("mode", "ok")
                if mode == "slow":
                    time.sleep(5)
                    return
                if mode == "chunked":
                    st = payload.get("status", 200)
                    c.sendall(b"HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"6\r\nchunk \r\n4;x=y\r\nbody\r\n0\r\nX-T: 1\r\n\r\n" % st)
                    continue
                extra = b"Connection: close\r\n" if mode == "close" else b""
                c.sendall(b"HTTP/1.1 200 OK\r\n%sContent-Length: 2\r\n\r\nok" % extra)
                if mode == "then-close":
                    return
                if mode == "close":  # left open: the client is to close it
                    if not c.recv(1):
                        with self.lock:
                            self.eof.add(n)
                    return
                drop_next = mode == "drop-next"

    def conns(self, pred):
        with self.lock:
            return [n for n, p in self.seen if pred(p)]

    def close(self):
        self.srv.close()


def test_http_keepalive_edges():
    """Plain http:// on kept-alive connections (roster's own client, no libcurl), at the edges:
    the server closing an idle connection, a stale connection closed on a request without an
    answer (sent once more on a fresh one: jobs are at-least-once), Connection: close honoured,
    a chunked answer (the connection reused after it, a failure's chunked body said), and a
    slow server ended by the handler's timeout."""
    rd = Redis()
    jobs = Jobs(rd.url)
    app = RawApp()
    r = worker_roster(rd.url, "    handlers:\n      raw: {http: \"POST http://127.0.0.1:%d/j\","
                      " timeout: 1s}\n    retry: {max_attempts: 1}\n" % app.port)
    try:
        with r:
            r.wait_line(r"^worker \| worker ", timeout=20)

            def run_job(payload, state="done"):
                id_ = jobs.enqueue("raw", payload)
                j = job_state(jobs, id_, ("done", "dead"), 20, "job %r ended" % payload)
                check(j["state"] == state, (payload, j))
                return j

            # the server closes an idle kept-alive connection: the next job still succeeds
            run_job({"mode": "then-close", "k": 1})
            run_job({"mode": "ok", "k": 2})
            c1, c2 = app.conns(lambda p: p.get("k") == 1), app.conns(lambda p: p.get("k") == 2)
            check(c1 != c2, "a closed connection reused: %r %r" % (c1, c2))

            # kept alive: the next job on the same connection
            run_job({"mode": "ok", "k": 3})
            check(app.conns(lambda p: p.get("k") == 3) == c2, "not kept alive: %r" % app.seen)

            # a stale connection: the request is read, the connection closed without an
            # answer; it is sent once more on a fresh connection, and the job is done
            run_job({"mode": "drop-next", "k": 4})
            j = run_job({"mode": "ok", "k": 5})
            c5 = app.conns(lambda p: p.get("k") == 5)
            check(len(c5) == 2 and c5[0] != c5[1] and j["attempts"] == 1,
                  "stale connection not retried once on a fresh one: %r %r" % (c5, j))

            # Connection: close is honoured: the client closes it, the next job goes on a new one
            run_job({"mode": "close", "k": 6})
            c6 = app.conns(lambda p: p.get("k") == 6)[0]
            wait_for(lambda: c6 in app.eof, 5, "the client closing a Connection: close one")
            run_job({"mode": "ok", "k": 7})
            check(app.conns(lambda p: p.get("k") == 7)[0] != c6, "Connection: close reused")

            # a chunked answer, and the connection reused after it
            run_job({"mode": "chunked", "k": 8})
            run_job({"mode": "ok", "k": 9})
            check(app.conns(lambda p: p.get("k") == 8) == app.conns(lambda p: p.get("k") == 9),
                  "connection not reused after a chunked answer: %r" % app.seen)
            j = run_job({"mode": "chunked", "status": 500, "k": 10}, "dead")
            check(j["last_error"] == "HTTP 500: chunk body", j)

            # a slow server: the handler's timeout ends the request
            t0 = time.monotonic()
            j = run_job({"mode": "slow", "k": 11}, "dead")
            check(j["last_error"] == "timeout after 1s" and time.monotonic() - t0 < 4, j)
            run_job({"mode": "ok", "k": 12})

            worker = [p for p in children(r.pid) if b"role" in cmdline(p)]
            check(len(worker) == 1 and not maps_libcurl(worker[0]),
                  "libcurl loaded in the worker for an http:// handler")
            check(r.stop() == 0, r.tail())
    finally:
        app.close()
        jobs.close()


def test_https_handler_uses_libcurl():
    """https:// stays libcurl's: a refused connection fails the job in libcurl's words, and the
    worker has loaded libcurl (the sentinel that the maps checks above would see it)."""
    rd = Redis()
    jobs = Jobs(rd.url)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]  # bound, never listening: refused
    r = worker_roster(rd.url, "    handlers:\n      tls: {http: \"POST https://127.0.0.1:%d/\","
                      " timeout: 5s}\n    retry: {max_attempts: 1}\n" % port)
    try:
        with r:
            r.wait_line(r"^worker \| worker ", timeout=20)
            id_ = jobs.enqueue("tls", {})
            j = job_state(jobs, id_, ("dead",), 20, "the https job dead")
            check("127.0.0.1" in j["last_error"] and "HTTP" not in j["last_error"], j)
            worker = [p for p in children(r.pid) if b"role" in cmdline(p)]
            check(len(worker) == 1 and maps_libcurl(worker[0]), "libcurl not loaded for https://")
            check(r.stop() == 0, r.tail())
    finally:
        s.close()
        jobs.close()

def test_redis_refuses_writes():
    """Redis answers but refuses writes (a replica, read-only): the running job's outcome is
    kept and said once, the fetch of the next job fails and is said once; when Redis takes
    writes again the outcome is written and fetching goes on."""
    rd = Redis()
    jobs = Jobs(rd.url)
    r, id_ = slow_job_running(rd, jobs, "sleep 1; touch @DIR@/ended", "10s")
    with r:
        nxt = jobs.enqueue("slow")  # waits: concurrency 1
        check(rd.cli("REPLICAOF", "127.0.0.1", "1") == "OK", "Redis made a replica")
        try:
            r.wait_line(r"^worker \| cannot record the outcome of slow#%d \(Redis command failed: "
                        r".*READONLY.*\): kept, and tried again every 1s$" % id_, timeout=20)
            r.wait_line(r"^worker \| cannot fetch jobs \(Redis command failed: .*READONLY.*\)",
                        timeout=20)
        finally:
            rd.cli("REPLICAOF", "NO", "ONE")
        job_state(jobs, id_, ("done",), 20, "the held outcome written")
        r.wait_line(r"^worker \| fetching jobs again$", timeout=20)
        job_state(jobs, nxt, ("done",), 20, "the next job run")
        said = [l for l in r.output() if "cannot record the outcome" in l or
                "cannot fetch jobs" in l]
        check(len(said) == 2, "each said once: %r" % said)
        check(r.stop() == 0, r.tail())
    jobs.close()


def test_queue_weights():
    """queues: {light: 1, heavy: 3} with both full: heavy's jobs are taken about three times as
    often as light's (the weights reach the store's fetch)."""
    rd = Redis()
    jobs = Jobs(rd.url)
    ops = [("enqueue", {"queue": q, "type": "t", "payload": {}})
           for q in ("light", "heavy") for _ in range(300)]
    check(all(a.get("ok") for a in jobs.many(ops)), "enqueued")
    r = worker_roster(rd.url, "    queues: {light: 1, heavy: 3}\n    handlers:\n"
                      "      t: {command: \"sh -c 'echo $${ROSTER_JOB_QUEUE} >> @DIR@/order'\"}\n")
    with r:
        path = os.path.join(r.dir, "order")
        wait_for(lambda: len(read_lines(path)) >= 200, 60, "200 jobs run")
        first = read_lines(path)[:200]
        check(r.stop() == 0, r.tail())
    heavy, light = first.count("heavy"), first.count("light")
    # 3:1 expected (150:50); 1.8:1..6:1 is 3.5 standard deviations of 200 draws either side,
    # and equal weights (1:1) would be far outside
    check(light > 0 and 1.8 <= heavy / light <= 6.0, "heavy %d, light %d" % (heavy, light))
    jobs.close()


def test_reload_applies_worker_settings():
    """A reload that changes only the worker's settings (a handler's command here) restarts it
    with them (it reads them when it starts): the plan's fingerprint left them out, so the old
    handler ran on ("0 changed")."""
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    handlers:\n"
                      "      t: {command: \"sh -c 'echo one >> @DIR@/out'\"}\n")
    with r:
        path = os.path.join(r.dir, "out")
        jobs.enqueue("t")
        wait_for(lambda: read_lines(path) == ["one"], 60, "the first handler ran")
        with open(r.config_path) as f:
            text = f.read()
        with open(r.config_path, "w") as f:
            f.write(text.replace("echo one", "echo two"))
        r.send(signal.SIGHUP)
        r.wait_line(r"config reloaded: 1 changed", timeout=30)
        jobs.enqueue("t")
        wait_for(lambda: read_lines(path) == ["one", "two"], 60, "the new handler ran")
        check(r.stop() == 0, r.tail())
    jobs.close()


def test_eviction_policy_warning():
    """A Redis that may evict keys is said at start (and a safe one is not: the sentinel)."""
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    handlers:\n      x: {command: \"true\"}\n")
    with r:
        r.wait_line(r"^worker \| worker ", timeout=20)
        # the check is sent before the first fetch on the same connection: a job done says it
        # was answered
        job_state(jobs, jobs.enqueue("x"), ("done",), 20, "a job done")
        check(r.stop() == 0, r.tail())
    jobs.close()
    check(not [l for l in r.output() if "maxmemory-policy" in l], r.tail())
    rd.cli("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    r = worker_roster(rd.url, "    handlers:\n      x: {command: \"true\"}\n")
    with r:
        r.wait_line(r"^worker \| warning: Redis's maxmemory-policy is allkeys-lru, not "
                    r"noeviction: under memory pressure Redis may evict queued jobs$", timeout=20)
        check(r.stop() == 0, r.tail())


def test_config_errors():
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("roles:\n  worker:\n    builtin: worker\n    queues: {default: 0}\n"
                "    concurrency: 2000\n    handlers:\n      a: {command: x, http: \"POST http://x\"}\n"
                "      b: {command: x, timout: 5s}\n")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 2, (code, out, err))
    for want in ("roster.yaml:4:23: queue 'default' weight must be between 1 and 1000, not 0",
                 "roster.yaml:5:18: concurrency must be between 1 and 1024, not 2000",
                 "roster.yaml:7:7: handler 'a' needs one of command or http, not both",
                 "roster.yaml:8:23: unknown key 'timout' in a handler (did you mean 'timeout'?)",
                 "roster.yaml:2:3: role 'worker': builtin: worker needs redis: (its queues live "
                 "there)"):
        check(want in err, "missing %r in:\n%s" % (want, err))


if __name__ == "__main__":
    run(globals())
