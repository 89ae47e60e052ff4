"""Roles under a pseudo-terminal (tty: true) and roster's stdin routed in config mode (input:),
issue 9 §3 "stdin and TTY": a tty role sees a terminal on stdin and stdout (a plain role does
not), its lines are still framed and prefixed with no stray CR, it gets roster's terminal size
(80x24 without one) and its changes, input reaches a pipe role and a tty role alike with
concurrently's "TARGET:text" routing, and stopping a tty role stops its whole group. The tmux
test drives a real terminal: Ctrl-Z/fg, a resize, and Ctrl-C with a tty role.
"""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

from harness import (ROSTER, SANITIZER, Failure, Roster, check, pid_alive, proc_stat,
                     read_pidfile, run, tmpdir, wait_for)
from test_terminal import Tmux, kill_group, state, tmux_usable

ISATTY = "sh -c 'test -t 0 && test -t 1 && echo TTY-YES || echo TTY-NO; sleep 30'"


def role_lines(lines, role):
    """What the role said, from roster's text output ("role   | text")."""
    rx = re.compile(r"^%s\s*\| ?(.*)$" % re.escape(role))
    return [m.group(1) for m in map(rx.match, lines) if m]


def test_tty_role_sees_a_terminal_and_a_plain_role_does_not():
    cfg = """
roles:
  plain:
    command: %s
  term:
    command: %s
    tty: true
  lines:
    command: sh -c 'printf "one\\ntwo\\n"; echo to-stderr >&2; sleep 30'
    tty: true
""" % (ISATTY, ISATTY)
    with Roster(cfg, json_logs=False) as r:
        r.wait_line(r"^term\s*\| TTY-")
        r.wait_line(r"^plain\s*\| TTY-")
        r.wait_line(r"^lines\s*\| to-stderr")
        out = r.output()
        check(role_lines(out, "term") == ["TTY-YES"], "the tty role sees a terminal: %s" % out)
        check(role_lines(out, "plain") == ["TTY-NO"], "a plain role does not: %s" % out)
        # framed and prefixed as any role's lines, stderr too, and no CR from the terminal
        check(role_lines(out, "lines") == ["one", "two", "to-stderr"],
              "the tty role's lines, each framed: %s" % out)
        check(not any("\r" in l for l in out), "no stray CR: %r" % out)
        r.stop()


def test_check_shows_tty_and_input():
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("input: web.1\nroles:\n  web:\n    command: cat\n    tty: true\n"
                "    instances: 2\n")
    p = subprocess.run([ROSTER, "check", "-c", path], capture_output=True, text=True, timeout=20)
    check(p.returncode == 0, "check passes: %s %s" % (p.stdout, p.stderr))
    check("input: web.1" in p.stdout, "input shown: %s" % p.stdout)
    check("tty: a pseudo-terminal" in p.stdout, "tty shown: %s" % p.stdout)
    # input names a role that exists, and a copy it has
    for bad, want in (("input: api", "input names role 'api', which is not defined"),
                      ("input: web.2", "input names web.2, but role 'web' has 2 copies"),
                      ("input: 'web/x'", "input must name a role")):
        with open(path, "w") as f:
            f.write("%s\nroles:\n  web:\n    command: cat\n    instances: 2\n" % bad)
        p = subprocess.run([ROSTER, "check", "-c", path], capture_output=True, text=True,
                           timeout=20)
        check(p.returncode == 2 and want in p.stderr, "%s: %s %s" % (bad, p.returncode, p.stderr))


