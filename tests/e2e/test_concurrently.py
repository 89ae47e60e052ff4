"""test_concurrently.py — concurrently's exit semantics (issue 9): first as roster.yaml says them
(exit_on_end, exit.success, exit.interrupted, give_up.then: continue), then from concurrently's
own command line. The cases follow concurrently's bin/concurrently.spec.ts where it has them.
Every wait has a deadline."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

from harness import (ROSTER, Roster, check, pid_alive, run, run_roster, tmpdir,  # noqa: E402
                     wait_for)

# ---- roster.yaml: the same semantics -----------------------------------------------------------


# A service and a oneshot whose end ends the run (concurrently -k "serve" "test:e2e").
SERVE_AND_E2E = """
roles:
  serve:
    command: [@CHILD@, sleep, "1000"]
  e2e:
    kind: oneshot
    command: [@CHILD@, exit, "STATUS", "200"]
    exit_on_end: true
"""


def test_exit_on_end_oneshot_ends_the_run_with_its_status():
    # -s first: the run exits with the oneshot's status
    cfg = "exit: {success: first}\n" + SERVE_AND_E2E.replace("STATUS", "4")
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 4, "the run exits with e2e's status 4, got %s\n%s" % (code, r.tail()))
        serve = r.pids("serve")[0]
        check(not pid_alive(serve), "serve was stopped")
        check(r.events("stopped", "serve"), "serve stopped by the shutdown\n%s" % r.tail())


def test_exit_on_end_success_is_success():
    # -k: serve is killed, which is not a failure of the run (concurrently #187)
    with Roster(SERVE_AND_E2E.replace("STATUS", "0")) as r:
        code = r.wait_exit(10)
        check(code == 0, "every role that ended on its own succeeded: 0, got %s\n%s" % (
            code, r.tail()))


def test_exit_on_end_failure_ignores_success():
    # --kill-others-on-fail: a success leaves the others running; the run ends when all have
    cfg = """
roles:
  slow:
    command: [@CHILD@, exit, "0", "600"]
    restart: never
    exit_on_end: failure
  quick:
    command: [@CHILD@, exit, "0", "50"]
    restart: never
    exit_on_end: failure
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 0, "exit 0, got %s" % code)
        check(not r.events("stopping", "slow"), "slow was not stopped\n%s" % r.tail())
        check(r.events("exited", "slow"), "slow ended on its own")


def test_exit_on_end_failure_kills_on_failure():
    cfg = """
roles:
  slow:
    command: [@CHILD@, sleep, "1000"]
    exit_on_end: failure
  bad:
    command: [@CHILD@, exit, "6", "50"]
    restart: never
    give_up: {then: continue}
    exit_on_end: failure
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 6, "exit 6 (bad's status), got %s\n%s" % (code, r.tail()))
        check(r.events("stopped", "slow"), "slow was stopped")


def test_exit_on_end_drops_pending_restarts():
    # concurrently #579/#496: once the run ends, a role waiting in backoff is not restarted
    cfg = """
roles:
  crashy:
    command: [@CHILD@, exit, "1"]
    backoff: {initial: 300ms, max: 300ms}
    give_up: {after: 100, within: 1m}
  e2e:
    kind: oneshot
    command: [@CHILD@, exit, "0", "500"]
    exit_on_end: true
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        # crashy's last end was its own crash: under success all, the run fails with it
        check(code == 1, "exit 1 (crashy's crash), got %s\n%s" % (code, r.tail()))
        n = len(r.events("started", "crashy"))
        check(n >= 2, "crashy crashed and restarted meanwhile (%d starts)" % n)
        recs = r.records()
        at = [i for i, e in enumerate(recs) if e.get("event") == "shutdown"]
        check(at, "a shutdown")
        after = [e for e in recs[at[0]:] if e.get("event") == "started" and
                 e.get("subject") == "crashy"]
        check(not after, "crashy was not restarted after the shutdown began\n%s" % r.tail())


