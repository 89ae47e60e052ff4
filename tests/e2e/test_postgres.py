"""The Postgres connection budget against a real server: auto from pg_settings, shares handed to
roles, attribution by application_name, over-share warnings, locked migrations across several
rosters, wait_for, and the server going away and coming back."""
import json
import os
import signal
import threading
import time

from harness import (Roster, check, free_port, http_get, run, run_roster, tmpdir, wait_for)
from services import Postgres

ENV_VARS = ["ROSTER_PG_POOL_SIZE", "DB_POOL_SIZE", "PGAPPNAME", "DATABASE_URL"]


def child_env(r, label):
    """NAME=value (or NAME unset) lines printed by `rtest-child env`, for one role instance."""
    out = {}
    role, _, inst = label.partition(".")
    for rec in r.records():
        if rec.get("role") != role or (inst and rec.get("instance") != int(inst)):
            continue
        msg = rec.get("msg", "")
        if "=" in msg:
            k, v = msg.split("=", 1)
            out[k] = v
        elif msg.endswith(" unset"):
            out[msg[:-6]] = "unset"
    return out


def test_auto_budget_is_shared_and_handed_over():
    pg = Postgres(max_connections=25)
    url = pg.url + "?connect_timeout=5&connection_limit=5&pool_max_conns=9"
    cfg = """
app: shop
postgres:
  url: "%s"
  budget: auto
  headroom: 0
  instances: {api: 2}
roles:
  api:
    command: [@CHILD@, env, %s]
    postgres: {weight: 3, url_param: connection_limit}
  worker:
    command: [@CHILD@, env, %s]
    instances: 2
    postgres: {weight: 2, pool_env: [DB_POOL_SIZE]}
  static:
    command: [@CHILD@, env, PGAPPNAME, ROSTER_PG_POOL_SIZE]
    postgres: false
""" % (url, ", ".join(ENV_VARS), ", ".join(ENV_VARS))
    with Roster(cfg, env={"DATABASE_URL": url}) as r:
        ev = r.wait_event("budget", timeout=20)[0]
        check(ev["usable"] == 22 and ev["max_connections"] == 25, ev)
        check("api 7 each (2 copies), worker 4 each (2 copies)" in ev["msg"], ev["msg"])
        wait_for(lambda: len(child_env(r, "worker.1")) == 4 and len(child_env(r, "api")) == 4, 10,
                 "env printed")
        check(len(r.pids("api")) == 1, "postgres.instances counts fleet copies, not local ones")
        api = child_env(r, "api")
        check(api["ROSTER_PG_POOL_SIZE"] == "7", api)
        check(api["PGAPPNAME"] == "shop:api:0", api)
        check(api["DATABASE_URL"] ==
              pg.url + "?connect_timeout=5&connection_limit=7&pool_max_conns=9",
              "url_param rewrites the role's URL: %s" % api["DATABASE_URL"])
        check(api["DB_POOL_SIZE"] == "unset", "pool_env is per role: %s" % api)
        w1 = child_env(r, "worker.1")
        check(w1["ROSTER_PG_POOL_SIZE"] == "4" and w1["DB_POOL_SIZE"] == "4", w1)
        check(w1["PGAPPNAME"] == "shop:worker:1", w1)
        check(w1["DATABASE_URL"] == url, "without url_param the URL is left as written: %s" % w1)
        st = wait_for(lambda: len(child_env(r, "static")) == 2 and child_env(r, "static"), 5,
                      "static's env")
        check(st == {"PGAPPNAME": "unset", "ROSTER_PG_POOL_SIZE": "unset"},
              "postgres: false roles get neither: %s" % st)
        notes = [e["msg"] for e in r.events("note")]
        check(any("connection_limit, pool_max_conns" in n for n in notes),
              "roster strips what libpq rejects from its own URL: %s" % notes)
        check(r.events("postgres_up"), "roster's own connection works despite those parameters")
        r.stop()
    pg.cleanup()


