"""The built-in worker's job history in Postgres (issue 13, roster_jobs), against real Postgres
and Redis servers: a row per finished attempt — a job that succeeds, one that fails and is
retried until it dies (attempt numbers, outcomes, exit code, error), http jobs (status) — the
table created if absent; `history: {keep}` deleting an old row of the role's queues inserted by
hand and leaving another queue's; a worker whose Postgres share is 0 saying so once and keeping
none; Postgres stopped mid-run: jobs go on, it is said once, and rows are written again once it
is back; Postgres slower than the jobs (the table locked): rows past those that wait dropped, said
once, counted at exit."""
import http.server
import re
import time

from harness import check, http_server, run, run_roster, wait_for
from services import Postgres, Redis
from test_worker import job_state
from workerlib import Jobs, worker_roster

COLS = ("job_id", "queue", "type", "attempt", "outcome", "error", "exit_code", "http_status",
        "started", "finished", "duration_ms", "worker")
ROWS = ("SELECT job_id, queue, type, attempt, outcome, coalesce(error, '<null>'), "
        "coalesce(exit_code::text, '-'), coalesce(http_status::text, '-'), "
        "extract(epoch from started), extract(epoch from finished), duration_ms, worker "
        "FROM roster_jobs ORDER BY id")


def rows(pg):
    """roster_jobs as dicts ([] while the table is not there or Postgres is away)."""
    code, out = pg.psql(ROWS, check=False)
    if code != 0:
        return []
    res = []
    for line in out.splitlines():
        f = dict(zip(COLS, line.split("|")))
        for k in ("job_id", "attempt", "duration_ms"):
            f[k] = int(f[k])
        for k in ("started", "finished"):
            f[k] = float(f[k])
        res.append(f)
    return res


class App(http.server.BaseHTTPRequestHandler):
    """Answers a job's POST with the status its payload names."""

    def do_POST(self):
        import json
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        code = int(json.loads(body).get("answer", 200))
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no")

    def log_message(self, *a):
        pass