def test_success_last_and_role():
    cfg = """
exit: {success: last}
roles:
  a: {command: [@CHILD@, exit, "3", "50"], restart: never, give_up: {then: continue}}
  b: {command: [@CHILD@, exit, "0", "400"], restart: never}
"""
    with Roster(cfg) as r:
        code = r.wait_exit(10)
        check(code == 0, "-s last: the last to end (b) succeeded, got %s\n%s" % (code, r.tail()))
    cfg2 = cfg.replace("success: last", "success: a")
    with Roster(cfg2) as r:
        code = r.wait_exit(10)
        check(code == 3, "success: a: a's status 3, got %s\n%s" % (code, r.tail()))
    cfg3 = cfg.replace("success: last", "success: '!a'")
    with Roster(cfg3) as r:
        code = r.wait_exit(10)
        check(code == 0, "success: !a: b succeeded, got %s\n%s" % (code, r.tail()))


def test_interrupted_crash_loop_exits_with_its_code():
    # a crash loop interrupted by Ctrl-C exits non-zero (as foreman does) ...
    cfg = """
roles:
  crashy:
    command: [@CHILD@, exit, "5"]
    backoff: {initial: 2s, max: 2s}
  steady:
    command: [@CHILD@, sleep, "1000"]
"""
    with Roster(cfg) as r:
        r.wait_event("exited", "crashy", count=2)
        code = r.stop(signal.SIGINT, 10)
        check(code == 5, "Ctrl-C during a crash loop exits 5, got %s\n%s" % (code, r.tail()))
    # ... but SIGTERM, a platform stopping roster, is a clean end
    with Roster(cfg) as r:
        r.wait_event("exited", "crashy", count=2)
        code = r.stop(signal.SIGTERM, 10)
        check(code == 0, "SIGTERM exits 0, got %s" % code)
    # ... and with exit.interrupted: success (concurrently's way), Ctrl-C is a success
    with Roster("exit: {interrupted: success}\n" + cfg) as r:
        r.wait_event("exited", "crashy", count=2)
        code = r.stop(signal.SIGINT, 10)
        check(code == 0, "exit.interrupted: success: 0, got %s" % code)


def test_give_up_continue_ends_when_all_ended():
    # give_up.then: continue: a role that gave up ends; the run ends once every role has
    cfg = """
roles:
  crashy:
    command: [@CHILD@, exit, "2"]
    backoff: {initial: 10ms, max: 10ms}
    give_up: {after: 2, within: 1m, then: continue}
  job:
    command: [@CHILD@, exit, "0", "600"]
    restart: on-failure
"""
    with Roster(cfg) as r:
        r.wait_event("gave_up", "crashy")
        check(r.proc.poll() is None and not r.events("shutdown"),
              "roster runs on while job runs\n%s" % r.tail())
        code = r.wait_exit(10)
        check(code == 2, "the run carries crashy's status 2, got %s\n%s" % (code, r.tail()))
        check(r.events("exited", "job") and not r.events("stopping", "job"),
              "job ended on its own")


def test_check_shows_exit_rules():
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("exit: {success: e2e, interrupted: success}\nroles:\n"
                "  serve: {command: sleep 100}\n"
                "  e2e: {kind: oneshot, command: 'true', exit_on_end: true}\n")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 0, "roster check passes: %s" % err)
    check("exit: success e2e, interrupted success" in out, "the exit rule is shown:\n" + out)
    check("exit_on_end: true" in out, "exit_on_end is shown:\n" + out)


# ---- concurrently's command line (bin/concurrently.spec.ts) -------------------------------------


def conc(args, cwd=None, env=None, timeout=20):
    """Runs `roster ARGS...` in concurrently's mode; returns (code, stdout and stderr lines)."""
    e = {"FORCE_COLOR": "0", "NO_COLOR": ""}
    e.update(env or {})
    code, out, err = run_roster(args, cwd=cwd or tmpdir(), env=e, timeout=timeout)
    return code, [l for l in (out + err).split("\n") if l]


def has(lines, text):
    return any(text in l for l in lines)


