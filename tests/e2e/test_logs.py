"""Logs: whole lines only, none lost, under full-speed floods and through a slow reader;
partial last lines, long-line splitting, prefixes, colors, timestamps and JSON."""
import json
import os
import re
import shutil
import subprocess
import threading
import time

from harness import tmpdir, CHILD, ROSTER, Roster, check, run, run_roster, wait_for

N = 200000
LEN = 100


def expected_line(tag, i, length=LEN):
    head = "%s %d " % (tag, i)
    return head + "".join(chr(ord("a") + (i + j) % 26) for j in range(len(head), length - 1))


FLOOD_CFG = """
roles:
  alpha:
    kind: oneshot
    command: [@CHILD@, flood, "%d", "%d", alpha]
  beta:
    kind: oneshot
    command: [@CHILD@, flood, "%d", "%d", beta]
  gamma:
    kind: oneshot
    command: [@CHILD@, flood, "%d", "%d", gamma]
""" % (N, LEN, N, LEN, N, LEN)

PREFIX = re.compile(r"^(alpha|beta|gamma|roster) +\| (.*)$")


def verify(lines):
    """Checks every child line is whole and in order; returns (counts, torn, lost)."""
    nxt = {"alpha": 0, "beta": 0, "gamma": 0}
    torn = 0
    for line in lines:
        m = PREFIX.match(line)
        if not m:
            torn += 1
            continue
        role, msg = m.group(1), m.group(2)
        if role == "roster":
            continue
        i = nxt[role]
        if msg != expected_line(role, i):
            torn += 1
            # resynchronise on the sequence number when the line names one
            parts = msg.split(" ")
            if len(parts) > 1 and parts[0] == role and parts[1].isdigit():
                nxt[role] = int(parts[1]) + 1
            continue
        nxt[role] = i + 1
    lost = sum(N - v for v in nxt.values())
    return nxt, torn, lost


def test_three_floods_exact_counts():
    with Roster(FLOOD_CFG, json_logs=False, args=["--no-color"], stdout_file=True) as r:
        t0 = time.monotonic()
        code = r.wait_exit(120)
        took = time.monotonic() - t0
        check(code == 0, "all floods complete: exit 0, got %s\n%s" % (code, r.tail()))
        lines = r.output()
        counts, torn, lost = verify(lines)
        print("  %d lines in %.2fs (%.0f lines/s), torn %d, lost %d" % (
            3 * N, took, 3 * N / took, torn, lost))
        check(torn == 0, "no torn lines (got %d)" % torn)
        check(all(v == N for v in counts.values()), "exact counts: %s" % counts)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1])
    except FileNotFoundError:
        pass
    return 0


