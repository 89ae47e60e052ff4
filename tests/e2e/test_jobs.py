"""The job store (src/jobs/) on a real redis-server, driven by tests/helpers/jobs_client and by
`roster enqueue`: fields, FIFO, weighted fetch, delayed promotion, unique keys, fail/dead/retry,
cancel, the reaper and drain, paginated lists, queue depths, the eviction-policy check, scripts
flushed (EVAL fallback), and redisconn_command's timeout and lost-connection answers."""
import json
import os
import shutil
import subprocess
import time

from harness import check, free_port, run, run_roster, tmpdir, wait_for
from jobs_client import Client
from services import Redis

_redis = None


def redis():
    global _redis
    if _redis is None:
        _redis = Redis()
    return _redis


_apps = [0]


def client():
    """A client on a fresh app name, so tests do not see each other's keys."""
    _apps[0] += 1
    app = "t%d" % _apps[0]
    c = Client(redis().url, app)
    c.app = app
    return c


def now_ms():
    return int(time.time() * 1000)


def enq(c, queue="default", type_="t", payload=None, **kw):
    d = {"queue": queue, "type": type_, "payload": payload if payload is not None else {}}
    d.update(kw)
    return c.op("enqueue", d)


def test_enqueue_get_fields():
    with client() as c:
        t0 = now_ms()
        a = enq(c, "mail", "email.send", {"to": "a@b", "n": [1, 2]}, max_attempts=3)
        check(a["ok"] and a["id"] == 1, a)
        j = c.ok("get", a["id"])["job"]
        check(j["queue"] == "mail" and j["type"] == "email.send", j)
        check(json.loads(j["payload"]) == {"to": "a@b", "n": [1, 2]}, j)
        check(j["state"] == "queued" and j["attempts"] == 0 and j["max_attempts"] == 3, j)
        check(t0 - 1000 <= j["created_at"] <= now_ms() + 1000, j)
        check(j["run_at"] == j["created_at"] and j["started_at"] == 0, j)
        # the payload is kept as given, bytes and all
        raw = '{"b":1,  "a":"\\u00e9"}'
        a = enq(c, payload=raw, raw=True)
        check(c.ok("get", a["id"])["job"]["payload"] == raw, "payload kept as written")
        b = enq(c)
        check(b["id"] == a["id"] + 1, "ids count up: %s" % b)
        g = c.op("get", 999)
        check(not g["ok"] and g["err"] == "notfound", g)
        # the keys are where the README says
        keys = set(redis().cli("--scan", "--pattern", "roster:%s:*" % c.app).split())
        for k in ("seq", "job:1", "queue:mail", "queues", "stats:mail"):
            check("roster:%s:jobs:%s" % (c.app, k) in keys, "%s in %s" % (k, keys))


def test_fifo_order():
    with client() as c:
        ids = [enq(c, "q")["id"] for _ in range(20)]
        got = [c.ok("fetch", "w1", ["q"], [1])["job"]["id"] for _ in range(20)]
        check(got == ids, "fetched in enqueue order: %s" % got)
        check(c.ok("fetch", "w1", ["q"], [1])["job"] is None, "then none")


def test_weighted_fetch():
    with client() as c:
        for _ in range(400):
            enq(c, "light")
            enq(c, "heavy")
        a = c.ok("fetchn", "w", ["light", "heavy"], [1, 3], 400, timeout=60)
        n_heavy, n_light = a["by_queue"].get("heavy", 0), a["by_queue"].get("light", 0)
        check(n_heavy + n_light == 400, a["by_queue"])
        # 3:1 expected (300 of 400); 7 standard deviations either side
        check(240 <= n_heavy <= 360, "heavy %d of 400 at weight 3 to 1" % n_heavy)
        # once heavy is empty, light still gets everything it has
        a = c.ok("fetchn", "w", ["light", "heavy"], [1, 3], 1000, timeout=60)
        check(len(a["ids"]) == 400, "the rest: %d" % len(a["ids"]))
        check(c.ok("fetch", "w", ["light", "heavy"], [1, 3])["job"] is None, "then none")


def test_delayed_promotion():
    with client() as c:
        t0 = now_ms()
        a = enq(c, "q", delay_ms=1500)
        j = c.ok("get", a["id"])["job"]
        check(j["state"] == "delayed" and t0 + 1500 <= j["run_at"] <= now_ms() + 1500, j)
        p = c.ok("promote", 100)
        # the sentinel: before its time it stays, and promote says when it is due
        check(p["n"] == 0 and p["next_ms"] == j["run_at"], p)
        check(c.ok("fetch", "w", ["q"], [1])["job"] is None, "not ready before its time")
        q = c.ok("queues")["queues"]["q"]
        check(q["delayed"] == 1 and q["queued"] == 0, q)
        deadline = time.monotonic() + 10
        while True:
            p = c.ok("promote", 100)
            if p["n"] == 1:
                break
            check(time.monotonic() < deadline, "promoted within 10 s")
            c.ok("wait_ms", 20)
        check(now_ms() >= j["run_at"], "not promoted early")
        check(p["next_ms"] == 0, "nothing left delayed: %s" % p)
        f = c.ok("fetch", "w", ["q"], [1])["job"]
        check(f and f["id"] == a["id"] and f["attempts"] == 1, f)
        # --at in the past (within the minute allowed): ready at once
        b = enq(c, "q", run_at_ms=now_ms() - 5000)
        check(c.ok("get", b["id"])["job"]["state"] == "queued", "a time just past is now")