def test_cli_exit_codes():
    code, lines = conc(["echo foo", "echo bar"])
    check(code == 0, "success by default when the commands succeed: %s %s" % (code, lines))
    code, lines = conc(["echo foo", "exit 1"])
    check(code > 0, "failure when one fails: %s" % code)
    code, _ = conc(["--success=first", "echo foo", "sleep 0.5 && exit 1"])
    check(code == 0, "--success=first, first succeeds: %s" % code)
    code, _ = conc(["--success=first", "exit 1", "sleep 0.5 && echo foo"])
    check(code > 0, "--success=first, first fails: %s" % code)
    for arg in (["--success=last"], ["-s", "last"]):
        code, _ = conc(arg + ["exit 1", "sleep 0.5 && echo foo"])
        check(code == 0, "%s, last succeeds: %s" % (arg, code))
    code, _ = conc(["--success=last", "echo foo", "sleep 0.5 && exit 1"])
    check(code > 0, "--success=last, last fails: %s" % code)
    code, _ = conc(["-s", "command-b", "-n", "a,b", "exit 1", "sleep 0.3"])
    check(code == 0, "-s command-b: b succeeded: %s" % code)
    code, _ = conc(["-s", "!command-0", "exit 1", "sleep 0.3"])
    check(code == 0, "-s !command-0: the others succeeded: %s" % code)
    code, _ = conc(["-s", "command-0", "exit 3", "sleep 0.3"])
    check(code == 3, "the failing command's own status: %s" % code)


def test_cli_sigint_is_success():
    d = tmpdir()
    p = subprocess.Popen([ROSTER, "sleep 30"], cwd=d, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=dict(os.environ, FORCE_COLOR="0"),
                         start_new_session=True)
    try:
        def started():
            out = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True)
            return out.stdout.strip() or None
        wait_for(started, 10, "the command to start")
        p.send_signal(signal.SIGINT)
        code = p.wait(timeout=10)
        out = p.stdout.read().decode()
        check(code == 0, "Ctrl-C ends a concurrently run with success: %s\n%s" % (code, out))
        check(re.search(r"\[0\] sleep 30 exited with code (SIGINT|SIGTERM|130|143|0)", out),
              "the command's end is said: %s" % out)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_cli_raw_and_hide():
    for arg in ("--raw", "-r"):
        code, lines = conc([arg, "echo foo", "echo bar"])
        check(sorted(lines) == ["bar", "foo"], "%s: only the output: %s" % (arg, lines))
    code, lines = conc(["--hide", "1", "echo foo", "echo bar"])
    check(has(lines, "foo") and not has(lines, "bar"), "--hide 1: %s" % lines)
    code, lines = conc(["-n", "foo,bar", "--hide", "bar", "echo foo", "echo bar"])
    check(has(lines, "foo") and not has(lines, "bar"), "--hide bar: %s" % lines)
    code, lines = conc(["--hide", "1", "--raw", "echo foo", "echo bar"])
    check(lines == ["foo"], "--hide 1 --raw: %s" % lines)
    code, lines = conc(["-n", "foo,bar", "--hide", "bar", "--raw", "echo foo", "echo bar"])
    check(lines == ["foo"], "--hide bar --raw: %s" % lines)


