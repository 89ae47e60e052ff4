"""The demo stack (config/demo.yaml), headless: real Postgres and Redis as roles, the locked
migration, the example app doing real work through both, pool sizes and PGAPPNAME seen by the
server, a clean shutdown that leaves nothing behind, a second start on the same data, and a
start after an interrupted first one. None of these normal runs shows an alarming line: no FATAL
or ERROR from the server (a probe connecting while it starts, roster's own connection while it
stops), no "cannot connect" from roster while the servers are still starting, and no event said
twice on the way up (the lock wait was)."""
import collections
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
        "DEMO_EVERY": "0.3",
        "DEMO_POISON_EVERY": "12",
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
    return Roster(None, args=["-c", os.path.join(SRC, "config", "demo.yaml")], env=env, cwd=SRC)


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
                 "job %d to be done by a worker" % job)
        by = sql(env, "SELECT done_by FROM jobs WHERE id = %d" % job)
        check(by in ("demo:worker:0", "demo:worker:1"), "done by a worker: %s" % by)
        wait_for(lambda: int(sql(env, "SELECT count(*) FROM jobs WHERE status = 'done'")) >= 5, 30,
                 "the scheduler's jobs to be done")
        # the server sees every role by its PGAPPNAME
        names = set(sql(env, "SELECT DISTINCT application_name FROM pg_stat_activity").split("\n"))
        for n in ("demo:api:0", "demo:worker:0", "demo:worker:1", "demo:scheduler:0", "demo:roster"):
            check(n in names, "%s in pg_stat_activity: %s" % (n, sorted(names)))
        ev = r.events("budget")[0]
        check(ev["usable"] == 19, "19 of 25 connections for the roles: %s" % ev["msg"])
        # an independent restart: a poison job crashes one worker, the api keeps its pid
        api = r.pids("api")
        r.wait_event("restarting", "worker", timeout=30,
                     where=lambda e: True)
        check(r.pids("api") == api, "the api was not restarted")
        pids = [e["pid"] for e in r.events("started")]
        check(r.stop(timeout=40) == 0, "a clean SIGTERM shutdown exits 0")
        stops = [e["subject"] for e in r.events("stopped")]
        check(stops.index("postgres") > max(stops.index("api"), stops.index("scheduler")),
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