def test_unique_keys():
    with client() as c:
        a = enq(c, "q", unique="report:42")
        b = enq(c, "q", unique="report:42")
        check(not b["ok"] and b["err"] == "unique" and b["id"] == a["id"], b)
        check(enq(c, "q", unique="report:43")["ok"], "another key is free")
        c.ok("fetch", "w", ["q"], [1])
        b = enq(c, "q", unique="report:42")
        check(b["err"] == "unique", "held while active: %s" % b)
        c.ok("done", "w", a["id"])
        b = enq(c, "q", unique="report:42")
        check(b["ok"] and b["id"] != a["id"], "free after done: %s" % b)
        # freed on cancel and on death too
        c.ok("cancel", b["id"])
        d = enq(c, "q", unique="report:42", delay_ms=60000)
        check(d["ok"], "free after cancel: %s" % d)
        check(enq(c, "q", unique="report:42")["err"] == "unique", "held while delayed")
        c.ok("cancel", d["id"])
        e = enq(c, "solo", unique="u2")
        c.ok("fetch", "w", ["solo"], [1])
        check(c.ok("fail", "w", e["id"], "no", 0)["state"] == "dead", "dead")
        check(enq(c, "solo", unique="u2")["ok"], "free after dead")


def test_fail_retry_dead():
    with client() as c:
        a = enq(c, "q", max_attempts=2)
        c.ok("fetch", "w", ["q"], [1])
        at = now_ms() + 60000
        f = c.ok("fail", "w", a["id"], "timeout after 30s", at)
        check(f["state"] == "delayed", f)
        j = c.ok("get", a["id"])["job"]
        check(j["state"] == "delayed" and j["run_at"] == at and j["last_error"] ==
              "timeout after 30s" and j["attempts"] == 1, j)
        # due now: retry_at in the past is promoted at once
        redis().cli("ZADD", "roster:%s:jobs:delayed" % c.app, "1", str(a["id"]))
        check(c.ok("promote", 10)["n"] == 1, "promoted")
        j = c.ok("fetch", "w", ["q"], [1])["job"]
        check(j["id"] == a["id"] and j["attempts"] == 2, j)
        f = c.ok("fail", "w", a["id"], "exit 3: boom", now_ms() + 1000)
        check(f["state"] == "dead", "max_attempts 2 reached: %s" % f)
        j = c.ok("get", a["id"])["job"]
        check(j["state"] == "dead" and j["last_error"] == "exit 3: boom" and j["finished_at"] > 0,
              j)
        q = c.ok("queues")["queues"]["q"]
        check(q["dead"] == 1 and q["active"] == 0 and q["dead_total"] == 1 and
              q["failed_total"] == 2 and q["retried_total"] == 1, q)
        # retry from dead: queued, attempts reset, the error kept for the record
        c.ok("retry", a["id"])
        j = c.ok("get", a["id"])["job"]
        check(j["state"] == "queued" and j["attempts"] == 0 and j["last_error"] == "exit 3: boom",
              j)
        r = c.op("retry", a["id"])
        check(not r["ok"] and r["err"] == "state" and r["state"] == "queued", r)
        check(c.ok("fetch", "w", ["q"], [1])["job"]["id"] == a["id"], "runs again")
        # max_attempts 0: the worker decides; retry_at 0 is dead at once
        b = enq(c, "q")
        c.ok("fetch", "w", ["q"], [1])
        check(c.ok("fail", "w", b["id"], "no handler for type t", 0)["state"] == "dead", "dead")
        # an error longer than 4096 bytes is cut, at a character
        d = enq(c, "q")
        c.ok("fetch", "w", ["q"], [1])
        c.ok("fail", "w", d["id"], "é" * 3000, 0)
        e = c.ok("get", d["id"])["job"]["last_error"]
        check(len(e.encode()) <= 4096 and e == "é" * 2048, "cut to %d bytes" % len(e.encode()))
        # done/fail of a job this worker does not hold
        n = c.op("done", "w", b["id"])
        check(not n["ok"] and n["err"] == "notactive" and n["state"] == "dead", n)
        n = c.op("done", "w", 12345)
        check(n["err"] == "notfound", n)