class PtyRoster:
    """roster with a pseudo-terminal of a given size as its stdout (so its own terminal size is
    known), stdin from /dev/null, stderr in a pipe."""

    def __init__(self, cfg, rows, cols):
        self.dir = tmpdir()
        path = os.path.join(self.dir, "roster.yaml")
        with open(path, "w") as f:
            f.write(cfg)
        self.master, self.slave = os.openpty()
        self.resize(rows, cols)
        self.proc = subprocess.Popen([ROSTER, "-c", path], stdin=subprocess.DEVNULL,
                                     stdout=self.slave, stderr=subprocess.PIPE, cwd=self.dir,
                                     env=dict(os.environ, NO_COLOR="1", TMPDIR=self.dir),
                                     start_new_session=True)
        self.out = b""
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.out += chunk

    def resize(self, rows, cols):
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def lines(self):
        with self.lock:
            return self.out.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")

    def wait_line(self, pattern, timeout=10):
        rx = re.compile(pattern)
        return wait_for(lambda: any(rx.search(l) for l in self.lines()), timeout,
                        "a line matching %r in %r" % (pattern, self.lines()[-20:]))

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode("utf-8", "replace")
        # the reader's read ends (EIO) once no slave descriptor is left; only then is the master
        # closed, or the reader's next read could take a later test's descriptor of that number
        os.close(self.slave)
        self.reader.join(timeout=10)
        check(not self.reader.is_alive(), "the pty reader ended")
        os.close(self.master)
        if SANITIZER.search(err):
            raise Failure("sanitizer report from roster:\n%s" % err)


def test_tty_role_gets_the_window_size_and_its_changes():
    cfg = """
roles:
  term:
    command: [sh, -c, "trap 'echo SIZE $$(stty size)' WINCH; echo SIZE $$(stty size); while :; do sleep 0.05; done"]
    tty: true
"""
    r = PtyRoster(cfg, 33, 101)
    try:
        r.wait_line(r"^term\s*\| SIZE 33 101$")
        # the terminal changes size: its foreground group (not roster, which runs in a session
        # of its own here) would get SIGWINCH, so roster is told as a shell would tell it
        r.resize(41, 120)
        os.kill(r.proc.pid, signal.SIGWINCH)
        r.wait_line(r"^term\s*\| SIZE 41 120$")
    finally:
        r.close()


