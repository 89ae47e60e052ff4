"""What a child writes cannot rewrite roster's output, and what roster cannot write is counted
(issue 10 items 11 and 12). A child's CR, ESC sequences (a title, cursor moves) and NUL come out
escaped to a file, in text and JSON; in a terminal (tmux) its colors pass and its title escape
does not. With stdout closed and a role flooding, /metrics counts the dropped lines, growing,
in a format promtool accepts, and stderr says it once."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

from harness import (ROSTER, SANITIZER, Failure, Roster, check, expand, free_port, http_get, run,
                     tmpdir, wait_for)

EVIL = b"ok\r\x1b]0;pwned\x07\x1b[32mgreen\x1b[0m\x00end"
EVIL_TEXT = "ok\\x0d\\x1b]0;pwned\\x07\\x1b[32mgreen\\x1b[0m\\x00end"

CFG = """
app: esc
roles:
  api:
    command: [@PYTHON@, "@DIR@/evil.py"]
"""
EVIL_PY = ("import sys, time\nsys.stdout.buffer.write(%r + b'\\n')\nsys.stdout.flush()\n"
           "time.sleep(1000)\n" % EVIL)
FILES = {"evil.py": EVIL_PY}


def test_text_to_a_file_is_escaped():
    with Roster(CFG, json_logs=False, stdout_file=True, extra_files=FILES) as r:
        wait_for(lambda: any("end" in l for l in r.output()), 20, "the child's line")
        with open(r.out_path, "rb") as f:
            data = f.read()
        line = [l for l in data.split(b"\n") if b"end" in l][0]
        check(line == b"api    | " + EVIL_TEXT.encode(), "escaped: %r" % line)
        # the whole output: no raw CR, ESC, BEL or NUL anywhere (roster's own lines included)
        for c in b"\r\x1b\x07\x00":
            check(bytes([c]) not in data, "no raw %r in %r" % (c, data))


def test_json_is_escaped_and_round_trips():
    with Roster(CFG, json_logs=True, stdout_file=True, extra_files=FILES) as r:
        wait_for(lambda: any("end" in l for l in r.output()), 20, "the child's line")
        with open(r.out_path, "rb") as f:
            data = f.read()
        for c in b"\r\x1b\x07\x00":
            check(bytes([c]) not in data, "no raw %r in %r" % (c, data))
        rec = [json.loads(l) for l in data.split(b"\n") if b"end" in l][0]
        check(rec["msg"] == EVIL.decode(), "the message decodes to what the child wrote: %r" % rec)


def tmux(sock, *args):
    return subprocess.run(["tmux", "-S", sock] + list(args), capture_output=True, text=True,
                          timeout=20)


def test_terminal_keeps_colors_not_the_title():
    if not shutil.which("tmux"):
        print("SKIP: tmux is not installed")
        return
    d = tmpdir()
    cfg = os.path.join(d, "roster.yaml")
    with open(cfg, "w") as f:
        f.write(expand(CFG, d))
    with open(os.path.join(d, "evil.py"), "w") as f:
        f.write(EVIL_PY)
    sock = os.path.join(d, "tmux.sock")
    env = dict(os.environ, TERM="xterm", TMPDIR=d)
    for k in ("TMUX", "NO_COLOR", "FORCE_COLOR", "ROSTER_ROLES", "NOTIFY_SOCKET"):
        env.pop(k, None)
    # pane 1 runs roster; pane 0 is the sentinel: a title escape written raw does set the title
    p = subprocess.run(["tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-x", "200",
                        "-y", "20", "printf '\\033]0;sentinel\\007'; sleep 1000"],
                       env=env, capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        print("SKIP: tmux cannot run here (%s)" % p.stderr.strip())
        return
    try:
        wait_for(lambda: tmux(sock, "display", "-p", "-t", "0.0", "#{pane_title}").stdout.strip()
                 == "sentinel", 20, "the sentinel's title")
        line = "%s -c %s 2>%s/err" % (ROSTER, cfg, d)
        check(tmux(sock, "split-window", "-t", "0", line).returncode == 0, "split-window")
        wait_for(lambda: "end" in tmux(sock, "capture-pane", "-p", "-t", "0.1").stdout, 20,
                 "the child's line in the terminal")
        screen = tmux(sock, "capture-pane", "-p", "-t", "0.1").stdout
        colored = tmux(sock, "capture-pane", "-p", "-e", "-t", "0.1").stdout
        title = tmux(sock, "display", "-p", "-t", "0.1", "#{pane_title}").stdout.strip()
        check(title != "pwned", "the child set the terminal's title")
        check("ok\\x0d\\x1b]0;pwned\\x07" in screen, "the title escape shown escaped:\n%s" % screen)
        check("\\x00end" in screen, "NUL shown escaped:\n%s" % screen)
        # the child's green: an SGR with 32 right before "green", no "\x1b[32m" text
        check("\x1b[32mgreen" in colored, "colors pass to a terminal:\n%r" % colored)
        check("\\x1b[32m" not in screen, "colors not escaped in a terminal:\n%s" % screen)
    finally:
        tmux(sock, "kill-server")
    try:
        with open(os.path.join(d, "err")) as f:
            err = f.read()
    except FileNotFoundError:
        err = ""
    if SANITIZER.search(err):
        raise Failure("sanitizer report from roster:\n%s" % err)


FLOOD = """
app: flood
health: {listen: "127.0.0.1:%d"}
roles:
  flood:
    command: [@PYTHON@, -c, "import sys, time\\nwhile True:\\n  sys.stdout.write('flood line\\\\n' * 100); sys.stdout.flush(); time.sleep(0.01)"]
"""

DROPPED = 'roster_log_lines_dropped_total{role="flood",instance="0"} '


def dropped(port):
    try:
        _, body, _ = http_get("http://127.0.0.1:%d/metrics" % port)
    except OSError:
        return -1, ""
    for l in body.split("\n"):
        if l.startswith(DROPPED):
            return int(l[len(DROPPED):]), body
    return -1, body


def test_closed_stdout_counts_dropped_lines_in_metrics():
    d = tmpdir()
    port = free_port()
    cfg = os.path.join(d, "roster.yaml")
    with open(cfg, "w") as f:
        f.write(expand(FLOOD % port, d))
    env = dict(os.environ, NO_COLOR="1", TMPDIR=d)
    # stdout a pipe whose reader is gone at once, no terminal: the roles keep running
    proc = subprocess.Popen([ROSTER, "-c", cfg], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, start_new_session=True)
    proc.stdout.close()
    try:
        wait_for(lambda: dropped(port)[0] > 0, 30, "dropped lines in /metrics")
        first, _ = dropped(port)
        wait_for(lambda: dropped(port)[0] > first, 30, "the count growing")
        last, body = dropped(port)
        check("roster_stdout_up 0" in body, body)
        check("roster_log_lines_lost_total " in body and "roster_log_events_dropped_total " in body,
              body)
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                               text=True, timeout=30)
            check(p.returncode == 0, "promtool check metrics: %s %s" % (p.stdout, p.stderr))
        else:
            print("note: promtool not installed, format not checked")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode("utf-8", "replace")
    if SANITIZER.search(err):
        raise Failure("sanitizer report from roster:\n%s" % err)
    check(err.count("stdout closed: the roles keep running") == 1, "said once:\n%s" % err)
    m = re.search(r"stdout closed \(Broken pipe\): (\d+) lines not written", err)
    check(m and int(m.group(1)) >= last, "the total said at exit (at least %d):\n%s" % (last, err))


if __name__ == "__main__":
    run(globals())