def test_slow_reader_loses_nothing():
    # Our own pipe, read slowly (16 KiB, then a 1 ms pause), instead of the harness's reader.
    d = tmpdir()
    cfg_path = os.path.join(d, "roster.yaml")
    with open(cfg_path, "w") as f:
        f.write(FLOOD_CFG.replace("@CHILD@", CHILD))
    env = dict(os.environ, NO_COLOR="1", TMPDIR=d)
    p = subprocess.Popen([ROSTER, "-c", cfg_path, "--no-color"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env)
    chunks = []
    max_rss = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            max_rss[0] = max(max_rss[0], rss_kb(p.pid))
            time.sleep(0.05)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    deadline = time.monotonic() + 120
    fd = p.stdout.fileno()
    while time.monotonic() < deadline:
        b = os.read(fd, 16384)
        if not b:
            break
        chunks.append(b)
        time.sleep(0.001)
    done.set()
    code = p.wait(timeout=30)
    data = b"".join(chunks).decode()
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    counts, torn, lost = verify(lines)
    print("  slow reader: %d bytes, roster max RSS %d KiB, torn %d, lost %d" % (
        len(data), max_rss[0], torn, lost))
    check(code == 0, "exit 0")
    check(torn == 0 and lost == 0, "no torn or lost lines: torn %d lost %d" % (torn, lost))
    check(all(v == N for v in counts.values()), "exact counts: %s" % counts)
    # backpressure, not buffering: roster did not hold the 60 MB the children wrote
    check(max_rss[0] < 40 * 1024, "roster's memory stayed bounded (%d KiB)" % max_rss[0])


def test_partial_last_line_is_flushed():
    cfg = """
roles:
  p:
    kind: oneshot
    command: [@CHILD@, partial, "no newline at the end"]
"""
    with Roster(cfg, json_logs=False, args=["--no-color"]) as r:
        check(r.wait_exit(10) == 0, "exit 0")
        lines = [l for l in r.output() if l.startswith("p ")]
        check(lines == ["p      | no newline at the end"], "flushed as a line: %s" % lines)
        out = r.output()
        i = out.index("p      | no newline at the end")
        check(any("p exited" in l for l in out[i + 1:]), "the line precedes the exit event")


def test_long_line_split_in_prefixed_pieces():
    cfg = """
roles:
  long:
    kind: oneshot
    command: [@CHILD@, longline, "150000"]
"""
    with Roster(cfg, json_logs=False, args=["--no-color"]) as r:
        check(r.wait_exit(10) == 0, "exit 0")
        pieces = [l[len("long   | "):] for l in r.output() if l.startswith("long   | ")]
        # log.max_line (64 KiB) bounds each written line, its prefix and newline included
        text = 65536 - len("long   | ") - 1
        check([len(p) for p in pieces] == [text, text, 150000 - 2 * text],
              "pieces of at most 64 KiB: %s" % [len(p) for p in pieces])
        whole = "".join(pieces)
        check(whole == "".join(chr(ord("a") + i % 26) for i in range(150000)),
              "the pieces make the original line")


def test_json_lines():
    cfg = """
roles:
  j:
    kind: oneshot
    command: [sh, -c, 'printf "quote \\" back \\\\\\\\ tab\\t\\n"; echo oops >&2; printf "\\377bad\\n"']
"""
    with Roster(cfg) as r:
        check(r.wait_exit(10) == 0, "exit 0")
        recs = [json.loads(l) for l in r.output()]
        mine = [x for x in recs if x["role"] == "j"]
        check(len(mine) == 3, "three lines: %s" % mine)
        out = [x for x in mine if x["stream"] == "stdout"]
        err = [x for x in mine if x["stream"] == "stderr"]
        check(out[0]["msg"] == 'quote " back \\ tab\t', "escapes round-trip: %r" % out[0]["msg"])
        check(err[0]["msg"] == "oops", "stderr marked: %s" % err)
        check(out[1]["msg"] == "\ufffdbad", "invalid UTF-8 replaced: %r" % out[1]["msg"])
        for x in mine:
            check(set(x) >= {"ts", "role", "instance", "pid", "stream", "msg"}, "fields: %s" % x)
            check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", x["ts"]), x["ts"])
        ev = [x for x in recs if x["role"] == "roster" and x.get("event") == "exited"]
        check(ev and ev[0]["subject"] == "j" and ev[0]["code"] == 0, "events carry fields: %s" % ev)


def test_prefix_padding_timestamps_and_color():
    cfg = """
roles:
  a:
    kind: oneshot
    command: [sh, -c, "echo from-a"]
  longername:
    kind: oneshot
    command: [sh, -c, "echo from-long"]
    instances: 2
"""
    with Roster(cfg, json_logs=False, args=["--timestamps"]) as r:
        r.wait_exit(10)
        out = r.output()
        ts = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
        check(any(re.match(ts + r"a {12}\| from-a$", l) for l in out),
              "a padded to 'longername.1': %s" % out)
        check(any(re.match(ts + r"longername\.1 \| from-long$", l) for l in out), "instance label")
        check(not any("\x1b[" in l for l in out), "no color when stdout is not a terminal")
    with Roster(cfg, json_logs=False, env={"FORCE_COLOR": "1", "NO_COLOR": ""}) as r:
        r.wait_exit(10)
        check(any(l.startswith("\x1b[") and "from-a" in l for l in r.output()),
              "FORCE_COLOR colors the prefixes")
    with Roster(cfg, json_logs=False, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}) as r:
        r.wait_exit(10)
        check(not any("\x1b[" in l for l in r.output()), "NO_COLOR wins over FORCE_COLOR")


def test_children_get_force_color_when_roster_colors():
    """As concurrently does: colored output from roster means FORCE_COLOR for the children (at
    the terminal's level), unless it is set already; no color, no FORCE_COLOR."""
    cfg = """
log: {color: %s}
roles:
  a:
    kind: oneshot
    command: [sh, -c, "echo FC=$${FORCE_COLOR-unset}"]
%s"""
    cases = [("always", "", {"TERM": "xterm"}, "FC=1"),
             ("always", "", {"TERM": "xterm-256color"}, "FC=2"),
             ("always", "", {"TERM": "xterm", "COLORTERM": "truecolor"}, "FC=3"),
             ("always", "    env: {FORCE_COLOR: \"0\"}\n", {"TERM": "xterm"}, "FC=0"),
             ("never", "", {"TERM": "xterm"}, "FC=unset")]
    for color, role_env, env, want in cases:
        env = dict(env, NO_COLOR="")
        with Roster(cfg % (color, role_env), json_logs=False, env=env,
                    unset=["FORCE_COLOR", "COLORTERM"] if "COLORTERM" not in env
                    else ["FORCE_COLOR"]) as r:
            r.wait_exit(10)
            got = [l for l in r.output() if "FC=" in l]
            check(len(got) == 1 and got[0].endswith(want),
                  "color %s, env %s: want %s, got %s" % (color, env, want, got))


def config_in_tmpdir(text):
    """A temporary directory holding roster.yaml (with @DIR@ and @CHILD@ filled in)."""
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(text.replace("@DIR@", d).replace("@CHILD@", CHILD))
    return d, path


