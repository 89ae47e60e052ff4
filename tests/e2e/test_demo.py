"""The demo stack (config/demo.yaml), headless: real Postgres and Redis as roles, the locked
migration, the example app doing real work through both, pool sizes and PGAPPNAME seen by the
server, roster's built-in roles at work (the scheduler's runs, jobs through the worker's command
and signed http handlers, a poison job retried until dead, the jobs API behind its token, a
schedule triggered through it), the app's worker crashing alone and coming back, a clean
shutdown that leaves nothing behind, a second start on the same data, and a start after an
interrupted first one. None of these normal runs shows an alarming line: no FATAL
or ERROR from the server (a probe connecting while it starts, roster's own connection while it
stops), no "cannot connect" from roster while the servers are still starting, and no event said
twice on the way up (the lock wait was)."""
import collections
import http.client
import json
import os
import pwd
import re
import shutil
import subprocess

from harness import (ROSTER, SRC, Roster, check, free_port, http_get, pid_exists, run, tmpdir,
                     wait_for)


def demo_env(d):
    env = {
        "DEMO_DIR": d,
        "DEMO_PG_PORT": str(free_port()),
        "DEMO_REDIS_PORT": str(free_port()),
        "ROSTER_HEALTH_PORT": str(free_port()),
        "PORT": str(free_port()),
        "DEMO_API_PORT": str(free_port()),
        # the schedules and retries shortened, so that each shows itself within seconds
        "DEMO_REPORT_CRON": "@every 2s",
        "DEMO_HEARTBEAT_EVERY": "2s",
        "DEMO_CRASH_EVERY": "4s",
        "DEMO_RETRY_INITIAL": "300ms",
    }
    os.makedirs(os.path.join(d, "pg"), exist_ok=True)
    if os.geteuid() == 0:
        env["DEMO_PG_USER"] = "nobody"
        nb = pwd.getpwnam("nobody")
        for root, dirs, files in os.walk(os.path.join(d, "pg")):
            os.chown(root, nb.pw_uid, nb.pw_gid)
            for f in dirs + files:
                os.chown(os.path.join(root, f), nb.pw_uid, nb.pw_gid)
        os.chmod(d, 0o755)
    return env


def sql(env, query):
    p = subprocess.run(["psql", "-XAtq", "-h", "127.0.0.1", "-p", env["DEMO_PG_PORT"], "-U", "demo",
                        "-d", "postgres", "-c", query], capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        raise AssertionError("psql %r: %s" % (query, p.stderr))
    return p.stdout.strip()


def start(env):
    # the demo's own defaults for the token and the signing secret, whatever the host has set
    return Roster(None, args=["-c", os.path.join(SRC, "config", "demo.yaml")], env=env, cwd=SRC,
                  unset=("ROSTER_API_TOKEN", "DEMO_JOB_SECRET"))


TOKEN = "demo-token"  # config/demo.yaml's default, which the README's curl examples use


def jobs_api(env, method, path, body=None, token=TOKEN):
    """(status, parsed JSON answer) from the demo's jobs API (the builtin api role)."""
    c = http.client.HTTPConnection("127.0.0.1", int(env["DEMO_API_PORT"]), timeout=10)
    try:
        headers = {"Authorization": "Bearer " + token} if token else {}
        data = json.dumps(body) if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read().decode()
        return r.status, (json.loads(text) if text else None)
    finally:
        c.close()


def job_state(env, job):
    st, j = jobs_api(env, "GET", "/jobs/%s" % job)
    check(st == 200, "GET /jobs/%s: %d %r" % (job, st, j))
    return j


def readme_curls():
    """The README's curl lines for the demo (the sh block after "In another terminal:")."""
    with open(os.path.join(SRC, "README.md")) as f:
        text = f.read()
    m = re.search(r"In another terminal:\n\n```sh\n(.*?)^```", text, re.S | re.M)
    check(m is not None, "the README's demo paragraph has its curl block")
    return m.group(1)


def check_readme_curls(env):
    """Each curl line of the README's demo paragraph, on this demo's ports, answers 2xx."""
    block = readme_curls()
    check(block.count("curl ") >= 5 and "58081" in block and "demo-token" in block, block)
    script = ("set -e\ncurl() { command curl -sS --fail --max-time 10 \"$@\"; echo; }\n" +
              block.replace("58080", env["PORT"]).replace("58081", env["DEMO_API_PORT"]))
    p = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "the README's curl lines (exit %d):\n%s%s" % (p.returncode, p.stdout,
                                                                        p.stderr))
    out = p.stdout
    check('"schedule":"nightly"' in out and '"next_cursor"' in out and '"state":"queued"' in out,
          "the README's curl lines answered:\n" + out)