def test_cancel():
    with client() as c:
        a, b, d = enq(c, "q"), enq(c, "q", delay_ms=60000), enq(c, "q")
        c.ok("cancel", a["id"])
        check(c.ok("get", a["id"])["job"]["state"] == "cancelled", "cancelled")
        c.ok("cancel", b["id"])
        check(c.ok("get", b["id"])["job"]["state"] == "cancelled", "delayed cancelled")
        ttl = int(redis().cli("PTTL", "roster:%s:jobs:job:%d" % (c.app, a["id"])))
        check(0 < ttl <= 24 * 3600 * 1000, "a cancelled job's hash expires: %d" % ttl)
        j = c.ok("fetch", "w", ["q"], [1])["job"]
        check(j["id"] == d["id"], "the cancelled one is not fetched: %s" % j)
        r = c.op("cancel", d["id"])
        check(not r["ok"] and r["err"] == "state" and r["state"] == "active" and
              "active" in r["detail"], r)
        c.ok("done", "w", d["id"])
        r = c.op("cancel", d["id"])
        check(r["err"] == "state" and r["state"] == "done", r)
        r = c.op("cancel", a["id"])
        check(r["err"] == "state" and r["state"] == "cancelled", r)
        check(c.op("cancel", 777)["err"] == "notfound", "unknown id")
        q = c.ok("queues")["queues"]["q"]
        check(q["delayed"] == 0 and q["queued"] == 0 and q["cancelled_total"] == 2, q)


