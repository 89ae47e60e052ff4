#!/usr/bin/python3
"""The demo app: one script for the app's own roles, and the jobs roster's built-in roles run.

  app.py migrate     creates the tables (roster runs it once per start, under a Postgres lock)
  app.py api         a small JSON API on $PORT: POST /jobs[?kind=poison], GET /jobs/ID, GET /stats,
                     GET /health, and POST /internal/jobs/TYPE, where roster's built-in worker
                     delivers jobs (http handler), each signed with DEMO_JOB_SECRET and verified
  app.py worker      the app's own consumer of its Redis list: does the api's jobs, records them
                     in Postgres, and crashes on a poison one (to show roster restarting just it)
  app.py job         one job of roster's built-in worker (command handler): the payload on stdin,
                     ROSTER_JOB_ID/TYPE/ATTEMPT in the environment; a 'poison' job always fails
  app.py nightly     the nightly clean-up the built-in scheduler runs (command action)

(roster's built-in scheduler, in config/demo.yaml, replaced the app's own scheduler role.)

Every role sizes its Postgres pool from ROSTER_PG_POOL_SIZE, which roster computes from the
server's max_connections, and is named in pg_stat_activity by PGAPPNAME (demo:app-worker:0 ...).
The worker says READY=1 over sd_notify once connected.
Dependencies: Debian's python3-psycopg2 and python3-redis.
"""
import hashlib
import hmac
import json
import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import psycopg2.pool
import redis

DB = os.environ["DATABASE_URL"]
SECRET = os.environ.get("DEMO_JOB_SECRET", "").encode()
QUEUE = "demo:jobs"
POOL = max(1, int(os.environ.get("ROSTER_PG_POOL_SIZE", "2")))
WHO = os.environ.get("PGAPPNAME", "demo")
stopping = False


def log(msg):
    print(msg, flush=True)


def sd_notify(msg):
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(msg.encode(), addr)
    finally:
        s.close()


def on_term(signum, frame):
    global stopping
    stopping = True


def rconn():
    return redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5)


def migrate():
    with psycopg2.connect(DB) as conn, conn.cursor() as cur:
        cur.execute("""
            CREATE TABLE IF NOT EXISTS jobs (
                id         bigserial PRIMARY KEY,
                kind       text NOT NULL,
                status     text NOT NULL DEFAULT 'queued',
                created_at timestamptz NOT NULL DEFAULT now(),
                done_at    timestamptz,
                done_by    text
            );
            CREATE TABLE IF NOT EXISTS migrations (
                id     bigserial PRIMARY KEY,
                ran_at timestamptz NOT NULL DEFAULT now(),
                ran_by text NOT NULL DEFAULT current_setting('application_name')
            );
            CREATE TABLE IF NOT EXISTS job_runs (
                id         bigserial PRIMARY KEY,
                roster_job bigint NOT NULL,
                type       text NOT NULL,
                attempt    int NOT NULL,
                via        text NOT NULL,
                payload    text NOT NULL,
                done_at    timestamptz NOT NULL DEFAULT now()
            );
            INSERT INTO migrations DEFAULT VALUES RETURNING id;
        """)
        n = cur.fetchone()[0]
    log("migrations applied (run #%d)" % n)


def enqueue(pool, r, kind):
    conn = pool.getconn()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO jobs (kind) VALUES (%s) RETURNING id", (kind,))
            job = cur.fetchone()[0]
    finally:
        pool.putconn(conn)
    r.lpush(QUEUE, job)
    return job


