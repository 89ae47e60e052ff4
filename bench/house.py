#!/usr/bin/env python3
"""bench/house.py — roster against roster: the figures issue 8 ("the house in order") holds to,
for two builds side by side in one run (an earlier commit and this one), so a refactor's cost in
memory and speed shows as a ratio measured under the same conditions.

    bench/house.py --before OLD/build --after build [--runs 5]

Each BUILD is a build directory with roster and tests/rtest-child. Figures (lower is better except
requests/s):

  rss_health      idle RSS of roster with three idle roles, the health port and the control
                  socket on, no Postgres (target <= 6 MB)
  rss_pg          the same with Postgres configured: a real server on loopback, budget read from
                  it (target <= 10 MB)
  start3          launch -> the last of three roles' own start stamps (target <= 5 ms)
  health_rps      /health requests/s under the log flood: bench.py's scenario 6 for roster,
                  wrk at full blast (target >= 50,000)
  start500        launch -> the last of 500 roles' start stamps (target <= 0.5 s)
  idle500_cpu     roster's own CPU (utime + stime) over 10 s with 500 idle roles, in percent of
                  one core (target <= 0.5 %)

Every wait has a deadline; the machine is shared, so compare the two builds through the ratios.
Standard library only, plus the end-to-end tests' Postgres helper (tests/e2e/services.py).
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

from harness import free_port  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)


def wait_until(pred, timeout_s, what):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.002)
    raise RuntimeError("timed out waiting for " + what)


def stamps(path):
    try:
        with open(path) as f:
            return [int(line.split()[2]) for line in f if line.count(" ") >= 2]
    except FileNotFoundError:
        return []


class Roster:
    """roster run on a generated config in its own temporary directory."""

    def __init__(self, build, roles, extra="", health=False):
        self.dir = tempfile.mkdtemp(prefix="roster-house-")
        self.stamp = os.path.join(self.dir, "stamps")
        self.port = free_port() if health else None
        lines = []
        if health:
            lines.append('health: {listen: "127.0.0.1:%d"}' % self.port)
        # control is on by default; a socket of its own keeps runs apart
        lines.append('control: {socket: "%s"}' % os.path.join(self.dir, "ctl.sock"))
        if extra:
            lines.append(extra)
        lines.append("roles:")
        rtest = os.path.join(build, "tests", "rtest-child")
        for name in roles:
            lines.append("  %s: {command: [%s, stamp, %s, %s, '3600']}" % (
                name, json.dumps(rtest), json.dumps(self.stamp), name))
        self.cfg = os.path.join(self.dir, "roster.yaml")
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.roster = os.path.join(build, "roster")
        self.proc = None

    def start(self):
        self.t0 = time.time_ns()  # CLOCK_REALTIME, the clock rtest-child stamps with
        self.proc = subprocess.Popen([self.roster, "-c", self.cfg, "--no-color"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     cwd=self.dir)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["rm", "-rf", self.dir])


def idle_rss(build, extra="", settle_s=1.5, samples=5, ready=None):
    r = Roster(build, ["a", "b", "c"], extra=extra, health=True)
    try:
        r.start()
        wait_until(lambda: len(stamps(r.stamp)) >= 3, 10, "three roles")
        if ready:
            ready(r)
        time.sleep(settle_s)  # let start-up allocations settle before sampling
        xs = []
        for _ in range(samples):
            xs.append(rss_kb(r.proc.pid))
            time.sleep(0.2)
        return statistics.median(xs) / 1024.0
    finally:
        r.stop()


def health_up(r):
    def ok():
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % r.port, timeout=1) as a:
                body = json.loads(a.read())
            return "postgres" in json.dumps(body)
        except Exception:
            return False
    wait_until(ok, 15, "/health to show postgres")


def start_n(build, n, timeout_s):
    r = Roster(build, ["r%d" % i for i in range(n)])
    try:
        r.start()
        st = wait_until(lambda: (lambda s: s if len(s) >= n else None)(stamps(r.stamp)),
                        timeout_s, "%d roles" % n)
        return (max(st) - r.t0) / 1e9, r
    except Exception:
        r.stop()
        raise


def idle_cpu(r, seconds=10.0):
    hz = os.sysconf("SC_CLK_TCK")
    time.sleep(1.0)  # past the start-up burst
    a, t0 = cpu_ticks(r.proc.pid), time.monotonic()
    time.sleep(seconds)
    b, t1 = cpu_ticks(r.proc.pid), time.monotonic()
    return 100.0 * (b - a) / hz / (t1 - t0)


def health_rps(build):
    out = os.path.join(tempfile.mkdtemp(prefix="roster-house-"), "h.json")
    p = subprocess.run([sys.executable, os.path.join(HERE, "bench.py"), "--tools", "roster",
                        "--scenarios", "health", "--health-runs", "1",
                        "--roster", os.path.join(build, "roster"),
                        "--rtest", os.path.join(build, "tests", "rtest-child"), "--out", out],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("bench.py health failed: " + p.stderr[-500:])
    with open(out) as f:
        data = json.load(f)
    try:
        return data["summary"]["roster"]["health"]["paths"]["/health"]["rps"]
    except (KeyError, TypeError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="build directory of the earlier commit")
    ap.add_argument("--after", default=os.path.join(REPO, "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-health-load", action="store_true", help="skip the wrk scenario")
    args = ap.parse_args()
    builds = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    res = {k: {} for k in builds}

    from services import Postgres
    pg = Postgres(max_connections=40)
    pg_extra = 'postgres: {url: "%s", budget: auto}' % pg.url
    try:
        for i in range(args.runs):
            for key, b in (builds.items() if i % 2 == 0 else reversed(list(builds.items()))):
                res[key].setdefault("rss_health", []).append(idle_rss(b))
                res[key].setdefault("rss_pg", []).append(idle_rss(b, pg_extra, ready=health_up))
                t, r = start_n(b, 3, 10)
                r.stop()
                res[key].setdefault("start3", []).append(t * 1000)
        for key, b in builds.items():
            t, r = start_n(b, 500, 30)
            try:
                res[key]["start500"] = [t]
                res[key]["idle500_cpu"] = [idle_cpu(r)]
            finally:
                r.stop()
        if not args.no_health_load:
            for key, b in builds.items():
                res[key]["health_rps"] = [health_rps(b)]
    finally:
        pg.stop()

    rows = [("rss_health", "idle RSS, health + control, no Postgres", "MB", "<= 6"),
            ("rss_pg", "idle RSS, Postgres configured", "MB", "<= 10"),
            ("start3", "three roles start", "ms", "<= 5"),
            ("health_rps", "/health requests/s under the log flood", "req/s", ">= 50,000"),
            ("start500", "500 roles start", "s", "<= 0.5"),
            ("idle500_cpu", "500 idle roles, roster's CPU", "% of a core", "<= 0.5")]
    print("| figure | before | after | after ÷ before | target |")
    print("|---|---:|---:|---:|---|")
    for key, label, unit, target in rows:
        b, a = res["before"].get(key), res["after"].get(key)
        if not b or not a or b[0] is None or a[0] is None:
            continue
        mb, ma = statistics.median(b), statistics.median(a)
        ratio = ma / mb if mb else float("nan")
        print("| %s | %.3g %s | %.3g %s | %.2f× | %s |" % (label, mb, unit, ma, unit, ratio, target))
    with open(os.path.join(HERE, "results", "house.json") if os.path.isdir(
            os.path.join(HERE, "results")) else os.path.join(tempfile.gettempdir(), "house.json"),
              "w") as f:
        json.dump({"builds": builds, "results": res}, f, indent=1)


if __name__ == "__main__":
    main()
