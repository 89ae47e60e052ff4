#!/usr/bin/env python3
"""bench/scheduler.py — roster's built-in scheduler beside a Node scheduler and a shell loop
(issue 12): each fires an HTTP GET every second at a local keep-alive server that records when
each request arrives.

    bench/scheduler.py [--seconds 60]

Contenders, all running at once for the same minute:
  roster       `roster -c FILE` whose only role is `builtin: scheduler` with `@every 1s` and an
               http action; measured: the scheduler process (`roster role scheduler`) alone, and
               roster + scheduler together
  node-cron    node with node-cron (`* * * * * *`) and http.get through a keep-alive agent
               (bench/scheduler/node_modules; installed with npm when missing and npm is there)
  setInterval  node, plain: a setTimeout to the next whole second, then setInterval(1000)
  shell        sh -c 'while :; do sleep 1; curl -s -o /dev/null URL; done'

Figures: RSS and PSS (medians of one sample a second; PSS divides shared pages such as libc's
among the processes mapping them; the shell's include its sleep and curl children when they are
there), CPU over the window (utime + stime, the shell's with its reaped children),
and fire-time lateness: the ms between the due instant (the whole second) and the request's
arrival at the server, p50 / p99 / max. The shell's loop is not aligned to whole seconds and
drifts by its own run time each turn: its lateness is given as the drift per fire. Targets
(issue 12): roster's scheduler RSS at most 1/20 of node-cron's; p99 lateness at most 5 ms.

Needs a build (build/roster). The warm-up, the window and every wait have deadlines.
"""
import argparse
import selectors
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from procmem import pss_kb, rss_kb  # noqa: E402 (bench/ is the script's own folder)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NODE_DIR = os.path.join(HERE, "scheduler")
TICK = os.sysconf("SC_CLK_TCK")
WARMUP_S = 3

NODE_CRON = r"""
const cron = require('node-cron');
const http = require('http');
const agent = new http.Agent({keepAlive: true});
cron.schedule('* * * * * *', () => {
  http.get(process.argv[2], {agent}, (res) => res.resume()).on('error', () => {});
});
"""

NODE_INTERVAL = r"""
const http = require('http');
const agent = new http.Agent({keepAlive: true});
const fire = () => http.get(process.argv[2], {agent}, (res) => res.resume()).on('error', () => {});
setTimeout(() => { fire(); setInterval(fire, 1000); }, 1000 - Date.now() % 1000);
"""


class Arrivals:
    """A keep-alive HTTP/1.1 server on one thread with a selector: the arrival time of each
    request is taken as soon as its head is read, without a thread started per connection (which
    would charge a client that opens a connection a run, as roster's does, for the server's
    thread start)."""

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ, None)
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        bufs = {}
        while not self.stop:
            for key, _ in self.sel.select(0.2):
                if key.data is None:
                    try:
                        c, _ = self.sock.accept()
                    except BlockingIOError:
                        continue
                    c.setblocking(False)
                    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    bufs[c] = b""
                    self.sel.register(c, selectors.EVENT_READ, "conn")
                    continue
                c = key.fileobj
                try:
                    data = c.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    data = b""
                if not data:
                    self.sel.unregister(c)
                    c.close()
                    bufs.pop(c, None)
                    continue
                bufs[c] += data
                while b"\r\n\r\n" in bufs[c]:
                    t = time.time()
                    head, bufs[c] = bufs[c].split(b"\r\n\r\n", 1)
                    path = head.split(b" ", 2)[1].decode()
                    with self.lock:
                        self.seen.append((path, t))
                    close = b"connection: close" in head.lower()
                    try:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    except OSError:
                        close = True
                    if close:
                        self.sel.unregister(c)
                        c.close()
                        bufs.pop(c, None)
                        break

    def shutdown(self):
        self.stop = True
        self.thread.join(5)


