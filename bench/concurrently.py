#!/usr/bin/env python3
"""bench/concurrently.py — roster's concurrently mode beside concurrently itself (issue 9):
`roster -k A B` against `concurrently -k A B` (bench/node_modules) and `npx concurrently -k A B`,
with string commands, as a package.json script would write them.

    bench/concurrently.py [--runs 7]

For each tool and run: launch -> both children's own start stamps (start), the RSS of every
process of the run that is not one of the two children (the tool, its node, npx's npm, and any
shell a tool keeps between itself and a child), then SIGINT to the process group as a terminal's
Ctrl-C sends it -> every process gone (Ctrl-C to exit). Medians; the ratios roster ÷ tool come
from the same run, the tools interleaved in every repetition. Targets (issue 9): roster's RSS at
most 1/20 of concurrently's, its start at most 1/10.

Needs bench/node_modules (bench/run.sh installs it: npm install in bench/) and a build
(build/roster, build/tests/rtest-child). Every wait has a deadline.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from procmem import rss_kb  # noqa: E402 (bench/ is the script's own folder)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def stamps(path):
    try:
        with open(path) as f:
            return [int(line.split()[2]) for line in f if line.count(" ") >= 2]
    except FileNotFoundError:
        return []


def tree(root):
    """pid -> (ppid, comm, cmdline) for root and its descendants."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            procs[int(d)] = (int(rest[1]), cmd)
        except (OSError, IndexError):
            continue
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        if p in procs and p not in out:
            out[p] = procs[p]
            todo.extend(q for q, (pp, _) in procs.items() if pp == p)
    return out


def one_run(argv, stamp, rtest, deadline_s=30):
    t0 = time.time_ns()  # CLOCK_REALTIME, the clock rtest-child stamps with
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + deadline_s
        while len(stamps(stamp)) < 2:
            if time.monotonic() > end or p.poll() is not None:
                raise RuntimeError("%s: the two children did not start" % argv[0])
            time.sleep(0.001)
        start_ms = (max(stamps(stamp)) - t0) / 1e6
        time.sleep(1.0)  # settle before sampling memory
        procs = tree(p.pid)
        others = [q for q, (_, cmd) in procs.items() if not cmd.startswith(rtest)]
        rss = sum(rss_kb(q) for q in others) / 1024.0
        names = sorted(os.path.basename(procs[q][1].split(" ")[0]) for q in others)
        t1 = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)  # a terminal's Ctrl-C goes to the foreground group
        end = time.monotonic() + deadline_s
        while tree(p.pid) or p.poll() is None:
            if time.monotonic() > end:
                raise RuntimeError("%s: still running %ds after Ctrl-C" % (argv[0], deadline_s))
            p.poll()
            time.sleep(0.001)
        return start_ms, rss, (time.monotonic() - t1) * 1000, names
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--roster", default=os.path.join(REPO, "build", "roster"))
    ap.add_argument("--rtest", default=os.path.join(REPO, "build", "tests", "rtest-child"))
    args = ap.parse_args()
    conc = os.path.join(HERE, "node_modules", ".bin", "concurrently")
    if not os.access(conc, os.X_OK):
        sys.exit("bench/node_modules/.bin/concurrently is missing: run npm install in bench/")
    npx = shutil.which("npx")
    tmp = tempfile.mkdtemp(prefix="roster-conc-")
    # npx finds concurrently in bench/node_modules from bench/ (no download)
    tools = [("roster", lambda a, b: [args.roster, "-k", a, b]),
             ("concurrently", lambda a, b: [conc, "-k", a, b])]
    if npx:
        tools.append(("npx concurrently", lambda a, b: [npx, "--no-install", "concurrently",
                                                        "-k", a, b]))
    res = {name: [] for name, _ in tools}
    names = {}
    os.chdir(HERE)
    for i in range(args.runs + 1):  # the first round warms the page cache and is dropped
        order = tools[i % len(tools):] + tools[:i % len(tools)]
        for name, mk in order:
            stamp = os.path.join(tmp, "stamps-%d-%s" % (i, name.replace(" ", "_")))
            a = "%s stamp %s a 3600" % (args.rtest, stamp)
            b = "%s stamp %s b 3600" % (args.rtest, stamp)
            r = one_run(mk(a, b), stamp, args.rtest)
            names[name] = r[3]
            if i > 0:
                res[name].append(r[:3])
    shutil.rmtree(tmp, ignore_errors=True)
    med = {n: [statistics.median(x[k] for x in v) for k in range(3)] for n, v in res.items()}
    print("| tool | start (launch → both children) | RSS of all but the children | Ctrl-C → "
          "all gone | processes besides the children | roster ÷ tool: start, RSS |")
    print("|---|---:|---:|---:|---|---|")
    for name, _ in tools:
        s, m, c = med[name]
        ratio = "—" if name == "roster" else "%.3f×, %.3f×" % (med["roster"][0] / s,
                                                                  med["roster"][1] / m)
        print("| %s | %.1f ms | %.2f MB | %.1f ms | %s | %s |" % (
            name, s, m, c, ", ".join(names[name]), ratio))
    print("(medians of %d runs; load average %s)" % (args.runs, os.getloadavg()))


if __name__ == "__main__":
    main()
