"""What the built-in scheduler tells of its runs (issue 12): scheduler:<name> in /health (warn
after a failed run, ok after a good one), the roster_schedule_* families in /metrics, `roster
schedules` with the last runs while a roster runs and the config's listing when none does, all
through the status channel from the scheduler's process to roster; and, with postgres:, each run
a row of roster_schedule_runs (outcome, exit code, HTTP status, duration), old rows deleted per
history.keep, and Postgres going away without holding a run up (said once)."""
import datetime as dt
import http.server
import json
import os
import re
import signal
import subprocess
import time

from harness import (SANITIZER, Roster, check, free_port, http_get, http_server, run,
                     run_roster, wait_for)


def no_sanitizer_reports(r):
    """The scheduler's own process writes its sanitizer reports into roster's output."""
    bad = [l for l in r.output() if SANITIZER.search(l)]
    check(not bad, "\n".join(r.output()[-60:]))


def health(port):
    status, body, _ = http_get("http://127.0.0.1:%d/health" % port)
    return status, json.loads(body)


def schedule_check(port, name):
    """The one scheduler:<name> object of /health, or None (also while the server starts)."""
    try:
        _, doc = health(port)
    except OSError:
        return None
    arr = doc["checks"].get("scheduler:" + name)
    return arr[0] if arr else None


def metric(port, name, **labels):
    """The value of one sample of /metrics (labels a subset of its own), or None."""
    _, body, _ = http_get("http://127.0.0.1:%d/metrics" % port)
    for line in body.splitlines():
        m = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return None


def served_scheduler(schedules):
    """A roster with a health port and a control socket whose scheduler role has these
    schedules (YAML lines, indented 6); returns it and the port."""
    port = free_port()
    cfg = ("app: sh\nhealth:\n  listen: 127.0.0.1:%d\ncontrol:\n  socket: @DIR@/ctl.sock\n"
           "roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n" % port) + schedules
    return Roster(cfg, json_logs=False), port


def test_health_metrics_and_schedules():
    r, port = served_scheduler('      flip: {cron: "@every 1s", command: "test -e @DIR@/fixed"}\n'
                               '      slow: {cron: "@every 1s", command: "sleep 2.5"}\n'
                               '      uptime: {cron: "@every 1s", command: "true"}\n')
    with r:
        # a failed run turns the schedule to warn, and with it the whole document
        c = wait_for(lambda: (lambda c: c if c and c.get("lastRun") else None)(
            schedule_check(port, "flip")), 30, "flip's first run in /health")
        check(c["status"] == "warn" and c["componentType"] == "schedule", c)
        check(c["componentId"] == "scheduler", c)
        check(c["lastRun"]["outcome"] == "failed" and c["lastRun"]["exitCode"] == 1, c)
        check("the last run failed: exit 1" == c["output"], c)
        check(c["cron"] == "@every 1s", c)
        nf = dt.datetime.fromisoformat(c["nextFire"])
        check(nf.utcoffset() is not None, c)
        check(abs(nf.timestamp() - dt.datetime.now(dt.timezone.utc).timestamp()) < 120, c)
        fin = dt.datetime.fromisoformat(c["lastRun"]["finishedAt"].replace("Z", "+00:00"))
        check(fin >= dt.datetime.fromisoformat(
            c["lastRun"]["startedAt"].replace("Z", "+00:00")), c)
        status, doc = health(port)
        check(status == 200 and doc["status"] == "warn", doc)
        # scheduler:uptime is roster's own key for the role: a schedule named so stays out of it
        up = doc["checks"]["scheduler:uptime"]
        check(len(up) == 1 and up[0]["componentType"] == "process", up)
        # a good run turns it back to pass
        open(os.path.join(r.dir, "fixed"), "w").close()
        c = wait_for(lambda: (lambda c: c if c and c["status"] == "pass" else None)(
            schedule_check(port, "flip")), 30, "flip back to pass after a good run")
        check(c["lastRun"]["outcome"] == "ok" and c["lastRun"]["exitCode"] == 0, c)
        check("output" not in c, c)
        wait_for(lambda: health(port)[1]["status"] == "pass", 10, "the document back to pass")

        # /metrics: runs by outcome, skipped by reason, last success, the duration histogram
        wait_for(lambda: (metric(port, "roster_schedule_skipped_total", schedule="slow",
                                 reason="overlap") or 0) >= 1, 30, "an overlap skip counted")
        failed = metric(port, "roster_schedule_runs_total", role="scheduler", instance="0",
                        schedule="flip", outcome="failed")
        ok = metric(port, "roster_schedule_runs_total", schedule="flip", outcome="ok")
        check(failed and failed >= 1 and ok and ok >= 1, (failed, ok))
        last = metric(port, "roster_schedule_last_success_timestamp_seconds", schedule="flip")
        check(last and abs(last - dt.datetime.now().timestamp()) < 60, last)
        count = metric(port, "roster_schedule_run_duration_seconds_count", schedule="flip")
        inf = metric(port, "roster_schedule_run_duration_seconds_bucket", schedule="flip",
                     le="+Inf")
        check(count is not None and count >= failed + ok and inf == count, (count, inf))
        wait_for(lambda: metric(port, "roster_schedule_run_duration_seconds_bucket",
                                schedule="slow", le="1") is not None, 30, "slow's first run")
        check(metric(port, "roster_schedule_run_duration_seconds_bucket", schedule="slow",
                     le="1") == 0, "a 2.5 s run is not under 1 s")
        check(metric(port, "roster_schedule_run_duration_seconds_bucket", schedule="slow",
                     le="5") >= 1, "a 2.5 s run is under 5 s")

        # the channel's own counts, and the whole text through promtool
        check((metric(port, "roster_status_messages_total", role="scheduler") or 0) >= 5,
              "messages counted")
        check(metric(port, "roster_status_messages_ignored_total", role="scheduler") == 0,
              "none ignored")
        _, body, _ = http_get("http://127.0.0.1:%d/metrics" % port)
        p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True)
        check(p.returncode == 0, p.stdout + p.stderr + body)

        # roster schedules: the last runs from the running roster
        code, out, err = run_roster(["schedules", "-c", r.config_path, "--count", "3"])
        check(code == 0, err)
        check(re.search(r"^scheduler/flip: \"@every 1s\"", out, re.M), out)
        check(re.search(r"^  last runs \(scheduler\), newest first:\n    \S+Z  ok +exit 0 in "
                        r"\d+ms$", out, re.M), out)
        check(re.search(r"^    \S+Z  failed +exit 1 in \d+ms$", out, re.M), out)
        check("no roster is running" not in out + err, out + err)
        check(r.stop() == 0, r.tail())
        no_sanitizer_reports(r)
        # no roster runs now: the config's listing, and a line saying why no runs are shown
        code, out, err = run_roster(["schedules", "-c", r.config_path])
        check(code == 0 and "last runs" not in out, out + err)
        check(err == "roster schedules: no roster is running for this config: the last runs are "
                     "not shown\n", err)
        check(re.search(r"^scheduler/slow: ", out, re.M), out)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/ok" else 503
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