def tree(root):
    """root and its descendants' pids."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(pid, children=False):
    """utime + stime (and the reaped children's with children)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    t = int(rest[11]) + int(rest[12])
    return t + int(rest[13]) + int(rest[14]) if children else t


def wait_until(pred, seconds, what):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def node_cron_ready(npm):
    if os.path.isdir(os.path.join(NODE_DIR, "node_modules", "node-cron")):
        return True
    if not npm:
        return False
    print("scheduler.py: npm install (node-cron) into bench/scheduler/node_modules",
          file=sys.stderr)
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=NODE_DIR, check=True, timeout=300, stdout=subprocess.DEVNULL)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60, help="the measured window (default 60)")
    ap.add_argument("--roster", default=os.path.join(REPO, "build", "roster"))
    args = ap.parse_args()
    if not 5 <= args.seconds <= 3600:
        sys.exit("--seconds must be from 5 to 3600")
    if not os.access(args.roster, os.X_OK):
        sys.exit("%s is missing: build roster first (scripts/build.sh)" % args.roster)
    node, npm, curl = shutil.which("node"), shutil.which("npm"), shutil.which("curl")

    srv = Arrivals()
    base = "http://127.0.0.1:%d" % srv.port
    tmp = tempfile.mkdtemp(prefix="roster-sched-bench-")
    cfg = os.path.join(tmp, "roster.yaml")
    with open(cfg, "w") as f:
        f.write("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
                "      tick: {cron: \"@every 1s\", http: \"GET %s/roster\"}\n" % base)
    tools = [("roster", [args.roster, "-c", cfg])]
    if node and node_cron_ready(npm):
        path = os.path.join(tmp, "cron.js")
        with open(path, "w") as f:
            f.write(NODE_CRON)
        tools.append(("node-cron", [node, path, base + "/node-cron"]))
    else:
        print("scheduler.py: no node or node-cron: node-cron left out", file=sys.stderr)
    if node:
        path = os.path.join(tmp, "interval.js")
        with open(path, "w") as f:
            f.write(NODE_INTERVAL)
        tools.append(("setInterval", [node, path, base + "/setInterval"]))
    if curl:
        tools.append(("shell", ["sh", "-c", "while :; do sleep 1; curl -s -o /dev/null %s/shell; "
                                "done" % base]))
    procs = {}
    try:
        for name, argv in tools:
            # require('node-cron') from the script in tmp finds bench/scheduler/node_modules
            env = dict(os.environ, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
            procs[name] = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                           start_new_session=True, cwd=tmp, env=env)
        # the scheduler process roster started (`roster role scheduler`)
        rpid = procs["roster"].pid
        sched = wait_until(lambda: [p for p in tree(rpid)[1:]
                                    if b"role" in open("/proc/%d/cmdline" % p, "rb").read()],
                           30, "roster's scheduler process")[0]
        wait_until(lambda: all(any(p == "/" + n for p, _ in srv.seen)
                               for n, _ in tools), 30, "a first request from each")
        time.sleep(WARMUP_S)
        # what is measured: a list of pids (resampled for the shell's children) and CPU
        who = {"roster scheduler": lambda: [sched], "roster + scheduler": lambda: [rpid, sched]}
        for n, _ in tools[1:]:
            who[n] = (lambda pid: (lambda: tree(pid)))(procs[n].pid)
        cpu0 = {n: sum(cpu_ticks(p, n == "shell") for p in f()) for n, f in who.items()}
        t0 = time.time()
        rss = {n: [] for n in who}
        pss = {n: [] for n in who}
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            for n, f in who.items():
                pids = f()
                rss[n].append(sum(rss_kb(p) for p in pids))
                pss[n].append(sum(pss_kb(p) for p in pids))
            # sampled half-way between the fires: the scan of /proc holds Python's lock, which
            # the server's thread needs to take an arrival's time
            time.sleep(1.5 - (time.time() + 0.0) % 1.0 if time.time() % 1.0 > 0.5 else
                       0.5 - time.time() % 1.0)
        t1 = time.time()
        cpu1 = {n: sum(cpu_ticks(p, n == "shell") for p in f()) for n, f in who.items()}
    finally:
        for p in procs.values():
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    with srv.lock:
        seen = [(p, t) for p, t in srv.seen if t0 <= t <= t1]
    late = {}
    for n, _ in tools:
        ts = sorted(t for p, t in seen if p == "/" + n)
        if n == "shell":
            late[n] = ts
            continue
        # ms after the whole second before the arrival: none of them fires before its due
        # instant (node-cron's 1 s tick runs at the phase it started with, up to 1 s late)
        late[n] = [(t % 1.0) * 1000.0 for t in ts]
    window = t1 - t0

    def cpu_ms(n):
        return (cpu1[n] - cpu0[n]) * 1000.0 / TICK

    print("| process | RSS (median) | PSS | CPU in %.0f s | fires | lateness p50 | p99 | max |"
          % window)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = [("roster scheduler", "roster"), ("roster + scheduler", "roster")]
    rows += [(n, n) for n, _ in tools[1:]]
    for n, src in rows:
        m = statistics.median(rss[n]) / 1024.0 if rss[n] else 0
        ps = statistics.median(pss[n]) / 1024.0 if pss[n] else 0
        lat = late.get(src, [])
        if src == "shell":
            gaps = [(b - a) * 1000.0 - 1000.0 for a, b in zip(lat, lat[1:])]
            fires = len(lat)
            lcol = ("drifts %.1f ms a fire" % statistics.mean(gaps) if gaps else "—", "", "")
        else:
            fires = len(lat)
            lcol = tuple("%.1f ms" % f(lat) if lat else "—" for f in
                         (lambda x: pct(x, 50), lambda x: pct(x, 99), max))
        print("| %s | %.2f MB | %.2f MB | %.0f ms | %d | %s | %s | %s |" % (
            n, m, ps, cpu_ms(n), fires, *lcol))
    r = statistics.median(rss["roster scheduler"])
    if "node-cron" in rss and rss["node-cron"]:
        print("roster scheduler ÷ node-cron: RSS %.3f× (target ≤ 0.05), PSS %.3f×, CPU %.2f×" % (
            r / statistics.median(rss["node-cron"]),
            statistics.median(pss["roster scheduler"]) / statistics.median(pss["node-cron"]),
            cpu_ms("roster scheduler") / max(cpu_ms("node-cron"), 1e-9)))
    if "setInterval" in rss and rss["setInterval"]:
        print("roster scheduler ÷ setInterval: RSS %.3f×" % (
            r / statistics.median(rss["setInterval"])))
    if late["roster"]:
        print("roster p99 lateness %.1f ms (target ≤ 5 ms); fires over 5 ms late: %d of %d" % (
            pct(late["roster"], 99), sum(x > 5 for x in late["roster"]), len(late["roster"])))
    print("(%d s window after %d s warm-up; load average %s)" % (
        args.seconds, WARMUP_S, " ".join("%.2f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    main()