def reap_when_expired(c):
    """Reaps until a worker's heartbeat has expired and its jobs were requeued (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        r = c.ok("reap", 1)
        if r["n"]:
            return r
        check(time.monotonic() < deadline, "reaped within 10 s of the heartbeat's expiry")
        c.ok("wait_ms", 50)


def test_reap_and_drain():
    with client() as c:
        ids = [enq(c, "q")["id"] for _ in range(4)]
        c.ok("heartbeat", "dying", 300)
        c.ok("heartbeat", "alive", 60000)
        j1 = c.ok("fetch", "dying", ["q"], [1])["job"]
        j2 = c.ok("fetch", "dying", ["q"], [1])["job"]
        j3 = c.ok("fetch", "alive", ["q"], [1])["job"]
        check([j1["id"], j2["id"], j3["id"]] == ids[:3], "fetched in order")
        # while dying's heartbeat lives, nothing is reaped (the sentinel for what follows)
        check(c.ok("reap", 1)["n"] == 0, "nothing to reap yet")
        r = reap_when_expired(c)
        check(r["n"] == 2, "dying's two jobs: %s" % r)
        for j in (j1, j2):
            g = c.ok("get", j["id"])["job"]
            check(g["state"] == "queued" and g["attempts"] == 1, g)
        check(c.ok("get", j3["id"])["job"]["state"] == "active", "alive's job stays active")
        # requeued at the front, in their order: they run before the job never fetched
        got = [c.ok("fetch", "alive", ["q"], [1])["job"]["id"] for _ in range(3)]
        check(got == [j1["id"], j2["id"], ids[3]], got)
        n = c.op("done", "dying", j1["id"])
        check(n["err"] == "notactive", "the reaped worker's done is refused: %s" % n)
        members = redis().cli("SMEMBERS", "roster:%s:jobs:workers" % c.app).split()
        check(members == ["alive"], members)
        # the lock spaces reaps: a second caller within its time does nothing
        c.ok("heartbeat", "x", 1)
        c.ok("reap", 60000)
        check(c.ok("reap", 60000)["n"] == 0, "lock held")
        # drain: alive's 4 active jobs back
        r = c.ok("requeue", "alive")
        check(r["n"] == 4, r)
        q = c.ok("queues")["queues"]["q"]
        check(q["queued"] == 4 and q["active"] == 0, q)


def test_reap_spent_attempts_dead():
    """A job whose worker dies during its last attempt is dead, not queued again: one that kills
    its worker every time would otherwise come back forever."""
    with client() as c:
        last = enq(c, "q", max_attempts=1)["id"]
        more = enq(c, "q", max_attempts=2, unique="u1")["id"]
        c.ok("heartbeat", "dying", 300)
        check(c.ok("fetch", "dying", ["q"], [1])["job"]["id"] == last, "first fetched")
        check(c.ok("fetch", "dying", ["q"], [1])["job"]["id"] == more, "second fetched")
        r = reap_when_expired(c)
        check(r["n"] == 1, "one requeued (attempts left), one dead: %s" % r)
        g = c.ok("get", last)["job"]
        check(g["state"] == "dead" and "stopped answering during attempt 1 of 1" in g["last_error"],
              g)
        check(c.ok("get", more)["job"]["state"] == "queued", "attempt 1 of 2: queued again")
        q = c.ok("queues")["queues"]["q"]
        check(q["dead"] == 1 and q["queued"] == 1 and q["active"] == 0, q)
        # the second one dies the same way on its last attempt, and frees its unique key
        c.ok("heartbeat", "dying2", 300)
        check(c.ok("fetch", "dying2", ["q"], [1])["job"]["id"] == more, "fetched again")
        deadline = time.monotonic() + 10
        while c.ok("get", more)["job"]["state"] != "dead":
            check(time.monotonic() < deadline, "dead within 10 s")
            c.ok("reap", 1)
            c.ok("wait_ms", 50)
        check(enq(c, "q", unique="u1")["ok"], "its unique key is free")


def test_list_pagination():
    with client() as c:
        ids = [enq(c, "q" if i % 3 else "other")["id"] for i in range(157)]
        in_q = [i for n, i in enumerate(ids) if n % 3]

        def pages(queue, state, limit):
            out, cursor, n = [], None, 0
            while True:
                a = c.ok("list", queue, state, limit, cursor)
                out += [j["id"] for j in a["jobs"]]
                check(len(a["jobs"]) <= limit, "a page holds at most its limit")
                cursor = a["next"]
                n += 1
                check(n < 200, "pages end")
                if cursor is None:
                    return out

        got = pages("q", "queued", 10)
        check(got == in_q, "queued of q: oldest first, no gap or duplicate (%d)" % len(got))
        got = pages("", "queued", 7)
        check(sorted(got) == ids and len(set(got)) == len(ids), "every queue")
        # dead: many at once, so scores tie (same ms): newest first, no gap or duplicate
        c.ok("heartbeat", "w", 60000)
        dead = []
        for _ in range(60):
            j = c.ok("fetch", "w", ["q", "other"], [1, 1])["job"]
            c.ok("fail", "w", j["id"], "e", 0)
            dead.append(j["id"])
        got = pages("", "dead", 8)
        check(sorted(got) == sorted(dead) and len(got) == 60, "dead: %d" % len(got))
        scores = {}
        for i in got:
            scores[i] = c.ok("get", i)["job"]["finished_at"]
        check(all(scores[a] >= scores[b] for a, b in zip(got, got[1:])), "newest first")
        dq = pages("q", "dead", 5)
        check(sorted(dq) == sorted(i for i in dead if i in in_q), "dead of q only")
        # done and active and delayed
        j = c.ok("fetch", "w", ["q"], [1])["job"]
        check(pages("", "active", 3) == [j["id"]], "active")
        c.ok("done", "w", j["id"])
        check(pages("q", "done", 3) == [j["id"]], "done")
        d1 = enq(c, "q", delay_ms=50000)["id"]
        d2 = enq(c, "q", delay_ms=40000)["id"]
        check(pages("", "delayed", 1) == [d2, d1], "delayed: soonest first")
        # bad arguments refused before Redis
        for bad in (["list", "q", "cancelled", 10, None], ["list", "q", "queued", 0, None],
                    ["list", "q", "queued", 1001, None], ["list", "bad name", "queued", 5, None],
                    ["list", "q", "queued", 5, "nocursor"],
                    # a cursor is opaque, but one made up is refused, not sent to Redis (which
                    # would answer an error, or a page from a place no cursor names)
                    ["list", "q", "dead", 5, "nan\n1"], ["list", "q", "dead", 5, "x\n1"],
                    ["list", "q", "dead", 5, "1\nx"], ["list", "q", "delayed", 5, "inf\n1"],
                    ["list", "q", "queued", 5, "q\n-5"], ["list", "q", "queued", 5, "q\n1e3"],
                    ["list", "q", "queued", 5, "b d\n1"], ["list", "", "active", 5, "w\n"]):
            a = c.op(*bad)
            check(not a["ok"] and a["err"] == "invalid", "%s: %s" % (bad, a))
        # the sentinel: cursors as pages give them pass
        check(c.ok("list", "q", "dead", 5, "1\n12")["jobs"] == [], "a set's cursor")
        check(c.ok("list", "q", "queued", 5, "q\n100000")["jobs"] == [], "a list's cursor")


def test_retention_trims_dead():
    with client() as c:
        c.ok("heartbeat", "w", 60000)
        for i in range(5):
            enq(c, "q")
        for i in range(5):
            j = c.ok("fetch", "w", ["q"], [1])["job"]
            c.ok("fail", "w", j["id"], "e", 0)
        q = c.ok("queues")["queues"]["q"]
        check(q["dead"] == 5, q)
        # an old entry (as if 8 days ago) is trimmed on the next death, hash and all
        redis().cli("ZADD", "roster:%s:jobs:dead" % c.app, str(now_ms() - 8 * 86400000), "1")
        enq(c, "q")
        j = c.ok("fetch", "w", ["q"], [1])["job"]
        c.ok("fail", "w", j["id"], "e", 0)
        check(c.op("get", 1)["err"] == "notfound", "trimmed after 7 days")
        q = c.ok("queues")["queues"]["q"]
        check(q["dead"] == 5, "the gauge follows: %s" % q)


def test_queues_depths():
    with client() as c:
        enq(c, "a"), enq(c, "a"), enq(c, "a", delay_ms=60000), enq(c, "b")
        c.ok("heartbeat", "w", 60000)
        j = c.ok("fetch", "w", ["a"], [1])["job"]
        q = c.ok("queues")["queues"]
        check(sorted(q) == ["a", "b"], q)
        check(q["a"]["queued"] == 1 and q["a"]["delayed"] == 1 and q["a"]["active"] == 1 and
              q["a"]["enqueued_total"] == 3 and q["b"]["queued"] == 1, q)
        c.ok("done", "w", j["id"])
        q = c.ok("queues")["queues"]["a"]
        check(q["active"] == 0 and q["done"] == 1 and q["done_total"] == 1, q)


def test_eviction_policy():
    with client() as c:
        a = c.ok("eviction")
        check(a["policy"] == "noeviction" and a["safe"], a)
        redis().cli("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        try:
            a = c.ok("eviction")
            check(a["policy"] == "allkeys-lru" and not a["safe"], a)
        finally:
            redis().cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
    # managed Redis often disables CONFIG: INFO memory says the policy too
    server = shutil.which("redis-server")
    d = tmpdir()
    port = free_port()
    p = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--dir", d, "--rename-command", "CONFIG", "",
                          "--maxmemory-policy", "volatile-lru"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        with Client("redis://127.0.0.1:%d" % port, "ev") as c:
            a = c.ok("eviction")
            check(a["policy"] == "volatile-lru" and not a["safe"], a)
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_scripts_flushed():
    """Redis forgets scripts on restart or SCRIPT FLUSH: the store sends the text again."""
    with client() as c:
        a = enq(c, "q")
        redis().cli("SCRIPT", "FLUSH")
        b = enq(c, "q")
        check(b["ok"] and b["id"] == a["id"] + 1, b)
        check(redis().cli("SCRIPT", "EXISTS", "x") == "0", "sanity")


def test_bad_calls_and_stale_unique():
    with client() as c:
        for bad in (["fetch", "w", [], []], ["fetch", "w", ["q"], [0]],
                    ["fetch", "w", ["q"], [1001]], ["fetch", "bad id", ["q"], [1]],
                    ["fetch", "w", ["q%d" % i for i in range(65)], [1] * 65],
                    ["fetch", "w", ["bad/q"], [1]], ["done", "w", 0], ["heartbeat", "w", 0],
                    ["promote", 0], ["promote", 10001], ["reap", 0], ["get", 0],
                    ["fail", "w" * 129, 1, "e", 0]):
            a = c.op(*bad)
            check(not a["ok"] and a["err"] == "invalid", "%s: %s" % (bad, a))
        check(c.ok("fetch", "w" * 128, ["q" * 64], [1000])["job"] is None, "the limits pass")
        # a unique key whose holder vanished (its hash deleted by hand, or evicted) is taken over
        a = enq(c, "q", unique="u")
        redis().cli("DEL", "roster:%s:jobs:job:%d" % (c.app, a["id"]))
        b = enq(c, "q", unique="u")
        check(b["ok"] and b["id"] != a["id"], b)
        # and the orphaned id left in the queue is skipped by fetch, not handed out half-made
        j = c.ok("fetch", "w", ["q"], [1])["job"]
        check(j and j["id"] == b["id"], j)


def test_redis_restarted():
    """A restarted Redis has lost its scripts (and, without persistence, its data): the store
    reconnects and sends the scripts' text again."""
    rd = Redis()
    try:
        with Client(rd.url, "rs") as c:
            check(enq(c, "q")["ok"], "before")
            rd.stop()
            a = c.op("enqueue", {"queue": "q", "type": "t", "payload": {}})
            check(not a["ok"] and a["err"] in ("down", "redis"), a)
            rd.start()
            wait_for(lambda: enq(c, "q").get("ok"), 20, "enqueue after the restart")
            check(c.ok("get", 1)["job"]["state"] == "queued", "works on")
    finally:
        rd.cleanup()