ROWS = ("SELECT schedule, outcome, coalesce(exit_code::text, '-'), "
        "coalesce(http_status::text, '-'), duration_ms, host, extract(epoch from scheduled_at), "
        "extract(epoch from started), extract(epoch from finished) FROM roster_schedule_runs "
        "ORDER BY id")


def rows(pg):
    code, out = pg.psql(ROWS, check=False)
    if code != 0:
        return []
    res = []
    for line in out.splitlines():
        f = line.split("|")
        res.append({"schedule": f[0], "outcome": f[1], "exit": f[2], "http": f[3],
                    "ms": int(f[4]), "host": f[5], "at": float(f[6]), "started": float(f[7]),
                    "finished": float(f[8])})
    return res


def history_config(pg, extra=""):
    return """app: hist
postgres:
  url: "%s"
roles:
  scheduler:
    builtin: scheduler
    history: {keep: 30d}
    schedules:
%s""" % (pg.url, extra)


def test_history_rows_and_retention():
    from services import Postgres
    pg = Postgres()
    srv, hp = http_server(Handler)
    # old rows first: one of this role's schedules past history.keep, one of a schedule this
    # role does not have (another scheduler's, kept for its own setting), one recent
    pg.psql("CREATE TABLE roster_schedule_runs (id bigserial PRIMARY KEY, schedule text NOT "
            "NULL, scheduled_at timestamptz NOT NULL, started timestamptz NOT NULL, finished "
            "timestamptz NOT NULL, outcome text NOT NULL, exit_code int, http_status int, host "
            "text NOT NULL, duration_ms bigint NOT NULL)")
    for sched, days in (("ok", 40), ("elsewhere", 40), ("ok", 29)):
        pg.psql("INSERT INTO roster_schedule_runs (schedule, scheduled_at, started, finished, "
                "outcome, exit_code, host, duration_ms) VALUES ('%s', now() - interval '%d days', "
                "now() - interval '%d days', now() - interval '%d days', 'ok', 0, 'old', 5)"
                % (sched, days, days, days))
    extra = ("      ok: {cron: \"@every 1s\", command: \"true\"}\n"
             "      fail: {cron: \"@every 1s\", command: \"sh -c 'exit 4'\"}\n"
             "      slow: {cron: \"@every 2s\", timeout: 1s, command: \"sleep 5\"}\n"
             "      web: {cron: \"@every 1s\", http: \"GET http://127.0.0.1:%d/ok\"}\n"
             "      web503: {cron: \"@every 1s\", http: \"GET http://127.0.0.1:%d/no\"}\n"
             "      long: {cron: \"@every 1s\", command: \"sleep 60\"}\n"
             "      long2: {cron: \"@every 1s\", command: \"sleep 60\"}\n"
             "      long3: {cron: \"@every 1s\", command: \"sleep 60\"}\n"
             "  memsched:\n    builtin: scheduler\n    postgres: false\n    schedules:\n"
             "      mem: {cron: \"@every 1s\", command: \"true\"}\n" % (hp, hp))
    try:
        r = Roster(history_config(pg, extra), json_logs=False)
        code, out, err = run_roster(["check", "-c", r.config_path])
        check(code == 0, out + err)
        check("    history: roster_schedule_runs in Postgres, kept 720h, on 1 connection of its "
              "share\n" in out, out)
        check("    history: the last runs in memory: its Postgres share is 0 connections\n" in out,
              out)
        with r:
            r.wait_line(r"^scheduler \| history: each run is a row of roster_schedule_runs in "
                        r"Postgres, kept 720h$", timeout=30)
            r.wait_line(r"^memsched +\| history: this role's Postgres share is 0 connections: the "
                        r"last runs are kept in memory only$", timeout=30)

            def all_kinds():
                got = rows(pg)
                mine = [x for x in got if x["host"] != "old"]
                have = {x["schedule"] for x in mine}
                return got if {"ok", "fail", "slow", "web", "web503"} <= have else None
            wait_for(all_kinds, 60, "a row of every schedule")
            r.stop()
            no_sanitizer_reports(r)
            # every run is a row, the last ones too: the scheduler writes them before it exits
            ends = [l for l in r.output()
                    if re.match(r"^scheduler \| \w+: (finished ok|failed|stopped after)", l)]
            got = rows(pg)
            check(len([x for x in got if x["host"] != "old"]) == len(ends),
                  (len(got), len(ends), ends[-5:]))
            # three runs stopped at once: three rows queued at the very end, all written
            for name in ("long", "long2", "long3"):
                check([x["outcome"] for x in got if x["schedule"] == name] == ["stopped"], got)
        # retention: the 40-day-old row of this role's schedule is gone; the others stay
        old = [x for x in got if x["host"] == "old"]
        check(sorted(x["schedule"] for x in old) == ["elsewhere", "ok"], old)
        check(all(x["finished"] > time.time() - 30 * 86400 for x in old if x["schedule"] == "ok"),
              old)
        mine = [x for x in got if x["host"] != "old"]
        check(all(x["schedule"] != "mem" for x in mine), "memsched keeps no history")
        host = os.uname().nodename
        for x in mine:
            check(x["host"] == host, x)
            check(x["at"] == int(x["at"]), x)
            check(x["at"] - 0.5 <= x["started"] <= x["finished"], x)
            check(abs((x["finished"] - x["started"]) * 1000 - x["ms"]) <= 2, x)
        by = {}
        for x in mine:
            by.setdefault(x["schedule"], x)
        check(by["ok"]["outcome"] == "ok" and by["ok"]["exit"] == "0" and by["ok"]["http"] == "-",
              by["ok"])
        check(by["fail"]["outcome"] == "failed" and by["fail"]["exit"] == "4", by["fail"])
        s = by["slow"]
        check(s["outcome"] == "timeout" and s["exit"] == "-" and 900 <= s["ms"] < 4500, s)
        check(by["web"]["outcome"] == "ok" and by["web"]["http"] == "200" and
              by["web"]["exit"] == "-", by["web"])
        check(by["web503"]["outcome"] == "failed" and by["web503"]["http"] == "503",
              by["web503"])
    finally:
        srv.shutdown()
        pg.cleanup()