def test_reload_after_the_server_answered_plans_with_its_budget():
    """The budget read from the server is a new plan; a reload's plan gets it before it runs, so
    changed weights restart the roles with their new shares and nothing waits for the server."""
    pg = Postgres(max_connections=25)
    cfg = """
app: shop
postgres:
  url: "%s"
  budget: auto
  headroom: 0
roles:
  api:
    command: [@CHILD@, env, ROSTER_PG_POOL_SIZE]
    postgres: {weight: %d}
  worker:
    command: [@CHILD@, env, ROSTER_PG_POOL_SIZE]
  side:
    command: [@CHILD@, sleep, "1000"]
    postgres: false
"""
    pool = lambda r, role: child_env(r, role).get("ROSTER_PG_POOL_SIZE")
    with Roster(cfg % (pg.url, 1)) as r:
        r.wait_event("budget", timeout=20)
        # 25 - 3 reserved = 22 usable, weights 1:1
        wait_for(lambda: pool(r, "api") == "11" and pool(r, "worker") == "11", 10, "first pools")
        side = r.pids("side")
        waited = [e for e in r.events("waiting") if "budget" in e["msg"]]
        with open(r.config_path, "w") as f:
            f.write(cfg.replace("@CHILD@", __import__("harness").CHILD) % (pg.url, 10))
        r.send(signal.SIGHUP)
        msg = r.wait_event("reloaded")[0]["msg"]
        check("2 changed, 0 added, 0 removed, 1 unchanged" in msg, msg)
        # weights 10:1 of the same 22
        wait_for(lambda: pool(r, "api") == "20" and pool(r, "worker") == "2", 10, "new pools")
        check(r.pids("side") == side, "a role outside the budget is not restarted")
        waits = [e for e in r.events("waiting") if "budget" in e["msg"]]
        check(waited and waits == waited, "after the reload nothing waits for the budget: %s" % waits)
        check(len(r.events("budget")) == 1, "the server was read once")
        r.stop()
    pg.cleanup()


def test_budget_command_and_check():
    pg = Postgres(max_connections=25)
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("""
app: shop
postgres:
  url: %s
  budget: auto
  headroom: 3
  instances: {api: 2, worker: 1}
roles:
  migrate:
    kind: oneshot
    command: migrate
  api:
    command: api
    postgres: {weight: 3}
  worker:
    command: worker
    instances: 2
    postgres: {weight: 2}
  cron:
    command: cron
    postgres: {connections: 2}
""" % pg.url)
    code, out, err = run_roster(["budget", "-c", path])
    check(code == 0, err)
    lines = out.strip().split("\n")
    check(lines[0] == "postgres budget for shop: 19 usable (from the server: max_connections 25 "
          "- superuser_reserved 3 - reserved 0 - headroom 3)", lines[0])
    rows = [l.split() for l in lines[2:-1]]
    # fixed cron takes 2; 17 left by weight per copy: api 3 (×2), worker 2 (×2): W = 10
    # api 17*3/10 = 5.1 -> 5, worker 17*2/10 = 3.4 -> 3; used 2+10+6 = 18; leftover 1 fits none
    check(rows == [["api", "2", "3", "5", "10", "52.6%"], ["worker", "2", "2", "3", "6", "31.6%"],
                   ["cron", "1", "fixed", "2", "2", "10.5%"]], rows)
    check(lines[-1].split()[:2] == ["total", "18"], lines[-1])
    # without a server, from --max-connections and --instances
    code, out, err = run_roster(["budget", "-c", path, "--max-connections", "25", "--instances",
                                 "api=3"])
    check(code == 0, err)
    rows = [l.split() for l in out.strip().split("\n")[2:-1]]
    # 19 usable, cron 2, 17 by weight: api 3 (x3 copies), worker 2 (x2): W = 13
    # api 17*3/13 = 3.92 -> 3, worker 2.62 -> 2; used 2 + 9 + 4 = 15, leftover 4: by largest
    # remainder api (.92) takes one more per copy (3), worker (.62) would need 2 of the 1 left
    check(rows[0][:5] == ["api", "3", "3", "4", "12"] and rows[1][:5] == ["worker", "2", "2", "2", "4"],
          rows)
    # a role given 0 copies runs nowhere: no pool, nothing of the total (issue 10 item 7)
    code, out, err = run_roster(["budget", "-c", path, "--max-connections", "25", "--instances",
                                 "api=0"])
    check(code == 0, err)
    rows = [l.split() for l in out.strip().split("\n")[2:-1]]
    total = int(out.strip().split("\n")[-1].split()[1])
    check(rows[0][:5] == ["api", "0", "3", "0", "0"] and
          sum(int(r[4]) for r in rows) == total, out)
    # every role given 0 copies: nothing to plan, said as such (it used to plan every role and
    # blame this roster for running them)
    code, out, err = run_roster(["budget", "-c", path, "--max-connections", "25", "--instances",
                                 "migrate=0,api=0,worker=0,cron=0"])
    check(code == 2 and "every role has 0 copies" in err and "this roster runs" not in err, err)
    # an impossible plan names the numbers
    code, out, err = run_roster(["budget", "-c", path, "--max-connections", "8"])
    check(code == 2 and "postgres budget: 4 copies of weighted roles need at least one connection "
          "each, but only 0 of 2 usable remain after 2 fixed" in err, err)
    # check includes the plan when it can be computed
    code, out, err = run_roster(["check", "-c", path, "--max-connections", "25"])
    check(code == 0 and "postgres budget (from --max-connections):" in out, out + err)
    code, out, err = run_roster(["check", "-c", path])
    check(code == 0 and "postgres budget: auto (read from the server at start" in out, out)
    pg.cleanup()