def test_rows_of_attempts_and_retention():
    pg = Postgres()
    rd = Redis()
    jobs = Jobs(rd.url)
    srv, hp = http_server(App)
    # old rows first: one of this role's queue past history.keep, one of a queue the role does
    # not take (another worker role's, kept for its own setting), one recent
    pg.psql("CREATE TABLE roster_jobs (id bigserial PRIMARY KEY, job_id bigint NOT NULL, queue "
            "text NOT NULL, type text NOT NULL, attempt int NOT NULL, outcome text NOT NULL, "
            "error text, exit_code int, http_status int, started timestamptz NOT NULL, finished "
            "timestamptz NOT NULL, duration_ms bigint NOT NULL, worker text NOT NULL)")
    for queue, days in (("default", 10), ("elsewhere", 10), ("default", 6)):
        pg.psql("INSERT INTO roster_jobs (job_id, queue, type, attempt, outcome, started, "
                "finished, duration_ms, worker) VALUES (0, '%s', 'old', 1, 'done', now() - "
                "interval '%d days', now() - interval '%d days', 5, 'old')" % (queue, days, days))
    r = worker_roster(rd.url, "    handlers:\n      ok: {command: \"true\"}\n"
                      "      flaky: {command: \"sh -c 'echo broken >&2; exit 3'\"}\n"
                      "      web: {http: \"http://127.0.0.1:%d/jobs\"}\n"
                      "    retry: {max_attempts: 3, backoff: {initial: 200ms, max: 400ms}}\n"
                      "    history: {keep: 7d}\n"
                      "  idle:\n    builtin: worker\n    postgres: false\n"
                      "    queues: [other]\n    handlers:\n      ok: {command: \"true\"}\n" % hp,
                      extra="postgres: {url: \"%s\"}\n" % pg.url)
    try:
        code, out, err = run_roster(["check", "-c", r.config_path])
        check(code == 0, out + err)
        check("    history: roster_jobs in Postgres, kept 168h, on 1 connection of its share\n"
              in out, out)
        check("    history: none: its Postgres share is 0 connections\n" in out, out)
        with r:
            r.wait_line(r"^worker \| history: each finished job attempt is a row of roster_jobs "
                        r"in Postgres, kept 168h$", timeout=30)
            r.wait_line(r"^idle +\| history: this role's Postgres share is 0 connections: no "
                        r"job history is kept \(roster_jobs\)$", timeout=30)
            # retention at start: the 10-day-old row of this role's queue goes, the others stay
            wait_for(lambda: sorted((x["queue"], x["worker"]) for x in rows(pg)
                                    if x["worker"] == "old") == [("default", "old"),
                                                                 ("elsewhere", "old")],
                     30, "the old row of queue default deleted")
            t0 = time.time()
            ok = jobs.enqueue("ok")
            flaky = jobs.enqueue("flaky")
            web = jobs.enqueue("web", {"answer": 200})
            web500 = jobs.enqueue("web", {"answer": 500}, max_attempts=1)
            nope = jobs.enqueue("nope")
            other = jobs.enqueue("ok", queue="other")
            for id_, st in ((ok, "done"), (flaky, "dead"), (web, "done"), (web500, "dead"),
                            (nope, "dead"), (other, "done")):
                job_state(jobs, id_, (st,), 40, "job %d %s" % (id_, st))
            want = 1 + 3 + 1 + 1 + 1
            wait_for(lambda: len([x for x in rows(pg) if x["worker"] != "old"]) >= want, 30,
                     "a row of every attempt")
            check(r.stop() == 0, r.tail())
        got = [x for x in rows(pg) if x["worker"] != "old"]
        check(len(got) == want, got)
        by = {}
        for x in got:
            by.setdefault(x["job_id"], []).append(x)
        check(other not in by, "the idle worker (share 0) keeps no history")
        o = by[ok]
        check(len(o) == 1 and o[0]["outcome"] == "done" and o[0]["attempt"] == 1, o)
        check(o[0]["exit_code"] == "0" and o[0]["http_status"] == "-" and
              o[0]["error"] == "<null>" and o[0]["queue"] == "default" and o[0]["type"] == "ok", o)
        f = by[flaky]
        check([(x["attempt"], x["outcome"]) for x in f] == [(1, "retry"), (2, "retry"),
                                                             (3, "dead")], f)
        check(all(x["exit_code"] == "3" and x["error"] == "exit 3" for x in f), f)
        check(f[1]["started"] >= f[0]["finished"] + 0.15, "the retry waited its backoff: %r" % f)
        w = by[web]
        check(len(w) == 1 and w[0]["outcome"] == "done" and w[0]["http_status"] == "200" and
              w[0]["exit_code"] == "-", w)
        w = by[web500]
        check(len(w) == 1 and w[0]["outcome"] == "dead" and w[0]["http_status"] == "500" and
              w[0]["error"] == "HTTP 500: no", w)
        n = by[nope]
        check(len(n) == 1 and n[0]["outcome"] == "dead" and
              n[0]["error"] == "no handler for type nope" and n[0]["exit_code"] == "-" and
              n[0]["duration_ms"] == 0, n)
        for x in got:
            check(t0 - 1 <= x["started"] <= x["finished"] <= time.time(), x)
            check(abs((x["finished"] - x["started"]) * 1000 - x["duration_ms"]) <= 50, x)
            check(x["worker"] == got[0]["worker"], x)
        check(re.match(r"^\S+:\d+:[0-9a-f]{8}$", got[0]["worker"]), got[0])
        old = [x for x in rows(pg) if x["worker"] == "old"]
        check(sorted(x["queue"] for x in old) == ["default", "elsewhere"], old)
        check(all(x["finished"] > time.time() - 7 * 86400 for x in old if x["queue"] == "default"),
              old)
    finally:
        srv.shutdown()
        jobs.close()
        pg.cleanup()
        rd.cleanup()