def test_redisconn_command_timeout_and_lost():
    with client() as c:
        # a blocking command held past its timeout: answered "timed out", not hung on
        t0 = time.monotonic()
        a = c.op("raw", ["BLPOP", "nothing", "3"], 300)
        check(not a["ok"] and "timed out" in a["detail"], a)
        check(time.monotonic() - t0 < 2.5, "answered at its deadline")
        # the connection comes back; then a connection killed under a command
        wait_for(lambda: c.op("raw", ["PING"], 1000).get("ok"), 15, "reconnected")
        c.send("raw", ["BLPOP", "nothing", "20"], 30000)
        wait_for(lambda: "cmd=blpop" in redis().cli("CLIENT", "LIST"), 5, "BLPOP in Redis")
        redis().cli("CLIENT", "KILL", "TYPE", "normal")
        a = c.answer(10)
        check(not a["ok"] and a["err"] == "redis" and a["detail"], a)
        wait_for(lambda: c.op("raw", ["PING"], 1000).get("ok"), 15, "reconnected")
        # store calls while down answer "down" at once (and never hang)
        check(enq(c, "q")["ok"], "works again")


def test_wake_channel():
    """Idle workers learn of a ready job from a PUBLISH on the wake channel (redisconn_subscribe,
    on a connection of its own), again after that connection is killed; enqueue-to-wake
    latency is printed (a figure, not asserted)."""
    with client() as w, Client(redis().url, w.app) as c:
        w.ok("wake_listen")
        enq(c, "mail")
        a = w.ok("wake_wait", "mail", 5000)
        check(a["subscribes"] == 1, a)
        # a delayed job wakes nobody until it is promoted
        enq(c, "slow", delay_ms=300)
        a = w.op("wake_wait", "slow", 100)
        check(not a["ok"] and a["err"] == "timeout", "no wake before promotion: %s" % a)
        deadline = time.monotonic() + 10
        while c.ok("promote", 10)["n"] == 0:
            check(time.monotonic() < deadline, "promoted")
            c.ok("wait_ms", 20)
        w.ok("wake_wait", "slow", 5000)
        # requeue (drain), retry and reap wake too
        c.ok("heartbeat", "x", 60000)
        j = c.ok("fetch", "x", ["mail"], [1])["job"]
        c.ok("requeue", "x")
        w.ok("wake_wait", "mail", 5000)
        # the subscriber's connection killed: it subscribes again and wakes again
        redis().cli("CLIENT", "KILL", "TYPE", "pubsub")
        deadline = time.monotonic() + 15
        while True:
            enq(c, "q2")
            a = w.op("wake_wait", "q2", 200)
            if a["ok"] and a["subscribes"] == 2:
                break
            check(time.monotonic() < deadline, "woken after the reconnect: %s" % a)
        # latency: enqueue (from another connection) to the wake message, idle listener
        lat = []
        for i in range(200):
            t0 = time.monotonic()
            w.send("wake_wait", "lat", 5000)
            enq(c, "lat")
            a = w.answer(10)
            check(a["ok"], a)
            lat.append((time.monotonic() - t0) * 1000)
        lat.sort()
        print("  enqueue-to-wake (through the test's pipes) ms: p50 %.2f p99 %.2f max %.2f" %
              (lat[100], lat[197], lat[-1]))
        check(j is not None, "sanity")