def test_cli_names_and_prefixes():
    for arg in ("--names", "-n"):
        code, lines = conc([arg, "foo,bar", "echo foo", "echo bar"])
        check("[foo] foo" in lines and "[bar] bar" in lines, "%s: %s" % (arg, lines))
    code, lines = conc(["--names", "foo|bar", "--name-separator", "|", "echo foo", "echo bar"])
    check("[foo] foo" in lines and "[bar] bar" in lines, "--name-separator: %s" % lines)
    code, lines = conc(["echo foo", "echo bar"])
    check("[0] foo" in lines and "[1] bar" in lines, "the index without names: %s" % lines)
    for arg in (["--prefix", "command"], ["-p", "command"]):
        code, lines = conc(arg + ["echo foo", "echo bar"])
        check("[echo foo] foo" in lines and "[echo bar] bar" in lines, "%s: %s" % (arg, lines))
    for arg in (["--prefix", "command", "--prefix-length", "5"], ["-p", "command", "-l", "5"]):
        code, lines = conc(arg + ["echo foo", "echo bar"])
        check("[ec..o] foo" in lines and "[ec..r] bar" in lines, "%s: %s" % (arg, lines))
    code, lines = conc(["--pad-prefix", "-n", "foo,barbaz", "echo foo", "echo bar"])
    check(has(lines, "[foo   ]") and has(lines, "[barbaz]"), "--pad-prefix: %s" % lines)
    code, lines = conc(["-p", "{index}-{name}:", "-n", "a", "echo x"])
    check("0-a: x" in lines, "a template, no brackets: %s" % lines)
    code, lines = conc(["-p", "none", "echo x"])
    check("x" in lines, "-p none: %s" % lines)
    code, lines = conc(["-p", "time", "-t", "yyyy", "echo x"])
    check("[%s] x" % time.strftime("%Y") in lines, "-p time -t yyyy: %s" % lines)
    code, lines = conc(["-p", "pid", "echo x"])
    check(any(re.match(r"^\[\d+\] x$", l) for l in lines), "-p pid: %s" % lines)


def test_cli_colors():
    code, lines = conc(["--color", "-c", "red,bgBlue.bold", "echo x", "echo y"])
    check("\x1b[31m[0]\x1b[0m x" in lines, "-c red colors [0]: %r" % lines)
    check("\x1b[44m\x1b[1m[1]\x1b[0m y" in lines, "-c bgBlue.bold colors [1]: %r" % lines)
    code, lines = conc(["--no-color", "-c", "red", "echo x"])
    check("[0] x" in lines, "--no-color: %r" % lines)


def test_cli_restart_tries():
    code, lines = conc(["--restart-tries", "1", "exit 1"])
    check(lines == ["[0] exit 1 exited with code 1", "[0] exit 1 restarted",
                    "[0] exit 1 exited with code 1"], "--restart-tries 1: %s" % lines)
    check(code == 1, "exit 1: %s" % code)


def test_cli_kill_others():
    for arg in ("--kill-others", "-k"):
        code, lines = conc([arg, "sleep 10", "exit 0"])
        check(has(lines, "[1] exit 0 exited with code 0"), "%s: %s" % (arg, lines))
        check(has(lines, "--> Sending SIGTERM to other processes.."), lines)
        check(has(lines, "[0] sleep 10 exited with code SIGTERM"), lines)
        # concurrently #187: the command killed by -k is no failure of the run
        check(code == 0, "%s: the run succeeds: %s" % (arg, code))
    code, lines = conc(["--kill-others", "sleep 10", "exit 1"])
    check(has(lines, "[1] exit 1 exited with code 1") and
          has(lines, "Sending SIGTERM to other processes") and
          has(lines, "[0] sleep 10 exited with code SIGTERM"), "-k on failure: %s" % lines)
    check(code == 1, "exit 1: %s" % code)


def test_cli_kill_others_on_fail():
    code, lines = conc(["--kill-others-on-fail", "sleep 0.5", "exit 0"])
    check(has(lines, "[1] exit 0 exited with code 0") and
          has(lines, "[0] sleep 0.5 exited with code 0") and
          not has(lines, "Sending"), "no kill on success: %s" % lines)
    code, lines = conc(["--kill-others-on-fail", "sleep 10", "exit 1"])
    check(has(lines, "[1] exit 1 exited with code 1") and
          has(lines, "Sending SIGTERM to other processes") and
          has(lines, "[0] sleep 10 exited with code SIGTERM"), "kill on failure: %s" % lines)


def test_cli_kill_others_after_restarts_stops_for_good():
    # concurrently #496/#579: -k with --restart-tries kills the others once the tries are used
    # up, and they are not restarted
    code, lines = conc(["-k", "--restart-tries", "2", "exit 1", "sleep 10"])
    n = len([l for l in lines if l == "[0] exit 1 exited with code 1"])
    check(n == 3, "three tries: %s" % lines)
    check(has(lines, "Sending SIGTERM to other processes"), lines)
    check(has(lines, "[1] sleep 10 exited with code SIGTERM"), lines)
    check(not has(lines, "[1] sleep 10 restarted"), "the killed command is not restarted: %s"
          % lines)
    check(code == 1, "exit 1: %s" % code)