def test_attribution_and_over_share_warning():
    pg = Postgres(max_connections=25)
    port = free_port()
    cfg = """
app: shop
health: {listen: "127.0.0.1:%d"}
postgres:
  url: %s
  budget: 12
  sample_every: 200ms
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
    postgres: {weight: 2}
  worker:
    command: [@CHILD@, sleep, "1000"]
""" % (port, pg.url)
    with Roster(cfg) as r:
        r.wait_event("postgres_up", timeout=20)
        # api 8 (weight 2), worker 4 (weight 1) of 12
        api = pg.hold("shop:api:0", 3)
        worker = pg.hold("shop:worker:0", 6)
        other = pg.hold("someone-else", 1)

        def conns():
            st, body, _ = http_get("http://127.0.0.1:%d/health" % port)
            doc = json.loads(body)
            return st, doc, doc["checks"]["postgres:connections"][0]
        st, doc, c = wait_for(lambda: (lambda x: x[2]["roles"]["worker"]["used"] == 6 and
                                       x[2]["roles"].get("other") == 1 and x)(conns()),
                              10, "a sample that sees every session")
        check(c["roles"]["api"] == {"used": 3, "share": 8, "poolEach": 8}, c["roles"])
        check(c["roles"]["other"] == 1 and c["roles"]["roster"] == 1, c["roles"])
        check(c["status"] == "warn" and "worker uses 6 of 4" in c["output"], c)
        check(doc["status"] == "warn" and st == 200, "over a share is warn, 200")
        ev = r.wait_event("pg_over_share", "worker")[0]
        # the first sample over the share may have seen 5 or 6 of the sessions
        check(ev["used"] > 4 and ev["share"] == 4, ev)
        seen = _samples(port)
        wait_for(lambda: _samples(port) >= seen + 3, 10, "three more samples")
        check(len(r.events("pg_over_share")) == 1, "logged once per crossing")
        st, body, _ = http_get("http://127.0.0.1:%d/metrics" % port)
        check('roster_postgres_connections{role="worker"} 6' in body, "metrics in use")
        check('roster_postgres_budget_connections{role="api"} 8' in body, "metrics budget")
        pg.release("shop:worker:0", worker)
        r.wait_event("pg_within_share", "worker", timeout=10)
        pg.release("shop:api:0", api)
        pg.release("someone-else", other)
        r.stop()
    pg.cleanup()


def _samples(port):
    _, body, _ = http_get("http://127.0.0.1:%d/metrics" % port)
    for line in body.split("\n"):
        if line.startswith("roster_postgres_samples_total "):
            return int(line.split()[1])
    return 0