def test_roster_enqueue():
    rd = redis()
    d = tmpdir()
    cfg = os.path.join(d, "roster.yaml")
    with open(cfg, "w") as f:
        f.write("app: shop\nredis: {url: \"%s\"}\nroles:\n  web: {command: \"true\"}\n" % rd.url)
    code, out, err = run_roster(["enqueue", "mail", "email.send", '{"to":"x"}', "-c", cfg])
    check(code == 0 and out.strip().isdigit(), (code, out, err))
    jid = out.strip()
    check(rd.cli("HGET", "roster:shop:jobs:job:" + jid, "payload") == '{"to":"x"}', "stored")
    # stdin, delay, unique, max-attempts
    code, out, err = run_roster(["enqueue", "mail", "t", "-", "--delay", "5m", "--unique", "k1",
                                 "--max-attempts", "4", "-c", cfg], input='[1, 2]')
    check(code == 0, (code, err))
    k = "roster:shop:jobs:job:" + out.strip()
    check(rd.cli("HGET", k, "state") == "delayed" and rd.cli("HGET", k, "max_attempts") == "4" and
          rd.cli("HGET", k, "payload") == "[1, 2]", rd.cli("HGETALL", k))
    code, out2, err = run_roster(["enqueue", "mail", "t", "--unique", "k1", "-c", cfg])
    check(code == 0 and out2.strip() == out.strip() and "held by job %s" % out.strip() in err,
          (code, out2, err))
    code, out, err = run_roster(["enqueue", "mail", "t", "--at", "2099-01-01T00:00:00Z", "-c",
                                 cfg])
    check(code == 2 and "run_at: more than a year ahead" in err, (code, err))
    # without a config: REDIS_URL and ROSTER_APP
    code, out, err = run_roster(["enqueue", "q", "t"], cwd=d + "/..",
                                env={"REDIS_URL": rd.url, "ROSTER_APP": "shop",
                                     "ROSTER_CONFIG": ""})
    check(code == 0 and rd.cli("HGET", "roster:shop:jobs:job:" + out.strip(), "payload") ==
          "null", (code, out, err))


