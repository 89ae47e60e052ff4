"""The dev profile (roster --dev, ROSTER_DEV=1): a crash-looping role gives up sooner and stays
down while the healthy one and roster keep running, `roster restart` brings it back; a crash that
repeats the last one's output is one line with a count, a crash with other output is shown in
full, lines held while they match are written after the hold time; JSON logs keep every line;
`roster check --dev` shows the profile's defaults, and a config's own give_up wins."""
import os
import pty
import re
import select
import subprocess
import time

from harness import (ROSTER, Roster, check, expand, pid_alive, run, run_roster, tmpdir,
                     wait_for)

AGAIN = re.compile(r"^roster \| api exited \(code 3\) again — same output as the last "
                   r"(?:crash|(\d+) crashes) \(×(\d+)\)$")

# Each run of api counts itself in @DIR@/count; the runs listed in DIFFERENT print another
# second line (so their output differs from the run before them and from the run after them).
CRASH_SH = """n=$(cat @DIR@/count 2>/dev/null || echo 0)
n=$((n + 1))
echo $n > @DIR@/count
echo boom
case " $DIFFERENT " in *" $n "*) echo "trace B" >&2 ;; *) echo "trace A" >&2 ;; esac
exit 3
"""

CONFIG = """
roles:
  api:
    command: sh @DIR@/crash.sh
    env: {DIFFERENT: "%s"}
  web:
    command: [@CHILD@, sleep, "1000"]
"""


def child_lines(r, role, text):
    return [l for l in r.output() if re.match(r"^%s +\| %s$" % (role, re.escape(text)), l)]


def agains(r):
    """The counts of the "again" lines, in order."""
    out = []
    for l in r.output():
        m = AGAIN.match(l)
        if m:
            n = int(m.group(2))
            check(int(m.group(1) or 1) == n - 1, "the count agrees with itself: %s" % l)
            out.append(n)
    return out


def dev_roster(different="", args=("--dev",), env=None):
    return Roster(CONFIG % different, args=args, json_logs=False, env=env,
                  extra_files={"crash.sh": CRASH_SH})


def test_a_crash_loop_stays_down_and_repeats_are_counted():
    with dev_roster() as r:
        r.wait_line(r"^roster \| api stays down and the other roles run on; `roster restart "
                    r"api` starts it again$", timeout=60)
        out = r.output()
        check(any(re.match(r"^roster \| api gave up: 5 restarts within 30s "
                           r"\(give_up\.then: stay\)$", l) for l in out), r.tail())
        # six runs, the first shown whole, the five after it one line each with a count
        check(len(child_lines(r, "api", "boom")) == 1, "boom shown once\n" + r.tail())
        check(len(child_lines(r, "api", "trace A")) == 1, "its trace shown once\n" + r.tail())
        check(agains(r) == [2, 3, 4, 5, 6], "counted: %s\n%s" % (agains(r), r.tail()))
        started = [l for l in out if re.match(r"^roster \| api started \(pid \d+\)$", l)]
        check(len(started) == 6, "api ran 6 times: %d" % len(started))
        # web and roster run on; nothing was stopped
        web = [int(m.group(1)) for m in (re.match(r"^roster \| web started \(pid (\d+)\)$", l)
                                         for l in out) if m]
        check(len(web) == 1 and pid_alive(web[0]), "web still runs: %s" % web)
        check(r.proc.poll() is None, "roster still runs")
        check(not any("web stopping" in l or "shutting down" in l for l in r.output()),
              r.tail())
        # the operator brings api back: it runs (and crashes) again, the same crash once more
        code, _, err = run_roster(["restart", "api", "-c", r.config_path],
                                  env={"TMPDIR": r.dir})
        check(code == 0, "roster restart api: %d %s" % (code, err))
        wait_for(lambda: len([l for l in r.output() if re.match(
            r"^roster \| api started \(pid \d+\)$", l)]) >= 7, 30, "api started again")
        wait_for(lambda: 7 in agains(r), 30, "its crash counted on: %s" % agains(r))
        check(len(child_lines(r, "api", "boom")) == 1, "still shown once\n" + r.tail())
        check(r.stop() == 0, "clean shutdown exits 0\n" + r.tail())


def test_different_output_is_shown_in_full():
    # run 3 prints trace B: it differs from run 2 (shown whole, boom released before it) and
    # run 4 differs from it again (shown whole); runs 5 and 6 repeat run 4
    with dev_roster(different="3") as r:
        r.wait_line(r"^roster \| api stays down", timeout=60)
        lines = [l for l in r.output() if re.match(r"^api +\| ", l)]
        check([l.split("| ", 1)[1] for l in lines] ==
              ["boom", "trace A", "boom", "trace B", "boom", "trace A"],
              "the output shown, in order:\n" + r.tail())
        check(agains(r) == [2, 2, 3], "counted anew after a different crash: %s\n%s" % (
            agains(r), r.tail()))
        plain = [l for l in r.output() if re.match(r"^roster \| api exited \(code 3\)$", l)]
        check(len(plain) == 3, "three crashes said plainly (runs 1, 3, 4): %d\n%s" % (
            len(plain), r.tail()))
        check(r.stop() == 0, "clean shutdown exits 0")