def test_three_rosters_run_a_locked_oneshot_one_after_another():
    pg = Postgres(max_connections=40)
    d = tmpdir()
    cfg = """
app: shop
postgres: {url: %s, budget: 10}
control: {socket: "@DIR@/ctl.sock"}
roles:
  migrate:
    kind: oneshot
    lock: postgres
    command: [sh, -c, "echo start $(date +%%s.%%N) >> %s/runs; sleep 0.4; echo end $(date +%%s.%%N) >> %s/runs"]
""" % (pg.url, d, d)
    rs = [Roster(cfg) for _ in range(3)]
    try:
        for r in rs:
            check(r.wait_exit(60) == 0, "each migrate succeeded\n" + r.tail())
        with open(os.path.join(d, "runs")) as f:
            marks = [l.split() for l in f]
        check(len(marks) == 6, marks)
        spans = []
        for i in range(0, 6, 2):
            check(marks[i][0] == "start" and marks[i + 1][0] == "end",
                  "start/end pairs never interleave: %s" % marks)
            spans.append((float(marks[i][1]), float(marks[i + 1][1])))
        for a, b in zip(spans, spans[1:]):
            check(b[0] >= a[1], "runs overlap: %s" % spans)
        waited = sum(1 for r in rs if r.events("locked") and r.events("locked")[0]["waited_ms"] > 200)
        check(waited >= 2, "two of the three waited for the lock")
    finally:
        for r in rs:
            r.cleanup()
        pg.cleanup()


def test_postgres_going_away_and_back():
    pg = Postgres(max_connections=25)
    port = free_port()
    cfg = """
health: {listen: "127.0.0.1:%d"}
postgres: {url: %s, budget: 10, sample_every: 200ms}
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
""" % (port, pg.url)
    with Roster(cfg) as r:
        r.wait_event("postgres_up", timeout=20)
        base = "http://127.0.0.1:%d" % port
        wait_for(lambda: http_get(base + "/health")[0] == 200, 10, "health passes")
        api = r.pids("api")[0]
        pg.stop()
        r.wait_event("postgres_down", timeout=15)
        st, body, _ = http_get(base + "/health")
        doc = json.loads(body)
        check(st == 503 and doc["checks"]["postgres:responseTime"][0]["status"] == "fail", body)
        st, body, _ = http_get(base + "/readyz")
        check(st == 503 and "postgres (unreachable)" in body, body)
        check(http_get(base + "/livez")[0] == 200, "roster itself is fine")
        check(r.pids("api") == [api], "the roles are untouched")
        pg.start()
        r.wait_event("postgres_up", count=2, timeout=20)
        wait_for(lambda: http_get(base + "/health")[0] == 200, 10, "health passes again")
        check(http_get(base + "/readyz")[0] == 200, "ready again")
        r.stop()
    pg.cleanup()


def test_wait_for_postgres_holds_the_start():
    pg = Postgres(max_connections=25)
    pg.stop()
    cfg = """
postgres: {url: %s, budget: 10}
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
    wait_for: [postgres]
  free:
    command: [@CHILD@, sleep, "1000"]
    postgres: false
""" % pg.url
    with Roster(cfg) as r:
        r.wait_event("started", "free")
        r.wait_event("waiting", "api")
        r.wait_event("postgres_down", timeout=10)
        check(not r.pids("api"), "api waits while postgres is down")
        pg.start()
        r.wait_event("started", "api", timeout=20)
        order = [(e.get("event"), e.get("subject")) for e in r.events()]
        check(order.index(("postgres_up", None)) < order.index(("started", "api")), order)
        r.stop()
    pg.cleanup()


def test_multi_host_url_is_resolved_on_the_loop():
    """A host list (libpq failover): roster resolves every name itself, off the blocking path,
    and hands libpq the addresses; the first host refuses, the second answers."""
    pg = Postgres(max_connections=25)
    dead = free_port()
    url = "postgresql://postgres@localhost:%d,127.0.0.1:%d/postgres" % (dead, pg.port)
    cfg = """
postgres: {url: "%s", budget: auto}
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
""" % url
    with Roster(cfg) as r:
        r.wait_event("postgres_up", timeout=20)
        r.wait_event("budget", timeout=20)
        r.wait_event("started", "api", timeout=20)
        r.stop()
    pg.cleanup()


def test_lone_migrate_exit_status_with_lock():
    pg = Postgres(max_connections=25)
    cfg = """
postgres: {url: %s, budget: 10}
roles:
  migrate:
    kind: oneshot
    lock: postgres
    command: [sh, -c, "exit 4"]
  api:
    command: [@CHILD@, sleep, "1000"]
    depends_on: {migrate: completed}
""" % pg.url
    with Roster(cfg, args=["--role", "migrate"]) as r:
        check(r.wait_exit(30) == 4, "a PRE_DEPLOY migrate fails the deploy with its status")
        check(r.events("locked", "migrate"), "it ran under the lock")
    pg.cleanup()


if __name__ == "__main__":
    run(globals())