def check_builtin_roles(r, env):
    """The built-in scheduler, worker and api of config/demo.yaml do what the README says."""
    # the api answers with the token, and not without it (nor with another)
    st, j = jobs_api(env, "GET", "/queues", token=None)
    check(st == 401, "the jobs API without a token: %d %r" % (st, j))
    st, j = jobs_api(env, "GET", "/queues", token="not-" + TOKEN)
    check(st == 401, "the jobs API with a wrong token: %d %r" % (st, j))
    st, j = jobs_api(env, "GET", "/queues")
    check(st == 200, "the jobs API with the demo's token: %d %r" % (st, j))
    # the scheduler's enqueue action puts a report job on the queue, and the worker's command
    # handler (app.py job) does it: a row in Postgres with the payload it read on stdin (rows of
    # this start only: the table outlives a start, Redis's job ids do not)
    since = int(sql(env, "SELECT coalesce(max(id), 0) FROM job_runs"))
    wait_for(lambda: int(sql(env, "SELECT count(*) FROM job_runs WHERE type = 'report' AND "
                                  "via = 'command' AND id > %d" % since)) >= 1, 30,
             "a scheduled report job done by the worker's command handler")
    payload = json.loads(sql(env, "SELECT payload FROM job_runs WHERE type = 'report' AND "
                                  "id > %d ORDER BY id LIMIT 1" % since))
    check(payload == {"source": "scheduler", "period": "1m"}, "the payload on stdin: %r" % payload)

    def last_run(name):
        st, j = jobs_api(env, "GET", "/schedules")
        check(st == 200, "GET /schedules: %d %r" % (st, j))
        s = [x for x in j["schedules"] if x["name"] == name]
        check(len(s) == 1, "schedule %s in GET /schedules: %r" % (name, j))
        return (s[0].get("last_runs") or [None])[0]
    wait_for(lambda: (last_run("report") or {}).get("outcome") == "ok", 15,
             "the report schedule's last run, ok, in GET /schedules")
    # the http heartbeat reaches the app's api (the api's port from the environment, not the
    # default: config/demo.yaml passes it to the built-in roles as DEMO_APP_PORT)
    wait_for(lambda: (last_run("heartbeat") or {}).get("http_status") == 200, 15,
             "the heartbeat's last run, HTTP 200, in GET /schedules")
    # a job enqueued through the api goes to the app over http, signed; the app verifies the
    # signature (and refuses a request without one: the check is real)
    st, j = jobs_api(env, "POST", "/jobs", {"queue": "default", "type": "notify",
                                           "payload": {"to": "ops", "text": "hello"}})
    check(st == 201, "POST /jobs notify: %d %r" % (st, j))
    notify = j["id"]
    wait_for(lambda: job_state(env, notify)["state"] == "done", 20, "the notify job to be done")
    rows = sql(env, "SELECT via, type, attempt FROM job_runs WHERE roster_job = %d AND id > %d"
               % (int(notify), since))
    check(rows == "http|notify|1", "the app recorded the signed call once: %r" % rows)
    st, body, _ = http_get("http://127.0.0.1:%s/internal/jobs/notify" % env["PORT"], method="POST",
                           headers={"Roster-Job-Id": "1", "Roster-Job-Attempt": "1"})
    check(st == 401, "the app refuses an unsigned job: %d %s" % (st, body))
    # a poison job fails, is retried with backoff, and ends in the dead list after 3 attempts
    st, j = jobs_api(env, "POST", "/jobs", {"queue": "default", "type": "poison", "payload": {}})
    check(st == 201, "POST /jobs poison: %d %r" % (st, j))
    poison = j["id"]
    wait_for(lambda: job_state(env, poison)["state"] == "dead", 30, "the poison job to be dead")
    j = job_state(env, poison)
    check(j["attempts"] == 3 and "exit 3" in (j["last_error"] or ""),
          "dead after its 3 attempts, with the last error: %r" % j)
    st, j = jobs_api(env, "GET", "/jobs?state=dead")
    check(st == 200 and poison in [x["id"] for x in j["jobs"]], "in the dead list: %r" % j)
    for n in (1, 2):
        r.wait_line(r"poison#%s.*failed \(attempt %d of 3\)" % (poison, n), timeout=5)
    # a schedule triggered through the api runs now: the nightly command, in its zone
    st, j = jobs_api(env, "POST", "/schedules/nightly/trigger")
    check(st == 202, "POST /schedules/nightly/trigger: %d %r" % (st, j))
    wait_for(lambda: (last_run("nightly") or {}).get("outcome") == "ok", 20,
             "the triggered nightly run, ok")
    r.wait_line(r"nightly clean-up: \d+ job runs", timeout=5)
    check_readme_curls(env)