def test_cli_teardown():
    # concurrently's bin/concurrently.spec.ts, "--teardown"
    code, lines = conc(["--teardown", "echo bye", "echo hey"])
    check(lines == ["[0] hey", "[0] echo hey exited with code 0",
                    '--> Running teardown command "echo bye"', "bye",
                    '--> Teardown command "echo bye" exited with code 0'],
          "teardown after the commands: %s" % lines)
    check(code == 0, "exit 0: %s" % code)
    code, lines = conc(["--teardown", "echo bye", "--teardown", "echo bye2", "echo hey"])
    check("bye" in lines and "bye2" in lines, "several teardown commands: %s" % lines)
    check(lines.index("bye") < lines.index("bye2"), "in order: %s" % lines)
    # its status is said but is not the run's; a command ended by SIGINT ends the teardown
    code, lines = conc(["--teardown", "exit 3", "--teardown", "kill -INT $$",
                        "--teardown", "echo after", "exit 0"])
    check(has(lines, '--> Teardown command "exit 3" exited with code 3'), lines)
    check(has(lines, '--> Teardown command "kill -INT $$" exited with code SIGINT'), lines)
    check(not has(lines, "after"), "SIGINT ends the teardown: %s" % lines)
    check(code == 0, "the commands' result: %s" % code)
    code, lines = conc(["--teardown", "echo bye", "exit 2"])
    check(code == 2 and "bye" in lines, "teardown after a failure too: %s %s" % (code, lines))
    code, lines = conc(["-r", "--teardown", "echo bye", "echo hey"])
    check(lines == ["hey", "bye"], "-r: only the output: %s" % lines)


TS = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}"


def test_cli_timings():
    # concurrently's bin/concurrently.spec.ts, "--timings"
    for cmds in (["sleep 0.5", "exit 0"], ["sleep 0.75", "exit 1"]):
        code, lines = conc(["--timings"] + cmds)
        for i, c in enumerate(cmds):
            started = re.compile(r"^\[%d\] %s started at %s$" % (i, re.escape(c), TS))
            stopped = re.compile(r"^\[%d\] %s stopped at %s after (\d|,)+ms$" % (
                i, re.escape(c), TS))
            check(any(started.match(l) for l in lines), "%s started: %s" % (c, lines))
            check(any(stopped.match(l) for l in lines), "%s stopped: %s" % (c, lines))
        check(any(re.search(r"┌[─┬]+┐", l) for l in lines), "top border: %s" % lines)
        check(any(re.search(r"(\W+(name|duration|exit code|killed|command)\W+){5}", l)
                  for l in lines), "header row: %s" % lines)
        check(any(re.search(r"└[─┴]+┘", l) for l in lines), "bottom border: %s" % lines)
    # the table, longest first, with who was killed, exactly as concurrently draws it
    code, lines = conc(["-k", "--timings", "-n", "a,b", "sleep 5", "sleep 0.2"])
    i = lines.index("--> Timings:")
    table = lines[i + 1:]
    check(re.match(r"^\[b\] sleep 0.2 stopped at %s after \d+ms$" % TS,
                   lines[lines.index("[b] sleep 0.2 exited with code 0") - 1]),
          "the stopped line comes before the exit line: %s" % lines)
    check(table[0] == "--> ┌──────┬──────────┬───────────┬────────┬───────────┐" and
          table[1] == "--> │ name │ duration │ exit code │ killed │ command   │" and
          table[2] == "--> ├──────┼──────────┼───────────┼────────┼───────────┤" and
          re.match(r"^--> │ a    │ [\d,]+ +│ SIGTERM   │ true   │ sleep 5   │$", table[3]) and
          re.match(r"^--> │ b    │ [\d,]+ +│ 0         │ false  │ sleep 0.2 │$", table[4]) and
          table[5] == "--> └──────┴──────────┴───────────┴────────┴───────────┘",
          "the table: %s" % "\n".join(lines[i:]))
    code, lines = conc(["-r", "--timings", "echo hey"])
    check(lines == ["hey"], "-r: no timings: %s" % lines)