def test_postgres_down_mid_run():
    """Postgres stops while jobs run: they go on and are done, the outage is said once, and rows
    are written again once Postgres is back; at exit the rows not written are counted."""
    pg = Postgres()
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    concurrency: 4\n    handlers:\n      ok: {command: \"true\"}\n",
                      extra="postgres: {url: \"%s\"}\n" % pg.url)
    try:
        with r:
            r.wait_line(r"^worker \| history: each finished job attempt is a row", timeout=30)
            first = [jobs.enqueue("ok", {"k": k}) for k in range(5)]
            for id_ in first:
                job_state(jobs, id_, ("done",), 30, "job %d done" % id_)
            wait_for(lambda: len(rows(pg)) >= 5, 30, "rows while Postgres is up")
            pg.stop()
            # enough jobs to pass what may wait (1024): some rows are dropped
            ids = [x["id"] for x in jobs.many([("enqueue", {"queue": "default", "type": "ok",
                                                              "payload": {"n": n}})
                                                for n in range(1200)])]
            r.wait_line(r"^worker \| history: Postgres is unreachable \(.*\); jobs go on, up to "
                        r"1024 rows wait for it and more are dropped$", timeout=30)
            for id_ in ids[-1:] + ids[:1]:
                job_state(jobs, id_, ("done",), 120, "job %d done with Postgres away" % id_)
            check(all(jobs.get(i)["state"] == "done" for i in ids[::50]), "jobs done")
            said = [l for l in r.output() if "history: Postgres is unreachable" in l]
            check(len(said) == 1, said)
            pg.start()
            back = r.wait_line(r"^worker \| history: Postgres is reachable again; (\d+) rows? "
                               r"dropped meanwhile$", timeout=60)
            dropped = int(back.group(1))
            check(dropped >= 1200 - 1024, back.group(0))
            wait_for(lambda: len(rows(pg)) >= 5 + 1200 - dropped, 60, "the rows that waited")
            after = jobs.enqueue("ok", {"after": True})
            job_state(jobs, after, ("done",), 30, "a job after the outage")
            wait_for(lambda: any(x["job_id"] == after for x in rows(pg)), 30,
                     "its row written")
            check(r.stop() == 0, r.tail())
            bye = [l for l in r.output() if "of roster_jobs not written" in l]
            check(len(bye) == 1 and ("| history: %d rows of roster_jobs not written" % dropped)
                  in bye[0], (bye, dropped))
        # a row whose INSERT the server took as it went down may be written twice
        n = len(rows(pg))
        check(0 <= n + dropped - (5 + 1200 + 1) <= 1, (n, dropped))
    finally:
        jobs.close()
        pg.cleanup()
        rd.cleanup()


def test_postgres_behind():
    """Postgres up but slower than the jobs (the table locked by another session): jobs go on,
    rows past the 1024 that wait are dropped, said once; the rest are written once the lock
    goes, and the dropped ones are counted at exit."""
    import subprocess
    pg = Postgres()
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    concurrency: 4\n    handlers:\n      ok: {command: \"true\"}\n",
                      extra="postgres: {url: \"%s\"}\n" % pg.url)
    lock = None
    try:
        with r:
            r.wait_line(r"^worker \| history: each finished job attempt is a row", timeout=30)
            first = jobs.enqueue("ok")
            job_state(jobs, first, ("done",), 30, "the first job done")
            wait_for(lambda: len(rows(pg)) == 1, 30, "its row")
            lock = subprocess.Popen(["psql", pg.url, "-XAtq", "-c",
                                     "BEGIN; LOCK TABLE roster_jobs; SELECT pg_sleep(60)"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: pg.psql("SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
                                     "c.oid = l.relation WHERE c.relname = 'roster_jobs' AND "
                                     "l.mode = 'AccessExclusiveLock' AND l.granted")[1] == "1",
                     10, "the table locked")
            ids = [x["id"] for x in jobs.many([("enqueue", {"queue": "default", "type": "ok",
                                                              "payload": {"n": n}})
                                                for n in range(1200)])]
            r.wait_line(r"^worker \| history: jobs finish faster than Postgres takes their rows: "
                        r"past 1024 waiting, rows are dropped \(counted, said at exit\)$",
                        timeout=120)
            pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
                    "'BEGIN; LOCK TABLE roster_jobs%'")
            lock.wait(timeout=10)
            for id_ in ids[-1:] + ids[:1]:
                job_state(jobs, id_, ("done",), 120, "job %d done" % id_)
            check(all(jobs.get(i)["state"] == "done" for i in ids[::50]), "jobs done")
            # rows are written in order: once a later job's row is there, those before it are
            # written or dropped
            last = jobs.enqueue("ok", {"last": True})
            job_state(jobs, last, ("done",), 30, "the last job done")
            wait_for(lambda: any(x["job_id"] == last for x in rows(pg)), 60, "its row")
            check(r.stop() == 0, r.tail())
            check(len([l for l in r.output() if "jobs finish faster" in l]) == 1, r.tail())
            # a slow build may take the lock's wait past the 10 s a statement gets: the
            # connection is then taken for lost (said once) and the rows wait for the next one
            check(len([l for l in r.output() if "Postgres is unreachable" in l]) <= 1, r.tail())
            bye = r.wait_line(r"^worker \| history: (\d+) rows of roster_jobs not written",
                              timeout=1)
        n = len(rows(pg))
        check(n >= 1 + 1024, n)
        # an INSERT given up on as the lock held it may still be written once the lock goes
        check(0 <= n + int(bye.group(1)) - (1 + 1200 + 1) <= 1, (n, bye.group(0)))
    finally:
        if lock and lock.poll() is None:
            lock.kill()
            lock.wait()
        jobs.close()
        pg.cleanup()
        rd.cleanup()


if __name__ == "__main__":
    run(globals())