def test_roster_enqueue_bad_input():
    env = {"REDIS_URL": "redis://127.0.0.1:%d" % redis().port, "ROSTER_APP": "bad",
           "ROSTER_CONFIG": ""}
    d = tmpdir()
    cases = [
        (["enqueue", "q"], "needs a queue and a job type"),
        (["enqueue", "bad queue", "t"], "queue: 'bad queue' has a character outside"),
        (["enqueue", "q", "t/x"], "type: 't/x' has a character outside"),
        (["enqueue", "q" * 65, "t"], "queue: longer than 64 characters"),
        (["enqueue", "q", "t", "{nope"], "payload: not valid JSON at byte"),
        (["enqueue", "q", "t", "{} {}"], "payload: not valid JSON at byte 3"),
        (["enqueue", "q", "t", "01"], "payload: not valid JSON at byte 1"),
        (["enqueue", "q", "t", ""], "payload: not valid JSON"),
        (["enqueue", "q", "t", "--unique", "u" * 201], "unique: longer than 200 bytes"),
        (["enqueue", "q", "t", "--delay", "soon"], "--delay 'soon'"),
        (["enqueue", "q", "t", "--delay", "400d"], "delay: more than a year"),
        (["enqueue", "q", "t", "--at", "tomorrow"], "--at 'tomorrow' is not an ISO-8601 time"),
        (["enqueue", "q", "t", "--at", "2020-01-01T00:00:00Z"],
         "run_at: more than a minute in the past"),
        (["enqueue", "q", "t", "--delay", "1s", "--at", "2099-01-01T00:00:00Z"],
         "--delay and --at both"),
        (["enqueue", "q", "t", "--max-attempts", "0"], "--max-attempts must be a number from 1"),
        (["enqueue", "q", "t", "--max-attempts", "x"], "--max-attempts must be a number from 1"),
        (["check", "--unique", "k"], "are for `roster enqueue`"),
        (["enqueue", "q", "t", "{}", "extra"], "unexpected argument 'extra'"),
    ]
    for args, want in cases:
        code, out, err = run_roster(args, env=env, cwd=d)
        check(code == 2 and want in err and not out, "%s: %s %r" % (args, code, err))
    code, out, err = run_roster(["enqueue", "q", "t", "-"], env=env, cwd=d,
                                input="[" + "1," * 600000 + "1]")
    check(code == 2 and "payload: larger than 1 MiB" in err, (code, err[:200]))
    check(redis().cli("EXISTS", "roster:bad:jobs:seq") == "0", "nothing was stored")
    # no Redis: exit 1, said at once (refused), within the connect timeout either way
    t0 = time.monotonic()
    code, out, err = run_roster(["enqueue", "q", "t"], cwd=d,
                                env={"REDIS_URL": "redis://127.0.0.1:%d" % free_port(),
                                     "ROSTER_APP": "x", "ROSTER_CONFIG": ""})
    check(code == 1 and "cannot be reached" in err and "Connection refused" in err, (code, err))
    check(time.monotonic() - t0 < 5, "within the connect timeout")
    code, out, err = run_roster(["enqueue", "q", "t"], cwd=d, env={"REDIS_URL": "",
                                                                   "ROSTER_APP": "x",
                                                                   "ROSTER_CONFIG": ""})
    check(code == 2 and "no Redis URL" in err, (code, err))


# A Lua loop that holds Redis for about MS milliseconds (under lua-time-limit): commands sent
# meanwhile wait in their sockets and run after it, whatever became of their senders.
BUSY_LUA = ("local t = redis.call('TIME') local e = t[1] * 1000000 + t[2] + ARGV[1] * 1000 "
            "while true do local n = redis.call('TIME') "
            "if n[1] * 1000000 + n[2] >= e then break end end return 1")


def test_fetch_answer_lost():
    """A fetch that Redis ran but whose answer never came (the command timed out, the
    connection dropped) moved a job into the worker's active list: the worker, alive and
    heartbeating, is never reaped, so the job would sit there until the worker stops. The next
    fetch of that worker gives it that job again (attempts not counted twice)."""
    with client() as c, Client(redis().url, c.app) as blocker:
        a = enq(c, "q")
        b = enq(c, "q")
        c.ok("heartbeat", "w", 60000)
        c.ok("fetch", "w", ["empty"], [1])  # the script cached: EVALSHA runs as sent
        blocker.send("raw", ["EVAL", BUSY_LUA, "0", "3000"], 10000)
        time.sleep(0.3)  # the loop has begun (Redis answers nothing until it ends)
        f = c.op("fetch", "w", ["q"], [1])
        check(not f["ok"] and f["err"] == "redis" and "timed out" in f["detail"], f)
        check(blocker.answer(10)["ok"], "the loop ended")
        wait_for(lambda: c.op("raw", ["PING"], 1000).get("ok"), 15, "reconnected")
        # the sentinel: the fetch did run, though its answer was lost
        k = "roster:%s:jobs:" % c.app
        check(redis().cli("LRANGE", k + "active:w", "0", "-1").split() == [str(a["id"])] and
              redis().cli("HGET", k + "job:%d" % a["id"], "state") == "active",
              "the lost fetch ran: %s" % redis().cli("HGETALL", k + "job:%d" % a["id"]))
        check(c.ok("reap", 1)["n"] == 0, "a live worker's jobs are not reaped")
        # two fetches in flight at once (a worker with free slots) both name the lost fetch:
        # one gets its job, the other the next (never the same job twice)
        p = c.ok("fetchpar", "w", ["q"], [1], 2)
        check(sorted(p["ids"]) == [a["id"], b["id"]], "one each: %s" % p)
        j = c.ok("get", a["id"])["job"]
        check(j["attempts"] == 1 and j["state"] == "active" and j["worker"] == "w",
              "the job of the lost answer given to its worker again, counted once: %s" % j)
        check(c.ok("fetch", "w", ["q"], [1])["job"] is None, "then none")
        c.ok("done", "w", a["id"])
        c.ok("done", "w", b["id"])
        q = c.ok("queues")["queues"]["q"]
        check(q["active"] == 0 and q["done"] == 2 and q["queued"] == 0, q)
        # a fetch that did not run at all (nothing to give again) costs nothing
        check(c.ok("fetch", "w", ["q"], [1])["job"] is None, "none")