def test_closed_std_fds():
    # Started with descriptors 0, 1 and 2 closed (a careless parent), roster must not hand them
    # to what it opens (its event loop, a child's pipe, the control socket) and then write its
    # log into them: it serves its control socket, runs a role to the end and exits 0. Before
    # /dev/null was put on them, libuv's own pipe got descriptors 1 and 2 and roster aborted.
    d, path = config_in_tmpdir("""
control: {socket: "@DIR@/ctl.sock"}
roles:
  job:
    kind: oneshot
    command: [sh, -c, "echo started; while [ ! -f @DIR@/go ]; do sleep 0.05; done; echo done"]
""")

    def close_std():
        for fd in (0, 1, 2):
            os.close(fd)
    p = subprocess.Popen([ROSTER, "-c", path], preexec_fn=close_std,
                         env=dict(os.environ, TMPDIR=d, NO_COLOR="1"))
    try:
        sock = os.path.join(d, "ctl.sock")

        def job_running():
            if p.poll() is not None:
                return "exited"
            if not os.path.exists(sock):
                return None
            code, out, _ = run_roster(["status", "--json", "--socket", sock])
            if code != 0:
                return None
            roles = json.loads(out)["roles"]
            return "running" if any(r["role"] == "job" and r.get("pid") for r in roles) else None
        state = wait_for(job_running, 10, "the job running and the control socket answering")
        check(state == "running", "roster runs with 0-2 closed (exit %s)" % p.returncode)
        open(os.path.join(d, "go"), "w").close()
        code = p.wait(timeout=10)
        check(code == 0, "the job ran to the end and roster exited 0 (got %s)" % code)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def idle_rss_kb(asan_options):
    """roster's resident memory running one quiet role, once it has started it."""
    d, path = config_in_tmpdir("roles:\n  quiet:\n    command: [sleep, \"60\"]\n")
    p = subprocess.Popen([ROSTER, "-c", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, TMPDIR=d, ASAN_OPTIONS=asan_options))
    try:
        deadline = time.monotonic() + 30
        for line in iter(p.stdout.readline, b""):
            if b"quiet started" in line:
                break
            check(time.monotonic() < deadline, "the quiet role started within 30 s")
        return rss_kb(p.pid)
    finally:
        p.terminate()
        p.wait(timeout=30)
        p.stdout.close()


def test_stalled_stdout_and_a_crash_loop_stay_bounded():
    # roster's stdout is a pipe nobody reads; a chatty role fills its pipes, exits 1 and is
    # restarted at once, again and again. What an exited role left in its pipes is read whatever
    # the pressure, so before the hard cap roster's memory grew ~10 MB/s (90 MB after 8 s). Now
    # the queue stops at LOGMUX_MAX_QUEUED (8 MiB): the lines over it are dropped, and once the
    # pipe is read again an event says how many.
    d, path = config_in_tmpdir("""
roles:
  chatty:
    command: [sh, -c, "@CHILD@ flood 300 200 chatty; exit 1"]
    backoff: {initial: 0ms, max: 10ms}
    give_up: {after: 1000000, within: 1s}
""")
    r, w = os.pipe()
    # Under AddressSanitizer freed memory sits in a quarantine (256 MB) before it is reused,
    # which a crash loop's churn fills: without it, the figure is roster's own.
    asan = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0"
    p = subprocess.Popen([ROSTER, "-c", path, "--log-format", "json"], stdout=w,
                         stderr=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=d,
                                                             ASAN_OPTIONS=asan))
    os.close(w)
    chunks = []
    reader = threading.Thread(target=lambda: [chunks.append(b) for b in iter(
        lambda: os.read(r, 1 << 20), b"")], daemon=True)
    try:
        # what this build of roster holds at rest (an ASan build holds more, and more the more
        # code it links), and 24 MiB over it: the growth this guards against was ~10 MB/s
        limit_kb = idle_rss_kb(asan) + 24 * 1024
        max_rss = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and max_rss < limit_kb:
            check(p.poll() is None, "roster runs (exit %s)" % p.returncode)
            max_rss = max(max_rss, rss_kb(p.pid))
            time.sleep(0.1)
        print("  stalled stdout, crash loop: roster max RSS %d KiB over %.1f s" % (
            max_rss, 10 - max(0, deadline - time.monotonic())))
        check(max_rss < limit_kb, "roster's memory stayed under %d KiB (%d KiB)" % (
            limit_kb, max_rss))
        # the pipe is read again: the report comes, and the role's lines flow again
        reader.start()

        def dropped():
            for l in b"".join(chunks).split(b"\n"):
                if b'"event":"dropped"' in l:
                    return json.loads(l)
            return None
        ev = wait_for(dropped, 20, "the lines-dropped event")
        check(ev.get("subject") == "chatty" and ev.get("lines", 0) > 0, ev)
        check(re.match(r"chatty: \d+ lines dropped \(output stalled\)$", ev["msg"]), ev["msg"])
        p.terminate()
        check(p.wait(timeout=30) == 0, "exit 0 on SIGTERM")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if reader.is_alive():
            reader.join(timeout=5)
        os.close(r)


if __name__ == "__main__":
    run(globals())