def api():
    pool = psycopg2.pool.ThreadedConnectionPool(1, POOL, DB)
    r = rconn()

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, obj):
            body = (json.dumps(obj) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def query(self, sql, args=()):
            conn = pool.getconn()
            try:
                with conn, conn.cursor() as cur:
                    cur.execute(sql, args)
                    return cur.fetchall()
            finally:
                pool.putconn(conn)

        def do_GET(self):
            try:
                if self.path == "/health":
                    self.query("SELECT 1")
                    r.ping()
                    return self.reply(200, {"status": "ok"})
                if self.path == "/stats":
                    rows = self.query("SELECT status, count(*) FROM jobs GROUP BY 1")
                    return self.reply(200, {"jobs": dict(rows), "queued_in_redis": r.llen(QUEUE),
                                            "pool": POOL})
                if self.path.startswith("/jobs/"):
                    rows = self.query("SELECT id, kind, status, done_by FROM jobs WHERE id = %s",
                                      (int(self.path[6:]),))
                    if not rows:
                        return self.reply(404, {"error": "no such job"})
                    return self.reply(200, dict(zip(("id", "kind", "status", "done_by"), rows[0])))
                self.reply(404, {"error": "try POST /jobs, GET /jobs/ID, GET /stats"})
            except (ValueError, psycopg2.Error, redis.RedisError) as e:
                self.reply(503, {"error": str(e).strip()})

        def do_POST(self):
            if self.path.startswith("/internal/jobs/"):
                return self.roster_job(self.path[len("/internal/jobs/"):])
            kinds = {"/jobs": "api", "/jobs?kind=poison": "poison"}
            if self.path not in kinds:
                return self.reply(404, {"error": "try POST /jobs"})
            try:
                job = enqueue(pool, r, kinds[self.path])
                self.reply(201, {"id": job})
            except (psycopg2.Error, redis.RedisError) as e:
                self.reply(503, {"error": str(e).strip()})

        def roster_job(self, kind):
            """A job delivered by roster's built-in worker (an http handler): the body is the
            payload, Roster-Signature is t=UNIX,v1=hex(HMAC-SHA256(secret, "t." + body))."""
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = dict(kv.split("=", 1) for kv in
                         (self.headers.get("Roster-Signature") or "").split(",") if "=" in kv)
            want = hmac.new(SECRET, parts.get("t", "").encode() + b"." + body,
                            hashlib.sha256).hexdigest()
            if not hmac.compare_digest(parts.get("v1", ""), want) or \
                    abs(time.time() - int(parts.get("t", "0") or 0)) > 300:
                return self.reply(401, {"error": "bad or missing Roster-Signature"})
            try:
                json.loads(body)
                self.query("INSERT INTO job_runs (roster_job, type, attempt, via, payload) "
                           "VALUES (%s, %s, %s, 'http', %s) RETURNING id",
                           (int(self.headers["Roster-Job-Id"]), kind,
                            int(self.headers["Roster-Job-Attempt"]), body.decode()))
            except (KeyError, ValueError) as e:
                return self.reply(400, {"error": "not a job: %s" % e})
            except psycopg2.Error as e:
                return self.reply(503, {"error": str(e).strip()})
            log("did roster job %s (%s), signature verified" % (self.headers["Roster-Job-Id"], kind))
            self.reply(200, {"ok": True})

        def log_message(self, fmt, *args):
            log("%s %s" % (self.command, self.path))

    port = int(os.environ["PORT"])
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    log("api listening on http://127.0.0.1:%d (Postgres pool of %d)" % (port, POOL))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        log("api stopping")


def worker():
    signal.signal(signal.SIGTERM, on_term)
    conn = psycopg2.connect(DB)
    conn.autocommit = True
    r = rconn()
    r.ping()
    done = 0
    sd_notify("READY=1\nSTATUS=waiting for jobs")
    log("worker ready (Postgres pool of %d)" % POOL)
    while not stopping:
        item = r.brpop(QUEUE, timeout=1)
        if not item:
            continue
        job = int(item[1])
        with conn.cursor() as cur:
            cur.execute("SELECT kind FROM jobs WHERE id = %s", (job,))
            row = cur.fetchone()
            if not row:
                continue
            if row[0] == "poison":
                cur.execute("UPDATE jobs SET status = 'crashed', done_at = now(), done_by = %s "
                            "WHERE id = %s", (WHO, job))
                log("job %d is poison: crashing on purpose; roster restarts only this worker"
                    % job)
                sys.exit(1)
            time.sleep(0.05)  # the work
            cur.execute("UPDATE jobs SET status = 'done', done_at = now(), done_by = %s "
                        "WHERE id = %s", (WHO, job))
        done += 1
        log("processed job %d (%s)" % (job, row[0]))
        sd_notify("STATUS=processed %d jobs" % done)
    log("worker drained; bye")


def job():
    """One job of roster's built-in worker: exit 0 is done, anything else a failed attempt."""
    payload = sys.stdin.read()
    jid, kind = int(os.environ["ROSTER_JOB_ID"]), os.environ["ROSTER_JOB_TYPE"]
    attempt = int(os.environ["ROSTER_JOB_ATTEMPT"])
    if kind == "poison":
        log("job %d is poison: failing on purpose (attempt %d); roster retries it, then it is dead"
            % (jid, attempt))
        sys.exit(3)
    with psycopg2.connect(DB) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO job_runs (roster_job, type, attempt, via, payload) "
                    "VALUES (%s, %s, %s, 'command', %s)", (jid, kind, attempt, payload))
    log("did job %d (%s) with payload %s" % (jid, kind, payload.strip()))


def nightly():
    """The nightly clean-up: forget what is older than a week."""
    with psycopg2.connect(DB) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM job_runs WHERE done_at < now() - interval '7 days'")
        runs = cur.rowcount
        cur.execute("DELETE FROM jobs WHERE done_at < now() - interval '7 days'")
        log("nightly clean-up: %d job runs and %d jobs older than a week removed (run of %s)"
            % (runs, cur.rowcount, os.environ.get("ROSTER_SCHEDULED_AT", "now")))


if __name__ == "__main__":
    roles = {"migrate": migrate, "api": api, "worker": worker, "job": job, "nightly": nightly}
    if len(sys.argv) != 2 or sys.argv[1] not in roles:
        sys.exit("usage: app.py migrate|api|worker|job|nightly")
    roles[sys.argv[1]]()