def test_callback_closes_connection():
    """A command's callback that closes the connection: every command in flight is answered
    once, and the connection's state callback is not called after the close (its owner may be
    gone) — whether the first answer is a reply or a timeout that takes the connection down."""
    with client() as c:
        a = c.ok("raw_close", ["PING"], 1000, 3)
        got = [(x["i"], x["ok"]) for x in a["answers"]]
        check(got == [(0, True), (1, False), (2, False)], a)
        check(all(x["err"] == "connection closed" for x in a["answers"][1:]), a)
    with client() as c:
        a = c.ok("raw_close", ["BLPOP", "nothing", "5"], 300, 3)
        check(sorted(x["i"] for x in a["answers"]) == [0, 1, 2] and
              not any(x["ok"] for x in a["answers"]), a)
        check("timed out" in a["answers"][0]["err"], a)


def test_list_many_tied():
    """More than 5,000 jobs of one score (a batch enqueued --at the same time): every page of
    the delayed list moves on, to the end, without gap or duplicate."""
    with client() as c:
        at = now_ms() + 3600 * 1000
        ids = []
        for _ in range(11):  # in batches sent at once (the driver reads answers as they come)
            for _ in range(500):
                c.send("enqueue", {"queue": "q", "type": "t", "payload": {}, "run_at_ms": at})
            ids += [c.answer(10)["id"] for _ in range(500)]
        got, cursor, pages = [], None, 0
        while True:
            a = c.ok("list", "", "delayed", 1000, cursor, timeout=30)
            got += [j["id"] for j in a["jobs"]]
            pages += 1
            check(a["jobs"] or a["next"] is None, "page %d moved on: %s" % (pages, a["next"]))
            cursor = a["next"]
            if cursor is None:
                break
            check(pages < 20, "pages end (%d jobs so far)" % len(got))
        check(len(got) == len(ids) and set(got) == set(ids), "%d of %d" % (len(set(got)), len(ids)))


def test_redis_refusals_propagated():
    """Redis's refusals reach the caller as errors with Redis's words, and leave nothing half
    done: out of memory (writes refused; taking and finishing jobs, which free memory, go on)
    and a read-only replica."""
    rd = redis()
    with client() as c:
        a = enq(c, "q")
        c.ok("heartbeat", "w", 60000)
        rd.cli("CONFIG", "SET", "maxmemory", "1")
        try:
            b = enq(c, "q")
            check(not b["ok"] and b["err"] == "redis" and "OOM" in b["detail"], b)
            j = c.ok("fetch", "w", ["q"], [1])["job"]
            check(j and j["id"] == a["id"], "a job is still taken: %s" % j)
            c.ok("done", "w", a["id"])
        finally:
            rd.cli("CONFIG", "SET", "maxmemory", "0")
        q = c.ok("queues")["queues"]["q"]
        check(q["enqueued_total"] == 1 and q["done_total"] == 1 and q["queued"] == 0 and
              q["active"] == 0, "nothing half done: %s" % q)
        check(rd.cli("GET", "roster:%s:jobs:seq" % c.app) == "1", "no id spent")
    replica = Redis()
    try:
        with Client(rd.url, "ro") as m:
            a = enq(m, "q")
        replica.cli("REPLICAOF", "127.0.0.1", str(rd.port))
        wait_for(lambda: replica.cli("EXISTS", "roster:ro:jobs:job:%d" % a["id"]) == "1", 15,
                 "the replica in sync")
        with Client(replica.url, "ro") as c:
            b = enq(c, "q")
            check(not b["ok"] and b["err"] == "redis" and "READONLY" in b["detail"], b)
            f = c.op("fetch", "w", ["q"], [1])
            check(not f["ok"] and f["err"] == "redis" and "READONLY" in f["detail"], f)
            g = c.ok("get", a["id"])["job"]
            check(g["state"] == "queued", "reads work, and the job was not moved: %s" % g)
    finally:
        replica.cleanup()


if __name__ == "__main__":
    run(globals())