def start_stop(lines):
    """The (start, stop) times in ms of each command, from --timings' lines."""
    spans = {}
    for l in lines:
        m = re.match(r"^\[(\d+)\] .* (started|stopped) at \S+ (\d\d):(\d\d):(\d\d)\.(\d{3})", l)
        if m:
            t = ((int(m.group(3)) * 60 + int(m.group(4))) * 60 + int(m.group(5))) * 1000 + \
                int(m.group(6))
            spans.setdefault(int(m.group(1)), {})[m.group(2)] = t
    return spans


def test_cli_max_processes():
    cmds = ["sleep 0.3", "sleep 0.3", "sleep 0.3"]
    for args in (["-m", "1"], ["--max-processes", "1"], ["--maxProcesses=1"]):
        code, lines = conc(args + ["--timings"] + cmds)
        check(code == 0, "%s: exit 0: %s %s" % (args, code, lines))
        s = start_stop(lines)
        check(len(s) == 3, "all three ran: %s" % lines)
        check(s[0]["stopped"] <= s[1]["started"] and s[1]["stopped"] <= s[2]["started"],
              "%s: one at a time, in command order: %s" % (args, lines))
    code, lines = conc(["-m", "2", "--timings"] + cmds)
    s = start_stop(lines)
    check(s[0]["started"] < s[1]["stopped"] and s[1]["started"] < s[0]["stopped"],
          "-m 2: the first two together: %s" % lines)
    check(s[2]["started"] >= min(s[0]["stopped"], s[1]["stopped"]),
          "-m 2: the third waits for one of them: %s" % lines)
    # a percentage of the CPUs is at least one; the run still ends with the commands' result
    code, lines = conc(["-m", "1%", "echo a", "exit 4"])
    check(code == 4 and "[0] a" in lines, "-m 1%%: %s %s" % (code, lines))
    # -k stops the run: commands still waiting never start (as concurrently's abort does)
    code, lines = conc(["-m", "1", "-k", "sleep 0.2", "echo never"])
    check(not has(lines, "never") and code == 0, "-m 1 -k: %s %s" % (code, lines))
    check(has(lines, "[0] sleep 0.2 exited with code 0"), "sentinel: the first ran: %s" % lines)
    code, out, err = run_roster(["--to-yaml", "-m", "2", "echo a"], cwd=tmpdir())
    check(code == 0 and "max_processes: 2" in out and "Not said here" not in out,
          "--to-yaml says -m as max_processes: %s %s" % (out, err))


def test_cli_group():
    # concurrently's bin/concurrently.spec.ts, "--group"
    code, lines = conc(["--group", "echo foo && sleep 1 && echo bar", "echo baz"])
    check(lines[0:2] == ["[0] foo", "[0] bar"] and "baz" in lines[3],
          "the first command's output whole, then the second's: %s" % lines)
    check(lines[2] == "[0] echo foo && sleep 1 && echo bar exited with code 0", lines)
    check(lines[4] == "[1] echo baz exited with code 0", lines)
    # a command still running when its turn comes: what it held, then its lines as they come
    code, lines = conc(["-g", "sleep 0.3; echo a", "echo b1; sleep 0.8; echo b2",
                        "echo c"])
    check(lines == ["[0] a", "[0] sleep 0.3; echo a exited with code 0", "[1] b1", "[1] b2",
                    "[1] echo b1; sleep 0.8; echo b2 exited with code 0", "[2] c",
                    "[2] echo c exited with code 0"], "-g in command order: %s" % lines)
    # sentinel: without -g the quick commands come first
    code, lines = conc(["sleep 0.3; echo a", "echo c"])
    check(lines.index("[1] c") < lines.index("[0] a"), "without -g: %s" % lines)
    code, lines = conc(["-g", "-r", "sleep 0.3; echo a", "echo c"])
    check(lines == ["a", "c"], "-g -r: %s" % lines)


READ_ECHO = 'echo READING; while read l; do echo "$l"; [ "$l" = stop ] && exit 0; done'


