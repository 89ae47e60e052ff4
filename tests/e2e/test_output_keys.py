"""test_output_keys.py — roster.yaml's equivalents of concurrently's output and flow options
(issue 9 §2): max_processes, output.group, output.timings, teardown, output.prefix with
prefix_length, pad_prefix and timestamp_format, output.raw, a role's color and hide; each in
config mode as test_concurrently.py checks them in concurrently mode. Then the round trip: for a
table of concurrently command lines, `roster --to-yaml ARGS > f.yaml; roster -c f.yaml` prints
what `roster ARGS` prints and exits with its code. Every wait has a deadline."""
import datetime
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import signal  # noqa: E402

from harness import Roster, check, expand, run, run_roster, tmpdir  # noqa: E402

ENV = {"FORCE_COLOR": "0", "NO_COLOR": ""}


def run_yaml(text, args=(), env=None, timeout=30):
    """Runs `roster -c FILE` on text in a fresh directory; returns (code, stdout lines, stderr,
    the directory)."""
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(text)
    e = dict(ENV)
    e["TMPDIR"] = d
    e.update(env or {})
    code, out, err = run_roster(["-c", path] + list(args), env=e, cwd=d, timeout=timeout)
    return code, [l for l in out.split("\n") if l], err, d


def child_lines(lines):
    """The roles' own lines of roster's look ("a      | text" -> "a: text")."""
    out = []
    for l in lines:
        m = re.match(r"^(\S+)\s+\| (.*)$", l)
        if m and m.group(1) != "roster":
            out.append("%s: %s" % (m.group(1), m.group(2)))
    return out


def some(lines, pattern):
    """Whether a line matches pattern (from its start)."""
    return any(re.match(pattern, l) for l in lines)