def test_held_lines_are_written_after_the_hold_time():
    # run 1 crashes after "boom"; run 2 prints the same "boom" and runs on: held at first
    # (it matches), written once the hold time (2 s) has passed, never lost
    script = """n=$(cat @DIR@/count 2>/dev/null || echo 0)
echo $((n + 1)) > @DIR@/count
echo boom
[ $n = 0 ] && exit 3
exec sleep 1000
"""
    r = Roster("""
roles:
  api:
    command: sh @DIR@/run.sh
""", args=["--dev"], json_logs=False, extra_files={"run.sh": script})
    with r:
        r.wait_line(r"^roster \| api exited \(code 3\)$", timeout=30)
        wait_for(lambda: len([l for l in r.output() if re.match(
            r"^roster \| api started \(pid \d+\)$", l)]) >= 2, 30, "api started again")
        t0 = time.monotonic()
        wait_for(lambda: len(child_lines(r, "api", "boom")) == 2, 30, "the second boom")
        print("the second run's first line was written %.1f s after its start was seen" %
              (time.monotonic() - t0))
        check(not agains(r), r.tail())
        check(r.stop() == 0, "clean shutdown exits 0")


def test_json_logs_keep_every_line():
    with Roster(CONFIG % "", args=["--dev"], extra_files={"crash.sh": CRASH_SH}) as r:
        r.wait_event("staying_down", "api", timeout=60)
        runs = len(r.pids("api"))
        booms = [x for x in r.records() if x.get("role") == "api" and x.get("msg") == "boom"]
        check(runs == 6 and len(booms) == runs, "every run's lines: %d runs, %d booms" % (
            runs, len(booms)))
        check(r.proc.poll() is None, "roster still runs")
        check(r.stop() == 0, "clean shutdown exits 0")


def test_without_dev_a_crash_loop_stops_roster_and_every_line_is_shown():
    # the sentinel for the tests above: the same crash without --dev (ROSTER_DEV=0 is off)
    # shows every run and, giving up, stops roster (a shorter give_up keeps the test short)
    config = (CONFIG % "").replace("    env:", "    give_up: {after: 3, within: 30s}\n    env:")
    with Roster(config, json_logs=False, env={"ROSTER_DEV": "0"},
                extra_files={"crash.sh": CRASH_SH}) as r:
        code = r.wait_exit(timeout=60)
        check(code == 3, "roster ends with api's code: %d\n%s" % (code, r.tail()))
        runs = len([l for l in r.output() if re.match(r"^roster \| api started", l)])
        check(runs == 4 and len(child_lines(r, "api", "boom")) == runs,
              "every crash shown: %d runs\n%s" % (runs, r.tail()))
        check(not agains(r), r.tail())


def read_tty(fd, proc, deadline):
    """What roster wrote to the terminal until it exited (or the deadline passed)."""
    out = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out.decode("utf-8", "replace")


def test_a_terminal_gets_a_hint_not_the_profile():
    # the profile is not turned on by a terminal: the crash loop still stops roster there, and
    # roster says once how --dev would have kept web up; through a pipe it says nothing
    d = tmpdir()
    config = os.path.join(d, "roster.yaml")
    with open(config, "w") as f:
        f.write(expand((CONFIG % "").replace("    env:", "    give_up: {after: 2, within: 30s}\n"
                                             "    env:"), d))
    with open(os.path.join(d, "crash.sh"), "w") as f:
        f.write(expand(CRASH_SH, d))
    env = dict(os.environ, TMPDIR=d, NO_COLOR="1")
    env.pop("ROSTER_DEV", None)
    master, slave = pty.openpty()
    p = subprocess.Popen([ROSTER, "-c", config], stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=subprocess.PIPE, env=env, start_new_session=True)
    os.close(slave)
    try:
        text = read_tty(master, p, time.monotonic() + 60)
        code = p.wait(timeout=30)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()
    check(code == 3, "the crash loop ended the run: %d\n%s" % (code, text))
    check(text.count("hint: `roster --dev` (or ROSTER_DEV=1) keeps the other roles running") == 1,
          text)
    check(text.count("api    | boom") == 3, "not deduped: %s" % text)
    # the sentinel: the same run into a pipe has the same end and no hint
    r = subprocess.run([ROSTER, "-c", config], capture_output=True, text=True, env=env,
                       timeout=60)
    check(r.returncode == 3 and "gave up" in r.stdout, r.stdout + r.stderr)
    check("hint:" not in r.stdout, r.stdout)


def test_check_shows_the_profile():
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("""
roles:
  api:
    command: node api.js
  worker:
    command: node worker.js
    give_up: {then: exit}
""")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 0 and "profile: dev" not in out, out + err)
    check("give up after 10 within 1m, then exit" in out, out)
    for args, env in ((["check", "--dev", "-c", path], None),
                      (["check", "-c", path], {"ROSTER_DEV": "1"})):
        code, out, err = run_roster(args, env=env)
        check(code == 0, err)
        check("profile: dev (a role that gives up stays down; a repeated crash is shown once)"
              in out, out)
        check("give up after 5 within 30s, then stay" in out, out)
        # what the config says wins over the profile
        check("give up after 5 within 30s, then exit" in out, out)
    code, _, err = run_roster(["check", "-c", path], env={"ROSTER_DEV": "maybe"})
    check(code == 2 and "ROSTER_DEV must be 1 or 0" in err, err)
    code, _, err = run_roster(["status", "--dev", "-c", path])
    check(code == 2 and "--dev is for `roster run` and `roster check`" in err, err)


if __name__ == "__main__":
    run(globals())