def interactive(args, when, send=None, timeout=10):
    """Runs `roster ARGS...` with a pipe as its stdin; once a line of its output matches the
    regex `when`, writes `send`. `when` may instead be a list of (regex, text) steps, each
    written once its regex has matched (after the step before). Returns (code, output lines)."""
    import select
    steps = list(when) if send is None else [(when, send)]
    p = subprocess.Popen([ROSTER] + args, cwd=tmpdir(), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, FORCE_COLOR="0", NO_COLOR=""))
    out, deadline = b"", time.time() + timeout
    try:
        while time.time() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.1)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
            if steps and any(re.search(steps[0][0], l) for l in out.decode().split("\n")):
                p.stdin.write(steps[0][1].encode())
                p.stdin.flush()
                steps.pop(0)
        check(not steps, "never saw %r: %s" % (steps[0][0] if steps else None, out))
        code = p.wait(timeout=max(0.1, deadline - time.time()))
        return code, [l for l in out.decode().split("\n") if l]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_cli_handle_input():
    # concurrently's bin/concurrently.spec.ts, "--handle-input"
    for arg in ("--handle-input", "-i"):
        code, lines = interactive([arg, READ_ECHO], r"^\[0\] READING", "stop\n")
        check(code == 0, "%s: exit 0: %s %s" % (arg, code, lines))
        check("[0] stop" in lines, "%s: input to the first command: %s" % (arg, lines))
        check(has(lines, "exited with code 0"), lines)
    for args, send in ((["-ki", "--default-input-target", "1"], "stop\n"), (["-ki"], "1:stop\n")):
        code, lines = interactive(args + [READ_ECHO, READ_ECHO], r"^\[1\] READING", send)
        check("[1] stop" in lines, "%s %r: input to command 1: %s" % (args, send, lines))
        check(has(lines, "[0] %s exited with code SIGTERM" % READ_ECHO), lines)
        # concurrently exits 1 here; a command -k stopped is no failure in roster (#187)
        check(code == 0, "%s: %s %s" % (args, code, lines))
    # by name; each line routed by its own prefix; an unknown target goes whole to the default
    # (b:stop only once a has echoed its lines: -k stops a as soon as b has ended)
    code, lines = interactive(["-k", "-i", "-n", "a,b", READ_ECHO, READ_ECHO],
                              [(r"^\[b\] READING", "b:one\nzz:two\n0:x:y\n"),
                               (r"^\[a\] x:y$", "b:stop\n")])
    check("[b] one" in lines and "[a] zz:two" in lines and "[a] x:y" in lines,
          "routed: %s" % lines)
    check(lines.index("[b] one") < lines.index("[b] stop"), lines)
    # a target with no stdin open says so as concurrently does
    code, lines = interactive(["-i", "--default-input-target", "1", READ_ECHO, "exit 0"],
                              r"^\[1\] exit 0 exited", "hello\n0:stop\n")
    check('--> Unable to find command "1", or it has no stdin open' in lines, lines)
    check("[0] stop" in lines and code == 0, "%s %s" % (code, lines))


def test_cli_handle_input_from_a_file():
    # `roster -i CMD < lines.txt`, as concurrently takes it: libuv streams cannot read a regular
    # file, and this used to hang with the command never getting its line
    d = tmpdir()
    path = os.path.join(d, "lines.txt")
    with open(path, "w") as f:
        f.write("from a file\n1:second\n")
    with open(path) as f:
        p = subprocess.run([ROSTER, "-i", "-n", "a,b", "head -n1", "head -n1"], cwd=d, stdin=f,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
                           env=dict(os.environ, FORCE_COLOR="0", NO_COLOR=""))
    lines = [l for l in p.stdout.decode().split("\n") if l]
    check("[a] from a file" in lines, lines)
    check("[b] second" in lines, lines)
    check(p.returncode == 0, "exit 0: %s %s" % (p.returncode, lines))