def test_tty_role_without_a_terminal_is_80x24():
    cfg = """
roles:
  term:
    command: sh -c 'echo SIZE $$(stty size); sleep 30'
    tty: true
"""
    # stdout a pipe and stdin /dev/null (not inherited: ctest's stdin may be a terminal)
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(cfg)
    p = subprocess.Popen([ROSTER, "-c", path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=dict(os.environ, NO_COLOR="1", TMPDIR=d),
                         start_new_session=True)
    try:
        line = wait_for(lambda: p.stdout.readline().decode(), 15, "a line from roster")
        while "SIZE" not in line:
            line = p.stdout.readline().decode()
            check(line, "roster's output ended before the size")
        check(re.match(r"^term\s*\| SIZE 24 80$", line.rstrip("\n")), "80x24: %r" % line)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        err = p.stderr.read().decode()
        check(not SANITIZER.search(err), err)


class StdinRoster:
    """roster with a pipe as its stdin; its text output collected."""

    def __init__(self, cfg, args=()):
        self.dir = tmpdir()
        path = os.path.join(self.dir, "roster.yaml")
        with open(path, "w") as f:
            f.write(cfg.replace("@DIR@", self.dir))
        self.proc = subprocess.Popen([ROSTER, "-c", path] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.dir,
                                     env=dict(os.environ, NO_COLOR="1", TMPDIR=self.dir),
                                     start_new_session=True)
        self.out = b""

    def pump(self):
        r, _, _ = select.select([self.proc.stdout], [], [], 0.05)
        if r:
            self.out += os.read(self.proc.stdout.fileno(), 65536)

    def lines(self):
        return [l for l in self.out.decode("utf-8", "replace").split("\n") if l]

    def wait_line(self, pattern, timeout=10):
        rx = re.compile(pattern)

        def seen():
            self.pump()
            return any(rx.search(l) for l in self.lines())
        wait_for(seen, timeout, "a line matching %r in %r" % (pattern, self.lines()))

    def send(self, text):
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # roster has ended: what it read is in its output

    def wait_exit(self, timeout=20):
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.pump()
        check(self.proc.poll() is not None, "roster exited: %s" % self.lines())
        self.out += self.proc.stdout.read()
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read().decode("utf-8", "replace")
        if SANITIZER.search(err):
            raise Failure("sanitizer report from roster:\n%s" % err)


READ3 = ("sh -c 'echo %s-READING; read a; echo \"got $$a\"; read b; echo \"got $$b\"; "
         "read c; echo \"got $$c\"'")


def test_input_routes_stdin_to_pipe_and_tty_roles():
    cfg = """
input: pipe
roles:
  pipe:
    command: %s
    restart: never
  term:
    command: %s
    tty: true
    restart: never
""" % (READ3 % "P", READ3 % "T")
    r = StdinRoster(cfg)
    try:
        r.wait_line(r"^pipe\s*\| P-READING")
        r.wait_line(r"^term\s*\| T-READING")
        # the input: role by default; a role by name, by index (concurrently's), as ROLE.N; an
        # unknown target goes whole to the input: role
        r.send("hello\nterm:one\n1:two\nzz:x\nterm.0:three\n0:world\n")
        code = r.wait_exit()
        lines = r.lines()
        check(role_lines(lines, "pipe") == ["P-READING", "got hello", "got zz:x", "got world"],
              "the pipe role's input: %s" % lines)
        # nothing echoed back by the role's terminal: roster's own terminal echoed it once
        check(role_lines(lines, "term") == ["T-READING", "got one", "got two", "got three"],
              "the tty role's input, not echoed: %s" % lines)
        check(code == 0, "exit 0: %s %s" % (code, lines))
    finally:
        r.close()


def test_without_input_stdin_is_not_read():
    # the sentinel: the same line reaches the role once input: names it
    for with_input in (False, True):
        cfg = ("input: pipe\n" if with_input else "") + """
roles:
  pipe:
    command: sh -c 'echo READING; read a; echo "got [$$a]"'
    restart: never
"""
        r = StdinRoster(cfg)
        try:
            r.wait_line(r"^pipe\s*\| READING")
            r.send("hello\n")
            try:
                r.proc.stdin.close()
            except BrokenPipeError:
                pass
            r.wait_exit()
            got = [l for l in role_lines(r.lines(), "pipe") if l.startswith("got")]
            check(got == (["got [hello]"] if with_input else ["got []"]),
                  "input %s: %s" % (with_input, r.lines()))
        finally:
            r.close()


def test_reload_that_adds_input_starts_reading_stdin():
    cfg = """
roles:
  pipe:
    command: sh -c 'echo READING; read a; echo "got [$$a]"; sleep 30'
"""
    r = StdinRoster(cfg)
    try:
        r.wait_line(r"^pipe\s*\| got \[\]$")  # stdin from /dev/null at first
        with open(os.path.join(r.dir, "roster.yaml"), "w") as f:
            f.write("input: pipe\n" + cfg)
        r.proc.send_signal(signal.SIGHUP)
        # the role restarts with a pipe as its stdin (how it is wired changed)
        wait_for(lambda: (r.pump(), sum("READING" in l for l in r.lines()))[1] >= 2, 15,
                 "the role restarted after the reload: %s" % r.lines())
        r.send("hello\n")
        r.wait_line(r"^pipe\s*\| got \[hello\]$")
    finally:
        r.close()


def test_stopping_a_tty_role_stops_its_whole_group():
    cfg = """
roles:
  term:
    command: sh -c 'echo $$$$ > @DIR@/main.pid; trap "" HUP; sleep 300 & echo $$! > @DIR@/bg.pid; wait'
    tty: true
"""
    r = StdinRoster(cfg)
    main = None
    try:
        main = int(read_pidfile(os.path.join(r.dir, "main.pid"), 10))
        bg = int(read_pidfile(os.path.join(r.dir, "bg.pid"), 10))
        st = proc_stat(bg)
        check(st["pgrp"] == main, "the background child is in the role's group: %s" % st)
        check(pid_alive(bg), "the background child runs before the stop")
        # it ignores SIGHUP, so only the group's stop signal ends it (not the terminal's hangup
        # when its session leader exits)
        r.proc.send_signal(signal.SIGTERM)
        r.wait_exit()
        wait_for(lambda: not pid_alive(bg) and not pid_alive(main), 10,
                 "the role and its background child gone")
    finally:
        r.close()
        if main:
            kill_group(main)


def test_concurrently_to_yaml_says_input():
    p = subprocess.run([ROSTER, "--to-yaml", "-i", "--default-input-target", "web", "-n",
                        "api,web", "echo a", "echo b"], capture_output=True, text=True, timeout=20)
    check(p.returncode == 0, p.stderr)
    check('input: "web"' in p.stdout, "input: said: %s" % p.stdout)
    check("-i" not in "".join(l for l in p.stdout.splitlines() if l.startswith("#")),
          "-i no longer listed as unsaid: %s" % p.stdout)
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(p.stdout)
    c = subprocess.run([ROSTER, "check", "-c", path], capture_output=True, text=True, timeout=20)
    check(c.returncode == 0 and "input: web" in c.stdout, "the YAML checks: %s %s" % (
        c.stdout, c.stderr))


def test_tmux_tty_role_resize_ctrl_z_and_ctrl_c():
    why = tmux_usable()
    if why:
        print("SKIP: tmux cannot run here (%s)" % why)
        return
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("""
roles:
  term:
    command: [sh, -c, "echo $$$$ > %s/term.pid; trap 'echo SIZE $$(stty size)' WINCH; echo SIZE $$(stty size); while :; do sleep 0.05; done"]
    tty: true
""" % d)
    t = Tmux(d)
    pid = None
    try:
        t.keys("%s -c %s 2>%s/err; echo $? > %s/rc" % (ROSTER, path, d, d), "Enter")
        pid = int(read_pidfile(os.path.join(d, "term.pid"), 10))
        size = t.tmux("display", "-p", "#{pane_height} #{pane_width}").stdout.strip()
        wait_for(lambda: re.search(r"term\s*\| SIZE %s" % size, t.screen()), 10,
                 "the role has the pane's size %s:\n%s" % (size, t.screen()))
        t.tmux("resize-window", "-x", "120", "-y", "40")
        size2 = t.tmux("display", "-p", "#{pane_height} #{pane_width}").stdout.strip()
        check(size2 != size, "the pane was resized: %s" % size2)
        wait_for(lambda: re.search(r"term\s*\| SIZE %s" % size2, t.screen()), 10,
                 "the role saw the resize to %s:\n%s" % (size2, t.screen()))
        roster = proc_stat(pid)["ppid"]
        t.keys("C-z")
        wait_for(lambda: state(pid) == "T" and state(roster) == "T", 10,
                 "roster and the tty role stopped after Ctrl-Z")
        # a resize while roster is stopped (the shell has the terminal back) signals the shell,
        # not roster: roster looks again when it is continued
        wait_for(lambda: "Stopped" in t.screen(), 10, "the shell says the job stopped")
        t.tmux("resize-window", "-x", "100", "-y", "30")
        size3 = t.tmux("display", "-p", "#{pane_height} #{pane_width}").stdout.strip()
        check(size3 not in (size, size2), "the pane was resized again: %s" % size3)
        # tmux sets the pane's terminal size on its own schedule: wait until it has, so that
        # the shell (not roster) is the one told
        pane_tty = t.tmux("display", "-p", "#{pane_tty}").stdout.strip()
        wait_for(lambda: subprocess.run(["stty", "-F", pane_tty, "size"], capture_output=True,
                                        text=True).stdout.strip() == size3, 10,
                 "the pane's terminal is %s" % size3)
        t.keys("fg", "Enter")
        wait_for(lambda: state(pid) in ("S", "R"), 10, "the tty role runs again after fg")
        wait_for(lambda: re.search(r"term\s*\| SIZE %s" % size3, t.screen()), 10,
                 "the role saw the resize made while stopped, %s:\n%s" % (size3, t.screen()))
        t.keys("C-c")
        wait_for(lambda: not pid_alive(roster), 15, "roster exited after Ctrl-C")
        check(not pid_alive(pid), "the tty role is gone")
        with open(os.path.join(d, "err")) as f:
            err = f.read()
        check(not SANITIZER.search(err), err)
    finally:
        t.close()
        if pid:
            kill_group(pid)


if __name__ == "__main__":
    run(globals())