def ts(record):
    return datetime.datetime.strptime(record["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


ONESHOTS = """
roles:
  a: {kind: oneshot, command: "sleep 0.3"}
  b: {kind: oneshot, command: "sleep 0.3"}
  c: {kind: oneshot, command: "sleep 0.3"}
"""


def spans(r):
    """Each role's (spawn, exit) times from roster's JSON events."""
    out = {}
    for name in "abc":
        start = r.events("started", name)
        end = r.events("exited", name)
        check(start and end, "%s started and exited\n%s" % (name, r.tail()))
        out[name] = (ts(start[0]), ts(end[0]))
    return out


def test_max_processes_one_runs_them_one_after_another():
    with Roster("max_processes: 1\n" + ONESHOTS) as r:
        check(r.wait_exit(30) == 0, "exit 0\n%s" % r.tail())
        s = spans(r)
    check(s["a"][1] <= s["b"][0] and s["b"][1] <= s["c"][0],
          "one at a time, in the config's order: %s" % s)
    # max_processes: 2: the first two together, the third once one of them has ended
    with Roster("max_processes: 2\n" + ONESHOTS) as r:
        check(r.wait_exit(30) == 0, "exit 0\n%s" % r.tail())
        s = spans(r)
    check(s["a"][0] < s["b"][1] and s["b"][0] < s["a"][1], "a and b together: %s" % s)
    check(s["c"][0] >= min(s["a"][1], s["b"][1]), "c waits for a slot: %s" % s)
    # sentinel: without the key all three run together
    with Roster(ONESHOTS) as r:
        check(r.wait_exit(30) == 0, "exit 0\n%s" % r.tail())
        s = spans(r)
    check(s["c"][0] < s["a"][1], "without max_processes c starts before a ends: %s" % s)
    # a percentage of the CPUs is at least one, and roster check says the key
    code, out, err = run_roster(["check", "-c", "/dev/stdin"], input="max_processes: \"1%\"\n"
                                + ONESHOTS, cwd=tmpdir())
    check(code == 0 and "max_processes: 1% of the CPUs" in out, "check: %s %s" % (out, err))


def test_max_processes_follows_a_reload():
    cfg = """
max_processes: MAX
roles:
  a: {command: [@CHILD@, sleep, "1000"]}
  b: {command: [@CHILD@, sleep, "1000"]}
"""
    with Roster(cfg.replace("MAX", "1")) as r:
        r.wait_event("started", "a")
        check(not r.events("started", "b"), "b waits for a slot while a runs\n%s" % r.tail())
        with open(r.config_path, "w") as f:
            f.write(expand(cfg.replace("MAX", "0"), r.dir))
        r.send(signal.SIGHUP)
        r.wait_event("reloaded")
        r.wait_event("started", "b")
        check(len(r.events("started", "a")) == 1, "a ran on, untouched\n%s" % r.tail())
        check(r.stop() == 0, "exit 0")


GROUPED = """
output: {group: GROUP}
roles:
  a: {kind: oneshot, command: "echo a1; sleep 0.6; echo a2"}
  b: {kind: oneshot, command: "echo b1; sleep 0.2; echo b2"}
  c: {kind: oneshot, command: "echo c1"}
"""


def test_group_output_keeps_each_roles_lines_together_in_order():
    code, lines, err, _ = run_yaml(GROUPED.replace("GROUP", "true"))
    check(code == 0, "exit 0: %s %s" % (lines, err))
    check(child_lines(lines) == ["a: a1", "a: a2", "b: b1", "b: b2", "c: c1"],
          "each role's lines whole, in the config's order: %s" % lines)
    # roster's own events are never held: b's start is said before a's second line
    started_b = [i for i, l in enumerate(lines) if re.match(r"^roster\s+\| b started", l)]
    a2 = [i for i, l in enumerate(lines) if l.endswith("| a2")]
    check(started_b and a2 and started_b[0] < a2[0], "events as they happen: %s" % lines)
    # sentinel: without group the quick roles' lines come first
    code, lines, err, _ = run_yaml(GROUPED.replace("GROUP", "false"))
    cl = child_lines(lines)
    check("c: c1" in cl and cl.index("c: c1") < cl.index("a: a2"),
          "without group, c's line comes before a's second: %s" % lines)
    # in concurrently's look, its exit lines are held with the role's lines
    code, lines, err, _ = run_yaml(GROUPED.replace("GROUP", "true").replace(
        "output: {", "output: {prefix: name, "))
    check(lines[0:3] == ["[a] a1", "[a] a2", "[a] echo a1; sleep 0.6; echo a2 exited with code 0"],
          "concurrently's look, grouped: %s" % lines)
    check(lines[-2:] == ["[c] c1", "[c] echo c1 exited with code 0"], lines)


def test_group_turned_off_by_a_reload_lets_out_what_was_held():
    cfg = """
output: {group: GROUP}
roles:
  a: {command: "echo a-line; exec sleep 1000"}
  b: {command: "echo b-line; exec sleep 1000"}
"""
    with Roster(cfg.replace("GROUP", "true"), json_logs=False) as r:
        r.wait_line(r"^a\s+\| a-line$")
        r.wait_line(r"^roster\s+\| b started")
        check(not any("b-line" in l for l in r.output()), "b's line is held while a runs\n%s"
              % r.tail())
        with open(r.config_path, "w") as f:
            f.write(cfg.replace("GROUP", "false"))
        r.send(signal.SIGHUP)
        r.wait_line(r"^b\s+\| b-line$")
        check(r.stop() == 0, "exit 0")


def test_timings_prints_lines_and_the_table():
    cfg = """
output: {timings: true, timestamp_format: "HH:mm:ss.SSS"}
roles:
  quick: {kind: oneshot, command: "exit 3", give_up: {then: continue}}
  slow: {kind: oneshot, command: "sleep 0.3"}
"""
    code, lines, err, _ = run_yaml(cfg)
    check(code == 3, "the run's code is quick's: %s %s" % (code, lines))
    check(some(lines, r"^roster\s+\| slow started at \d\d:\d\d:\d\d\.\d{3}$"),
          "a line when slow starts: %s" % lines)
    check(some(lines, r"^roster\s+\| slow stopped at \d\d:\d\d:\d\d\.\d{3} after \d+ms$"), "a line when slow stops: %s" % lines)
    at = [i for i, l in enumerate(lines) if l.endswith("| Timings:")]
    check(at, "the table: %s" % lines)
    table = [re.sub(r"^roster\s+\| ", "", l) for l in lines[at[0] + 1:]]
    check(re.match(r"^│ name +│ duration │ exit code │ killed │ command +│$", table[1]),
          "the header: %s" % table)
    # longest first, as concurrently sorts it
    check(re.match(r"^│ slow +│ \d+ +│ 0 +│ false +│ sleep 0\.3 +│$", table[3]) and
          re.match(r"^│ quick +│ \d+ +│ 3 +│ false +│ exit 3 +│$", table[4]),
          "the rows, longest first: %s" % table)
    # sentinel: without the key, none of it
    code, lines, err, _ = run_yaml(cfg.replace("timings: true", "timings: false"))
    check(code == 3 and not any("Timings" in l or "started at" in l for l in lines),
          "no timings without the key: %s" % lines)


def test_teardown_runs_after_the_roles_stopped():
    cfg = """
teardown:
  - "echo torn down; pwd > where.txt"
  - "exit 5"
roles:
  web: {command: [@CHILD@, sleep, "1000"]}
"""
    with Roster(cfg) as r:
        r.wait_event("started", "web")
        check(not os.path.exists(os.path.join(r.dir, "where.txt")),
              "no teardown while the roles run")
        code = r.stop()
        out = r.output()
        check(code == 0, "a teardown command's failure is not the run's: %s\n%s" % (
            code, r.tail()))
        stopped = [i for i, l in enumerate(out) if '"event":"stopped"' in l and "web" in l]
        run1 = [i for i, l in enumerate(out) if 'Running teardown command \\"echo torn down' in l]
        said = [i for i, l in enumerate(out) if l == "torn down"]
        ended = [i for i, l in enumerate(out)
                 if 'Teardown command \\"exit 5\\" exited with code 5' in l]
        check(stopped and run1 and said and ended and stopped[0] < run1[0] < said[0] < ended[0],
              "web stopped, then each teardown command, announced: %s" % out)
        with open(os.path.join(r.dir, "where.txt")) as f:
            check(f.read().strip() == os.path.realpath(r.dir),
                  "teardown runs in the config's directory")


def test_prefix_template_length_and_timestamp():
    cfg = """
output:
  prefix: "{time}|{command}|{index}"
  prefix_length: 8
  timestamp_format: "HH:mm 'h'"
roles:
  a: {kind: oneshot, command: "echo hello world long"}
"""
    code, lines, err, _ = run_yaml(cfg)
    check(code == 0, "%s %s" % (lines, err))
    check(some(lines, r"^\d\d:\d\d h\|ech\.\.ong\|0 hello world long$"),
          "the template with the time, the command cut to 8, the index: %s" % lines)
    check(some(lines, r"^\d\d:\d\d h\|ech\.\.ong\|0 echo hello world long exited with code 0$"), "concurrently's exit line with the same prefix: %s" % lines)
    check(not any("roster" in l for l in lines), "no roster look lines: %s" % lines)
    # -p's keywords are bracketed; pad_prefix pads to the widest
    cfg = """
output: {prefix: name, pad_prefix: true}
roles:
  a: {kind: oneshot, command: "echo one"}
  longer: {kind: oneshot, command: "sleep 0.2; echo two"}
"""
    code, lines, err, _ = run_yaml(cfg)
    check("[a     ] one" in lines and "[longer] two" in lines, "padded: %s" % lines)
    code, lines, err, _ = run_yaml(cfg.replace("name, pad_prefix: true", "none"))
    check("one" in lines and "two" in lines, "prefix: none: %s" % lines)
    code, lines, err, _ = run_yaml(cfg.replace("prefix: name, pad_prefix: true", "raw: true"))
    check(sorted(lines) == ["one", "two"], "raw: the lines alone: %s" % lines)


def test_hide_hides_a_roles_lines_not_roster_events():
    cfg = """
roles:
  quiet: {kind: oneshot, command: "echo secret-line", hide: HIDE}
  loud: {kind: oneshot, command: "sleep 0.2; echo shown-line"}
"""
    code, lines, err, _ = run_yaml(cfg.replace("HIDE", "true"))
    check(code == 0, "%s %s" % (lines, err))
    check(not any("secret-line" in l for l in lines), "quiet's line hidden: %s" % lines)
    check(any(l.endswith("| shown-line") for l in lines), "sentinel: loud's line: %s" % lines)
    check(some(lines, r"^roster\s+\| quiet started") and
          some(lines, r"^roster\s+\| quiet exited \(code 0\)"),
          "roster's events about quiet stay: %s" % lines)
    code, lines, err, _ = run_yaml(cfg.replace("HIDE", "false"))
    check(any(l.endswith("| secret-line") for l in lines), "sentinel: shown without hide: %s"
          % lines)
    code, out, err = run_roster(["check", "-c", "/dev/stdin"], input=cfg.replace("HIDE", "true"),
                                cwd=tmpdir())
    check(code == 0 and "hide: its lines are not shown" in out, "check says it: %s" % out)


def test_role_color():
    cfg = """
log: {color: always}
roles:
  a: {kind: oneshot, command: "echo hi", color: bgBlue.bold}
  b: {kind: oneshot, command: "echo ho"}
"""
    code, lines, err, _ = run_yaml(cfg)
    check(any(l.startswith("\x1b[44m\x1b[1ma      |") for l in lines),
          "a's label in its color: %r" % lines)
    check(any(l.startswith("\x1b[33mb      |") for l in lines),
          "b's label in the palette's: %r" % lines)
    code, lines, err, _ = run_yaml(cfg.replace("log: {color: always}",
                                               "log: {color: always}\noutput: {prefix: name}"))
    check("\x1b[44m\x1b[1m[a]\x1b[0m hi" in lines and "[b] ho" in lines,
          "concurrently's look: a colored, b not (its default): %r" % lines)


# ---- the round trip: a command line, and the YAML --to-yaml prints for it ----------------------

ROUND_TRIPS = [
    ["-n", "a,b", "echo one", "sleep 0.2; echo two; exit 3"],
    ["-g", "-n", "a,b", "sleep 0.3; echo one", "echo two"],
    ["-m", "1", "--timings", "-n", "a,b", "sleep 0.2", "echo two"],
    ["-m", "1", "-g", "--timings", "-t", "HH:mm:ss", "-n", "a,b", "echo one", "echo two"],
    ["-p", "{index}-{command}", "-l", "6", "echo hello", "sleep 0.2; echo world"],
    ["-p", "command", "--pad-prefix", "echo x", "sleep 0.2; echo longer"],
    ["-p", "{time}", "-t", "HH:mm", "echo t"],
    ["-p", "none", "echo plain"],
    ["-r", "echo raw1", "sleep 0.2; exit 2"],
    ["--hide", "1", "-n", "a,b", "echo shown", "echo hidden"],
    ["--color", "-c", "red,bgBlue.bold", "-n", "a,b", "echo x", "sleep 0.2; echo y"],
    ["-k", "--teardown", "echo bye", "--teardown", "echo ${HOME:+set}", "-n", "a,b", "sleep 5",
     "sleep 0.2; exit 1"],
    ["-s", "first", "-n", "serve,e2e", "sleep 5", "sleep 0.2; exit 4", "-k"],
]


def normal(lines):
    """Lines with what differs from run to run made the same: times, durations, table widths;
    the timings table's rows (sorted by duration, which differs too) sorted, at the end."""
    out, rows = [], []
    for l in lines:
        l = re.sub(r"\d\d:\d\d(:\d\d(\.\d{3})?)?", "T", l)
        l = re.sub(r"\d{4}-\d\d-\d\d", "D", l)
        l = re.sub(r"after [\d,]+ms", "after Nms", l)
        if "│" in l or "─" in l:
            rows.append(re.sub(r"[─ ]+", " ", re.sub(r"│ [\d,]+ +│", "│ N │", l)))
        else:
            out.append(l)
    return out + sorted(rows)


def test_to_yaml_round_trip_same_output_and_code():
    for args in ROUND_TRIPS:
        d = tmpdir()
        env = dict(ENV)
        env["TMPDIR"] = d
        code, yaml, err = run_roster(["--to-yaml"] + args, env=env, cwd=d)
        check(code == 0 and "Not said here" not in yaml, "%s: --to-yaml: %s %s" % (args, yaml,
                                                                                   err))
        path = os.path.join(d, "f.yaml")
        with open(path, "w") as f:
            f.write(yaml)
        c1, out1, err1 = run_roster(args, env=env, cwd=d, timeout=30)
        c2, out2, err2 = run_roster(["-c", path], env=env, cwd=d, timeout=30)
        n1, n2 = normal(out1.split("\n")), normal(out2.split("\n"))
        check(c1 == c2, "%s: the same exit code: %s and %s\n%s\n%s" % (args, c1, c2, out1, out2))
        ordered = "-g" in args or "-m" in args or len([a for a in args if " " in a]) == 1
        if ordered:
            check(n1 == n2, "%s: the same output, in order:\n%s\n---\n%s\n---\n%s" % (
                args, out1, out2, yaml))
        else:
            # two commands side by side may end in either order, and so may the table's rows
            check(sorted(n1) == sorted(n2), "%s: the same lines:\n%s\n---\n%s\n---\n%s" % (
                args, out1, out2, yaml))
        check(err1 == err2 == "", "%s: nothing on stderr: %r %r" % (args, err1, err2))


def test_teardown_lines_mask_a_url_password():
    """A teardown command's URL password is masked in roster's lines about it, as in every
    event (review: the teardown's lines were written without the redaction)."""
    cfg = """
teardown: ["true postgres://app:td-s3cret@db.example/app"]
roles:
  web: {command: [@CHILD@, sleep, "1000"]}
"""
    for json_logs in (True, False):
        with Roster(cfg, json_logs=json_logs) as r:
            r.wait_event("started", "web") if json_logs else r.wait_line(r"web started")
            code = r.stop()
            out = "\n".join(r.output())
            check(code == 0, "exit 0: %s" % out)
            check("Running teardown command" in out and "postgres://app:****@db.example/app" in out,
                  "the teardown is announced, its password masked: %s" % out)
            check("td-s3cret" not in out, "no password in the output: %s" % out)


if __name__ == "__main__":
    run(globals())
