#!/usr/bin/env python3
"""bench/worker.py — roster's built-in worker beside a BullMQ worker (issue 13's benchmark).

The same N no-op jobs (default 20,000) on the same redis-server, with the same concurrency
(default 8), through:
  roster http     builtin: worker, an http handler POSTing each job to a local keep-alive
                  Node server that answers 204 (bench/worker-bullmq/hook.js)
  roster command  builtin: worker, a command handler `true` (a process per job)
  bullmq          a BullMQ Worker with a no-op processor (bench/worker-bullmq/bull.js)
For each: jobs/s (N jobs already queued when the worker starts: from the poll that sees the
first job done to the one that sees N done, polled every 2 ms), the worker's peak RSS during that run, and the enqueue-to-start
latency of 200 jobs enqueued one at a time, 20 ms apart, to the idle worker (p50/p99, from the
store's own created and started times, ms). One run; compare the ratios, not the figures.

Needs build/roster, build/tests/jobs-client, redis-server, node; installs BullMQ into
bench/worker-bullmq/node_modules with npm when it is missing.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from procmem import pss_kb, rss_kb  # noqa: E402 (bench/ is the script's own folder)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BULL = os.path.join(HERE, "worker-bullmq")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Resp:
    """A minimal Redis client (RESP2), enough for polling counters."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline().rstrip(b"\r\n")
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rfind(")") + 2:].split()[1]) == ppid:
                out.append(int(d))
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class JobsClient:
    """build/tests/jobs-client, one operation a line."""

    def __init__(self, url, app):
        self.p = subprocess.Popen([os.path.join(ROOT, "build", "tests", "jobs-client"), url, app],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def many(self, ops, chunk=500):
        out = []
        for i in range(0, len(ops), chunk):
            part = ops[i:i + chunk]
            self.p.stdin.write("".join(json.dumps(o) + "\n" for o in part))
            self.p.stdin.flush()
            out += [json.loads(self.p.stdout.readline()) for _ in part]
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def wait_count(poll, n, timeout, sample):
    """Polls poll() every 2 ms until it reaches n; returns the wall time (s) it was seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sample()
        if poll() >= n:
            return time.time()
        time.sleep(0.002)
    raise RuntimeError("only %d of %d jobs done within %ds" % (poll(), n, timeout))


def run_roster(kind, args, redis_port, hook_port, tmp):
    url = "redis://127.0.0.1:%d" % redis_port
    r = Resp(redis_port)
    r.cmd("FLUSHALL")
    handler = ('{http: "POST http://127.0.0.1:%d/job", timeout: 30s}' % hook_port
               if kind == "http" else '{command: "true"}')
    cfg = os.path.join(tmp, "roster-%s.yaml" % kind)
    with open(cfg, "w") as f:
        f.write("app: bench\nredis: {url: \"%s\"}\nroles:\n  worker:\n    builtin: worker\n"
                "    concurrency: %d\n    handlers:\n      noop: %s\n" % (url, args.concurrency,
                                                                          handler))
    jc = JobsClient(url, "bench")
    jc.many([["enqueue", {"queue": "default", "type": "noop",
                                                  "payload": {"i": i}}] for i in range(args.jobs)])
    log = open(os.path.join(tmp, "roster-%s.log" % kind), "w")
    p = subprocess.Popen([args.roster, "-c", cfg, "--no-color"],
                         stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    peak = {"role": 0, "sup": 0, "pss": 0, "n": 0, "kids": []}

    def sample():
        peak["n"] += 1
        if peak["n"] % 25:
            return  # memory is read every 25th poll (about every 50 ms)
        if not peak["kids"]:
            peak["kids"] = children(p.pid)  # the role's process, found once
        peak["sup"] = max(peak["sup"], rss_kb(p.pid))
        for k in peak["kids"]:
            peak["role"] = max(peak["role"], rss_kb(k))
            peak["pss"] = max(peak["pss"], pss_kb(k))

    done = lambda: int(r.cmd("HGET", "roster:bench:jobs:stats:default", "done") or 0)
    first = wait_count(done, 1, 60, sample)
    t_end = wait_count(done, args.jobs, 600, sample)
    rate = (args.jobs - 1) / (t_end - first)
    lat = trickle_roster(jc, args)
    jc.close()
    p.terminate()
    p.wait(timeout=60)
    log.close()
    return {"jobs_s": rate, "rss_kb": peak["role"], "pss_kb": peak["pss"],
            "sup_rss_kb": peak["sup"],
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "n_lat": len(lat)}


def trickle_roster(jc, args):
    time.sleep(1.0)  # the worker idle, waiting on the wake channel
    ids = []
    for i in range(args.trickle):
        ids.append(jc.many([["enqueue", {"queue": "default", "type": "noop",
                                          "payload": {"t": i}}]])[0]["id"])
        time.sleep(args.gap_ms / 1000.0)
    time.sleep(0.5)
    lat = []
    for a in jc.many([["get", i] for i in ids]):
        j = a["job"]
        if j["started_at"]:
            lat.append(j["started_at"] - j["created_at"])
    return lat


def run_bullmq(args, redis_port):
    r = Resp(redis_port)
    r.cmd("FLUSHALL")
    node = shutil.which("node")
    js = os.path.join(BULL, "bull.js")
    subprocess.run([node, js, "enqueue", str(redis_port), str(args.jobs)], check=True,
                   stdout=subprocess.DEVNULL, cwd=BULL)
    p = subprocess.Popen([node, js, "work", str(redis_port), str(args.concurrency)],
                         stdout=subprocess.PIPE, text=True, cwd=BULL)
    peak = {"rss": 0, "pss": 0, "n": 0}

    def sample():
        peak["n"] += 1
        if peak["n"] % 25:
            return
        peak["rss"] = max(peak["rss"], rss_kb(p.pid))
        peak["pss"] = max(peak["pss"], pss_kb(p.pid))

    done = lambda: int(r.cmd("ZCARD", "bull:bench:completed"))
    first = wait_count(done, 1, 60, sample)
    t_end = wait_count(done, args.jobs, 600, sample)
    rate = (args.jobs - 1) / (t_end - first)
    # the latency: jobs added one at a time to the idle worker
    time.sleep(1.0)
    subprocess.run([node, "-e", TRICKLE, str(redis_port), str(args.trickle), str(args.gap_ms)],
                   check=True, cwd=BULL, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    lat = []
    for i in range(args.jobs + 1, args.jobs + args.trickle + 1):
        ts, po = r.cmd("HMGET", "bull:bench:%d" % i, "timestamp", "processedOn")
        if ts and po:
            lat.append(int(po) - int(ts))
    p.terminate()
    p.wait(timeout=60)
    return {"jobs_s": rate, "rss_kb": peak["rss"], "pss_kb": peak["pss"], "p50_ms": pct(lat, 50),
            "p99_ms": pct(lat, 99), "n_lat": len(lat)}


TRICKLE = """
const { Queue } = require("bullmq");
const [port, n, gap] = process.argv.slice(1).map(Number);
(async () => {
  const q = new Queue("bench", { connection: { host: "127.0.0.1", port } });
  await q.waitUntilReady();
  for (let i = 0; i < n; i++) {
    await q.add("noop", { t: i });
    await new Promise((r) => setTimeout(r, gap));
  }
  await q.close();
})();
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--trickle", type=int, default=200)
    ap.add_argument("--gap-ms", type=int, default=20)
    ap.add_argument("--only", default="http,command,bullmq")
    ap.add_argument("--roster", default=os.path.join(ROOT, "build", "roster"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args()
    for need in ("build/roster", "build/tests/jobs-client"):
        if not os.path.exists(os.path.join(ROOT, need)):
            sys.exit("%s is missing: build roster first (scripts/build.sh)" % need)
    if not shutil.which("redis-server") or not shutil.which("node"):
        sys.exit("needs redis-server and node")
    if not os.path.isdir(os.path.join(BULL, "node_modules", "bullmq")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=BULL, check=True)
    tmp = tempfile.mkdtemp(prefix="roster-bench-worker-")
    rport, hport = free_port(), free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", tmp],
                             stdout=subprocess.DEVNULL)
    hook = subprocess.Popen([shutil.which("node"), os.path.join(BULL, "hook.js"), str(hport)],
                            stdout=subprocess.PIPE, text=True)
    hook.stdout.readline()
    time.sleep(0.3)
    results = {}
    try:
        for what in args.only.split(","):
            if what == "bullmq":
                results[what] = run_bullmq(args, rport)
            else:
                results["roster " + what] = run_roster(what, args, rport, hport, tmp)
            print(what, json.dumps(results.get(what) or results.get("roster " + what)),
                  flush=True)
    finally:
        hook.terminate()
        redis.terminate()
        redis.wait()
    print("\n%d no-op jobs, concurrency %d, redis-server %s, node %s, bullmq %s"
          % (args.jobs, args.concurrency,
             subprocess.run(["redis-server", "--version"], capture_output=True,
                            text=True).stdout.split()[2],
             subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
             json.load(open(os.path.join(BULL, "node_modules", "bullmq", "package.json")))["version"]))
    print("| worker | jobs/s | worker RSS (PSS) | pickup p50 | pickup p99 |")
    print("|---|---|---|---|---|")
    for k, v in results.items():
        print("| %s | %.0f | %.1f MiB (%.1f MiB) | %d ms | %d ms |"
              % (k, v["jobs_s"], v["rss_kb"] / 1024.0, v["pss_kb"] / 1024.0, v["p50_ms"],
                 v["p99_ms"]))
    b = results.get("bullmq")
    if b:
        for k, v in results.items():
            if k != "bullmq":
                print("%s ÷ bullmq: jobs/s %.2f, RSS %.3f, PSS %.3f"
                      % (k, v["jobs_s"] / b["jobs_s"], v["rss_kb"] / b["rss_kb"],
                         v["pss_kb"] / b["pss_kb"]))
    if args.keep:
        print("kept", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
