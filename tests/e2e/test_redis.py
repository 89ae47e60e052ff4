"""Redis: one normalized REDIS_URL from redis.url or REDIS_HOST/PORT/PASSWORD, PING latency in
/health and /metrics, connect errors reported (not hung on), going away and coming back,
wait_for: redis, and rediss:// refused clearly on a build without TLS."""
import json
import os

from harness import (Roster, check, free_port, http_get, run, run_roster, tmpdir, wait_for)
from services import Redis


def child_env(r, role):
    out = {}
    for rec in r.records():
        if rec.get("role") == role:
            msg = rec["msg"]
            if "=" in msg:
                k, v = msg.split("=", 1)
                out[k] = v
            elif msg.endswith(" unset"):
                out[msg[:-6]] = None
    return out


def test_redis_host_port_password_normalized():
    rd = Redis(password="s3cr/t")
    port = free_port()
    cfg = """
health: {listen: "127.0.0.1:%d"}
redis: {url: "${REDIS_URL:-}"}
roles:
  app:
    command: [@CHILD@, env, REDIS_URL]
""" % port
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(rd.port), "REDIS_PASSWORD": "s3cr/t",
           "REDIS_URL": ""}
    with Roster(cfg, env=env) as r:
        v = wait_for(lambda: child_env(r, "app").get("REDIS_URL"), 5, "REDIS_URL printed")
        check(v == "redis://:s3cr%%2Ft@127.0.0.1:%d" % rd.port, "normalized: %s" % v)
        r.wait_event("redis_up", timeout=10)
        st, body, _ = http_get("http://127.0.0.1:%d/health" % port)
        doc = json.loads(body)
        c = doc["checks"]["redis:responseTime"][0]
        check(c["status"] == "pass" and c["observedUnit"] == "ms" and c["observedValue"] >= 0, c)
        check("s3cr" not in body, "the password never appears in /health")
        _, metrics, _ = http_get("http://127.0.0.1:%d/metrics" % port)
        check("roster_redis_up 1" in metrics and "roster_redis_ping_seconds" in metrics, metrics)
        r.stop()
    # the explicit URL wins and is passed on as written (normalized)
    with Roster("""
redis: {url: "redis://:pw@127.0.0.1:%d/2"}
roles:
  app:
    command: [@CHILD@, env, REDIS_URL]
""" % rd.port, env={"REDIS_HOST": "elsewhere"}) as r:
        v = wait_for(lambda: child_env(r, "app").get("REDIS_URL"), 5, "REDIS_URL printed")
        check(v == "redis://:pw@127.0.0.1:%d/2" % rd.port, v)
        r.stop()
    rd.cleanup()


def test_connect_refused_is_reported_not_hung():
    port, hport = free_port(), free_port()
    cfg = """
health: {listen: "127.0.0.1:%d"}
redis: {url: "redis://127.0.0.1:%d"}
roles:
  app:
    command: [@CHILD@, sleep, "1000"]
""" % (hport, port)
    with Roster(cfg) as r:
        ev = r.wait_event("redis_down", timeout=5)[0]
        check("refused" in ev["msg"].lower(), "the connect error reaches roster: %s" % ev["msg"])
        st, body, _ = http_get("http://127.0.0.1:%d/health" % hport)
        c = json.loads(body)["checks"]["redis:responseTime"][0]
        check(st == 503 and c["status"] == "fail" and "refused" in c["output"].lower(), c)
        check(http_get("http://127.0.0.1:%d/livez" % hport)[0] == 200, "livez fine")
        r.stop()


def test_redis_going_away_and_back_and_wait_for():
    rd = Redis()
    hport = free_port()
    rd.stop()
    cfg = """
health: {listen: "127.0.0.1:%d"}
redis: {url: "%s"}
roles:
  worker:
    command: [@CHILD@, sleep, "1000"]
    wait_for: redis
  other:
    command: [@CHILD@, sleep, "1000"]
""" % (hport, rd.url)
    base = "http://127.0.0.1:%d" % hport
    with Roster(cfg) as r:
        r.wait_event("waiting", "worker")
        r.wait_event("started", "other")
        check(not r.pids("worker"), "worker waits for redis")
        rd.start()
        r.wait_event("redis_up", timeout=20)
        r.wait_event("started", "worker", timeout=5)
        wait_for(lambda: http_get(base + "/health")[0] == 200, 10, "health passes")
        pids = (r.pids("worker"), r.pids("other"))
        rd.stop()
        r.wait_event("redis_down", count=2, timeout=15)  # the first was before redis started
        st, body, _ = http_get(base + "/readyz")
        check(st == 503 and "redis (unreachable)" in body, body)
        check((r.pids("worker"), r.pids("other")) == pids, "roles untouched")
        rd.start()
        r.wait_event("redis_up", count=2, timeout=20)
        wait_for(lambda: http_get(base + "/health")[0] == 200, 10, "health passes again")
        r.stop()
    rd.cleanup()


def test_rediss_without_tls_is_a_clear_error():
    code, out, err = run_roster(["version"])
    if "hiredis 0." not in out:
        print("  skipped: this build has hiredis >= 1.0 (%s)" % out.strip())
        return
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("redis: {url: \"rediss://:pw@cache.example.com:25061\"}\nroles:\n  a: {command: x}\n")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 2, "exit 2")
    check("%s:1:8: redis: rediss:// (TLS) needs roster built against hiredis 1.0 or later with TLS;"
          " this build has hiredis 0.14.1 without it" % path in err, err)


if __name__ == "__main__":
    run(globals())