def run_ends(r):
    """The scheduler's lines that end a run (each is a row)."""
    return [l for l in r.output()
            if re.match(r"^scheduler \| [\w-]+: (finished ok|failed|stopped after)", l)]


def test_postgres_down_mid_run():
    """Postgres stops while 41 schedules run every second: the runs go on, it is said once, up to
    256 rows wait and are written when it is back, the rest are dropped and counted."""
    from services import Postgres
    pg = Postgres()
    srv, _ = http_server(Handler)
    many = "".join("      h%d: {cron: \"@every 1s\", http: \"GET http://127.0.0.1:%d/ok\"}\n"
                   % (i, srv.server_address[1]) for i in range(40))
    try:
        r = Roster(history_config(pg, "      tick: {cron: \"@every 1s\", command: \"true\"}\n"
                                  + many), json_logs=False)
        with r:
            wait_for(lambda: len(rows(pg)) >= 41, 60, "rows while Postgres is up")
            pg.stop()
            r.wait_line(r"^scheduler \| history: Postgres is unreachable \(.*\); runs go on, up "
                        r"to 256 rows wait for it and more are dropped$", timeout=30)
            n0 = len(run_ends(r))
            # runs go on, past what can wait; libpq's attempts meanwhile (backoff from 100 ms)
            # are not said again
            wait_for(lambda: len(run_ends(r)) >= n0 + 300, 90, "300 more runs while it is down")
            said = [l for l in r.output() if "history: Postgres is unreachable" in l]
            check(len(said) == 1, said)
            pg.start()
            back = r.wait_line(r"^scheduler \| history: Postgres is reachable again; (\d+) rows "
                               r"dropped meanwhile$", timeout=60)
            dropped = int(back.group(1))
            check(dropped >= 300 - 256 - 41, back.group(0))
            # the rows that waited were written once it came back; every run is a row or dropped
            wait_for(lambda: len(rows(pg)) + dropped >= len(run_ends(r)) - 41, 60,
                     "the outage's rows written")
            check(r.stop() == 0, r.tail())
            no_sanitizer_reports(r)
            written = len(rows(pg))
            # a row whose INSERT the server took as it went down may be written twice
            check(0 <= written + dropped - len(run_ends(r)) <= 1,
                  (written, dropped, len(run_ends(r))))
    finally:
        srv.shutdown()
        pg.cleanup()