def test_cli_control_socket_only_with_socket():
    # concurrently has no control socket: a command line has none (and does not load
    # libmicrohttpd for it) unless --socket asks for one
    d = tmpdir()
    sock = os.path.join(d, "ctl.sock")
    for args, want in (([], False), (["--socket", sock], True)):
        p = subprocess.Popen([ROSTER] + args + ["sleep 30"], cwd=d, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=dict(os.environ, FORCE_COLOR="0"),
                             start_new_session=True)
        try:
            def started():
                out = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                                     text=True)
                return out.stdout.strip() or None
            wait_for(started, 10, "the command to start")
            maps = "/proc/%d/maps" % p.pid
            if os.path.exists(maps):
                with open(maps) as f:
                    mhd = "libmicrohttpd" in f.read()
                check(mhd == want, "%s: libmicrohttpd loaded: %s" % (args, mhd))
            else:
                print("SKIP the libmicrohttpd check: no /proc")
            if want:
                wait_for(lambda: os.path.exists(sock), 10, "the socket")
                code, out, err = run_roster(["status", "--socket", sock], cwd=d)
                check(code == 0 and "sleep 30" not in err and "ready" in out,
                      "roster status reaches it: %s %s %s" % (code, out, err))
        finally:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    code, lines = conc(["--socket", "/" + "x" * 200, "echo a"])
    check(code == 2 and has(lines, "--socket"), "a path too long: %s %s" % (code, lines))


def test_cli_subcommand_words_and_double_dash():
    code, out, err = run_roster(["--", "echo check"], cwd=tmpdir(), env={"FORCE_COLOR": "0"})
    check(code == 0 and "[0] check" in out, "-- forces the mode: %s %s" % (out, err))
    code, out, err = run_roster(["--help"])
    check(code == 0 and "roster check" in out, "roster --help stays roster's")
    code, out, err = run_roster(["-h", "echo"], cwd=tmpdir())
    check(code == 0 and "concurrently" in out, "-h with a command: concurrently's help: %s" % out)


def test_cli_npm_wildcards():
    d = tmpdir()
    with open(os.path.join(d, "package.json"), "w") as f:
        f.write('{"scripts": {"dev:api": "x", "dev:web": "y", "build": "z"}}')
    bindir = os.path.join(d, "bin")
    os.mkdir(bindir)
    npm = os.path.join(bindir, "npm")
    with open(npm, "w") as f:
        f.write("#!/bin/sh\necho \"npm $*\"\n")
    os.chmod(npm, 0o755)
    env = {"PATH": bindir + ":" + os.environ["PATH"]}
    code, lines = conc(["npm:dev:*"], cwd=d, env=env)
    check(code == 0, "exit 0: %s %s" % (code, lines))
    check("[api] npm run dev:api" in lines and "[web] npm run dev:web" in lines,
          "each script as a command named by the wildcard: %s" % lines)
    check(not has(lines, "build"), "only the matching scripts: %s" % lines)
    code, lines = conc(["npm:dev:*(!web)"], cwd=d, env=env)
    check("[api] npm run dev:api" in lines and not has(lines, "dev:web"),
          "an exclusion: %s" % lines)


def test_cli_to_yaml_round_trip():
    d = tmpdir()
    code, out, err = run_roster(["--to-yaml", "-k", "-s", "first", "-n", "serve,e2e",
                                 "--restart-tries", "2", "--restart-after", "100",
                                 "sleep 100", "exit 0"], cwd=d)
    check(code == 0, "--to-yaml: %s" % err)
    check("exit_on_end: true" in out and 'success: "first"' in out, out)
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(out)
    code, chk, err = run_roster(["check", "-c", path], cwd=d)
    check(code == 0, "roster check accepts it: %s\n%s" % (err, out))
    check("exit: success first, interrupted success" in chk, chk)
    check("give up after 2" in chk and "then continue" in chk, chk)
    # and it runs as the command line does: e2e's end ends the run with its status
    with Roster(out, args=()) as r:
        code = r.wait_exit(10)
        check(code == 0, "the YAML runs the same: %s\n%s" % (code, r.tail()))
        check(r.events("stopped", "serve"), "serve stopped when e2e ended\n%s" % r.tail())


if __name__ == "__main__":
    run(globals())