def leftovers(d):
    """Processes whose command line or working directory points into the demo directory."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink("/proc/%s/cwd" % p)
        except OSError:
            continue
        if d in cmd or cwd.startswith(d):
            out.append((int(p), cmd))
    return out


def alarming(out):
    """The lines a new user would take for trouble, and the roster events said twice while the
    stack came up."""
    bad = [l for l in out if re.search(r"\b(FATAL|ERROR|PANIC)\b|cannot connect", l)]
    starting = []
    for l in out:
        try:
            e = json.loads(l)
        except ValueError:
            continue
        if e.get("role") != "roster":
            continue
        if e.get("event") == "started" and e.get("subject") == "scheduler":
            break
        starting.append(e["msg"])
    twice = [m for m, n in collections.Counter(starting).items() if n > 1]
    return bad, twice


def run_demo_once(env, expect_runs):
    with start(env) as r:
        base = "http://127.0.0.1:%s" % env["ROSTER_HEALTH_PORT"]

        def ready():
            try:
                return http_get(base + "/readyz", timeout=2)[0] == 200
            except OSError:
                return False
        wait_for(ready, 90, "/readyz to answer 200")
        check(r.events("locked", "migrate"), "migrate ran under the postgres lock")
        check(len(r.events("exited", "migrate")) == 1, "migrate ran once in this start")
        runs = int(sql(env, "SELECT count(*) FROM migrations"))
        check(runs == expect_runs, "migrations table has %d runs, expected %d" % (runs, expect_runs))
        # real work through Redis and Postgres
        st, body, _ = http_get("http://127.0.0.1:%s/jobs" % env["PORT"], method="POST")
        check(st == 201, "the api enqueues: %d %s" % (st, body))
        job = __import__("json").loads(body)["id"]
        wait_for(lambda: sql(env, "SELECT status FROM jobs WHERE id = %d" % job) == "done", 20,
                 "job %d to be done by the app's worker" % job)
        by = sql(env, "SELECT done_by FROM jobs WHERE id = %d" % job)
        check(by == "demo:app-worker:0", "done by the app's worker: %s" % by)
        # the server sees every role that holds a connection by its PGAPPNAME
        # (the app's worker may be between a crash and its restart: waited for)
        want = {"demo:api:0", "demo:app-worker:0", "demo:roster"}

        def names():
            return set(sql(env, "SELECT DISTINCT application_name FROM pg_stat_activity")
                       .split("\n"))
        wait_for(lambda: want <= names(), 10, "%s in pg_stat_activity" % sorted(want))
        ev = r.events("budget")[0]
        check(ev["usable"] == 19, "19 of 25 connections for the roles: %s" % ev["msg"])
        api, builtins = r.pids("api"), {n: r.pids(n) for n in ("scheduler", "worker", "jobs-api")}
        check(all(builtins.values()), "the built-in roles run: %r" % builtins)
        check_builtin_roles(r, env)
        # an independent restart: the scheduler's crash drill (a poison job for the app's worker)
        # crashes it; roster restarts it alone: the api and the built-in roles keep their pids
        r.wait_event("restarting", "app-worker", timeout=30)
        r.wait_event("ready", "app-worker", count=2, timeout=30)
        check(r.pids("api") == api, "the api was not restarted")
        check({n: r.pids(n) for n in builtins} == builtins, "the built-in roles were not restarted")
        pids = [e["pid"] for e in r.events("started")]
        check(r.stop(timeout=40) == 0, "a clean SIGTERM shutdown exits 0")
        stops = [e["subject"] for e in r.events("stopped")]
        check(stops.index("postgres") > max(stops.index(n) for n in ("api", "app-worker",
                                                                     "scheduler", "worker")),
              "postgres stops after the roles that use it: %s" % stops)
        check(not [p for p in pids if pid_exists(p)], "no role process is left")
        check(not leftovers(env["DEMO_DIR"]), "nothing left running: %s" % leftovers(env["DEMO_DIR"]))
        out = r.output()
        # the server's own lines reach the output (so a FATAL among them would be seen)
        check(any("database system is ready to accept connections" in l for l in out) and
              any("database system is shut down" in l for l in out), "the server's log is shown")
        bad, twice = alarming(out)
        check(not bad, "no alarming line on a normal run:\n" + "\n".join(bad))
        check(not twice, "no event said twice on the way up: %r" % twice)
        return out


def test_demo_twice_in_a_row():
    d = tmpdir()
    env = demo_env(d)
    out = run_demo_once(env, expect_runs=1)
    check(any("first run: creating the database cluster" in l for l in out), "initdb on first run")
    out = run_demo_once(env, expect_runs=2)
    check(any("reusing the database cluster" in l for l in out), "the second start reuses the data")


def test_demo_config_checks_without_demo_dir():
    """`roster check -c config/demo.yaml` works as it comes, without scripts/demo.sh's DEMO_DIR."""
    env = dict(os.environ)
    env.pop("DEMO_DIR", None)
    p = subprocess.run([ROSTER, "check", "-c", os.path.join(SRC, "config", "demo.yaml")],
                       capture_output=True, text=True, env=env, timeout=60)
    check(p.returncode == 0 and p.stdout.rstrip().endswith("ok"),
          "roster check without DEMO_DIR: exit %d\n%s" % (p.returncode, p.stderr))
    check("/tmp/roster-demo/roster.sock" in p.stdout, "the default data directory: " + p.stdout)


def test_demo_after_interrupted_first_start():
    d = tmpdir()
    os.makedirs(os.path.join(d, "pg", "data", "base"))
    with open(os.path.join(d, "pg", "data", "PG_VERSION"), "w") as f:
        f.write("15\n")  # what an initdb cut short leaves: no 'initialized' marker
    env = demo_env(d)
    out = run_demo_once(env, expect_runs=1)
    check(any("first run: creating the database cluster" in l for l in out),
          "the half-made cluster is created again")


if __name__ == "__main__":
    if not shutil.which("psql") or not os.path.exists("/usr/bin/python3"):
        raise SystemExit("the demo test needs psql and /usr/bin/python3 (scripts/install-deps.sh --test)")
    run(globals())