def steal_channel(pid):
    """A copy of the scheduler process's fd 3 (pidfd_getfd, Linux 5.6+), or None where the
    kernel or its ptrace rules do not allow it."""
    import ctypes
    import socket
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(438, pidfd, 3, 0)  # SYS_pidfd_getfd, the same number on every arch
    os.close(pidfd)
    if fd < 0:
        return None
    return socket.socket(fileno=fd)


def test_channel_garbage_said_once():
    r, port = served_scheduler('      tick: {cron: "@every 1s", command: "true"}\n')
    with r:
        pid = int(r.wait_line(r"^roster +\| scheduler started \(pid (\d+)\)$",
                              timeout=30).group(1))
        wait_for(lambda: schedule_check(port, "tick"), 30, "scheduler:tick in /health")
        sock = steal_channel(pid)
        if sock is None:
            print("SKIP test_channel_garbage_said_once: pidfd_getfd is not allowed here")
            r.stop()
            return
        with sock:
            for msg in (b"not json", b"{" + b" " * 5000 + b"}", b"[1]",
                        b'{"metric":"roster_role_up","type":"gauge","value":1}',
                        b'{"component":"test:injected","status":"ok"}'):
                sock.send(msg)
        # the good message after the garbage is taken; the four bad ones are counted
        wait_for(lambda: health(port)[1]["checks"].get("test:injected"), 30,
                 "the good message after the garbage")
        wait_for(lambda: metric(port, "roster_status_messages_ignored_total",
                                role="scheduler") == 4, 10, "four messages ignored")
        r.wait_line(r"scheduler: its status channel \(fd 3\) sent a message that is not a "
                    r"JSON object; roster ignores such messages \(said once\)$", timeout=10)
        # the scheduler goes on reporting; the three other bad messages were not said
        runs = schedule_check(port, "tick")["runs"]
        wait_for(lambda: schedule_check(port, "tick")["runs"] >= runs + 2, 30, "more runs")
        r.wait_line(r"^scheduler \| tick: finished ok", timeout=10)
        said = [l for l in r.output() if "its status channel (fd 3) sent" in l]
        check(len(said) == 1, said)
        check(r.stop() == 0, r.tail())
        no_sanitizer_reports(r)


def test_copies_create_the_table_at_once():
    """Four copies of the scheduler start together on a database without the table: each
    creates it if absent (two at once may collide in the catalog; the loser tries again), and
    every copy's runs are rows."""
    from services import Postgres
    pg = Postgres()
    try:
        cfg = history_config(pg, "      tick: {cron: \"@every 1s\", command: \"true\"}\n")
        cfg = cfg.replace("    builtin: scheduler\n", "    builtin: scheduler\n    instances: 4\n")
        r = Roster(cfg, json_logs=False)
        with r:
            def ends():
                return [l for l in r.output() if re.match(
                    r"^scheduler\.\d \| tick: (finished ok|failed|stopped after)", l)]

            wait_for(lambda: all(len([l for l in ends() if l.startswith("scheduler.%d " % i)])
                                 >= 2 for i in range(4)), 60, "two runs of each copy")
            check(r.stop() == 0, r.tail())
            no_sanitizer_reports(r)
            check(not [l for l in r.output() if "cannot create table" in l], r.tail())
            check(len(rows(pg)) == len(ends()), (len(rows(pg)), len(ends())))
    finally:
        pg.cleanup()


def test_many_schedules_in_health():
    """A scheduler of 1000 schedules (the most a role may have): each is in /health and GET
    /schedules, none refused; their states at start come in a burst larger than the channel
    holds, and those that found it full are sent again."""
    r, port = served_scheduler("".join('      s%d: {cron: "%d * * * *", command: "true"}\n'
                                       % (i, i % 60) for i in range(1000)))
    with r:
        def all_in():
            try:
                _, doc = health(port)
            except OSError:
                return None
            got = [k for k in doc["checks"] if k.startswith("scheduler:s")]
            return got if len(got) == 1000 else None
        wait_for(all_in, 60, "1000 schedules in /health")
        status, body, _ = http_get("http://roster/schedules", unix=os.path.join(r.dir, "ctl.sock"))
        check(status == 200 and len(json.loads(body)["schedules"]) == 1000, body[:300])
        check(metric(port, "roster_status_messages_ignored_total", role="scheduler") == 0,
              "none refused")
        check(r.stop() == 0, r.tail())
        no_sanitizer_reports(r)


def test_reload_applies_schedules():
    """A reload that changes the schedules restarts the scheduler with them (it reads them when
    it starts): before, the plan's fingerprint left schedules out and the old ones ran on."""
    r, port = served_scheduler('      one: {cron: "@every 1s", command: "true"}\n')
    with r:
        wait_for(lambda: schedule_check(port, "one"), 30, "scheduler:one in /health")
        with open(r.config_path) as f:
            text = f.read()
        with open(r.config_path, "w") as f:
            f.write(text.replace("one: {cron: \"@every 1s\", command: \"true\"}",
                                 "two: {cron: \"@every 1s\", command: \"true\"}"))
        r.send(signal.SIGHUP)
        wait_for(lambda: schedule_check(port, "two") and not schedule_check(port, "one"), 30,
                 "scheduler:two instead of scheduler:one after the reload")
        r.wait_line(r"^scheduler \| two: finished ok", timeout=30)
        check(r.stop() == 0, r.tail())
        no_sanitizer_reports(r)


def test_fleet_skips_in_metrics():
    """Two rosters of one app on one Redis: each occurrence runs once in the pair, and the one
    that did not run it counts it in roster_schedule_skipped_total{reason="another_replica"}."""
    from services import Redis
    rd = Redis()
    rs = []
    try:
        for _ in range(2):
            port = free_port()
            rs.append((Roster("app: pair\nredis: {url: \"%s\"}\nhealth:\n  listen: 127.0.0.1:%d\n"
                              "roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
                              "      tick: {cron: \"@every 1s\", command: \"true\"}\n"
                              % (rd.url, port), json_logs=False), port))

        def count(name, **labels):
            total = 0
            for _, p in rs:
                try:
                    total += metric(p, name, schedule="tick", **labels) or 0
                except OSError:  # its health server is not up yet
                    pass
            return total
        def skipped():
            return count("roster_schedule_skipped_total", reason="another_replica")
        # from when both run (the first to start ran the first occurrences alone)
        wait_for(lambda: skipped() >= 1, 60, "an occurrence taken by the other replica")
        ran0, skipped0 = count("roster_schedule_runs_total", outcome="ok"), skipped()
        wait_for(lambda: skipped() >= skipped0 + 4, 60, "four more taken by the other")
        ran = count("roster_schedule_runs_total", outcome="ok") - ran0
        # each occurrence ran on one and was skipped on the other (one or two may be under way)
        check(abs(ran - (skipped() - skipped0)) <= 2, (ran, skipped() - skipped0))
        for r, _ in rs:
            check(r.stop() == 0, r.tail())
            no_sanitizer_reports(r)
    finally:
        for r, _ in rs:
            r.cleanup()
        rd.cleanup()


if __name__ == "__main__":
    run(globals())
