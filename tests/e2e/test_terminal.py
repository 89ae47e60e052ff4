"""The terminal lifecycle (issue 9 §3), driven through a real terminal with tmux: closing the
terminal stops everything in order, SIGHUP with the terminal still there reloads, Ctrl-Z stops
roster and every child group and `fg` resumes them all, a second Ctrl-C kills at once and exits
non-zero; and a closed stdout (`roster | head`) stops the roles in order.

tmux runs on a private socket in the test's directory; when it cannot run the test says SKIP.
"""
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import termios
import time

from harness import (CHILD, ROSTER, SANITIZER, Failure, check, pid_alive, proc_stat,
                     read_pidfile, run, tmpdir, wait_for)

SKIP = 77  # ctest's SKIP_RETURN_CODE for this file

# Two roles, web depending on api. Each writes its pid, and its name to `order` when SIGTERM
# stops it, so an ordered stop (web, then api) can be told from a kill.
ORDERED = """
roles:
  api:
    command: [sh, -c, 'echo $$$$ > @DIR@/api.pid; trap "echo api >> @DIR@/order; exit 0" TERM; while :; do sleep 0.05; done']
  web:
    command: [sh, -c, 'echo $$$$ > @DIR@/web.pid; trap "echo web >> @DIR@/order; exit 0" TERM; while :; do echo tick; sleep 0.05; done']
    depends_on: [api]
"""


def write_config(d, text):
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(text.replace("@CHILD@", CHILD).replace("@DIR@", d))
    return path


def read_lines(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def state(pid):
    try:
        return proc_stat(pid)["state"]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return "gone"


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Tmux:
    """An interactive bash in a detached tmux session on a socket of its own."""

    def __init__(self, d):
        self.dir = d
        self.sock = os.path.join(d, "tmux.sock")
        env = dict(os.environ)
        env.pop("TMUX", None)
        env.pop("ROSTER_ROLES", None)
        env.pop("NOTIFY_SOCKET", None)
        env["NO_COLOR"] = "1"
        env["TMPDIR"] = d
        env["PS1"] = "$ "
        env["TERM"] = "xterm"
        self.env = env
        p = subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null", "new-session", "-d",
                            "-x", "250", "-y", "50", "bash --norc --noprofile"],
                           env=env, capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            raise OSError("tmux new-session failed: %s" % p.stderr.strip())

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock] + list(args), env=self.env,
                              capture_output=True, text=True, timeout=20)

    def keys(self, *keys):
        self.tmux("send-keys", *keys)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-J", "-S", "-").stdout

    def close(self):
        self.tmux("kill-server")


def tmux_usable():
    if not shutil.which("tmux"):
        return "tmux is not installed"
    d = tmpdir()
    try:
        t = Tmux(d)
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)
    t.close()
    return None


def roster_line(d, cfg, extra=""):
    """The shell line that runs roster in the terminal: stdout stays the terminal (unless extra
    redirects it), stderr goes to a file (for sanitizer reports) and the exit status to `rc`."""
    return "%s -c %s --log-format json %s 2>%s/err; echo $? > %s/rc" % (ROSTER, cfg, extra, d, d)


def check_stderr(d):
    try:
        with open(os.path.join(d, "err")) as f:
            err = f.read()
    except FileNotFoundError:
        return
    if SANITIZER.search(err):
        raise Failure("sanitizer report from roster:\n%s" % err)


def in_terminal(test, extra=""):
    """Runs test(tmux, dir, cfg_path, pids) with roster running ORDERED in a tmux terminal;
    pids = (roster, api, web). Cleans up whatever the test left."""
    def wrapped():
        d = tmpdir()
        cfg = write_config(d, ORDERED)
        t = Tmux(d)
        pids = []
        try:
            t.keys(roster_line(d, cfg, extra.replace("@DIR@", d)), "Enter")
            api = read_pidfile(os.path.join(d, "api.pid"), 10)
            web = read_pidfile(os.path.join(d, "web.pid"), 10)
            roster = proc_stat(api)["ppid"]
            pids = [roster, api, web]
            check(proc_stat(web)["ppid"] == roster, "both roles are roster's children")
            test(t, d, cfg, pids)
            check_stderr(d)
        finally:
            t.close()
            for p in pids[1:]:
                kill_group(p)
            if pids and pid_alive(pids[0]):
                os.kill(pids[0], signal.SIGKILL)
    wrapped.__name__ = test.__name__
    return wrapped


@in_terminal
def test_closing_the_terminal_stops_everything_in_order(t, d, cfg, pids):
    roster, api, web = pids
    check(all(pid_alive(p) for p in pids), "roster and its roles run before the terminal closes")
    t.close()  # the terminal goes away: its shell and roster get SIGHUP, the tty hangs up
    wait_for(lambda: not any(pid_alive(p) for p in pids), 15,
             "roster and its roles gone after the terminal closed")
    check(read_lines(os.path.join(d, "order")) == ["web", "api"],
          "stopped in order, web then api: %s" % read_lines(os.path.join(d, "order")))


def closed_terminal_stdout_in_a_file(t, d, cfg, pids):
    """stdout in a file takes the hung-up terminal's write errors out of the picture: what
    stops roster is the SIGHUP of the terminal that went away, not a reload."""
    t.close()
    wait_for(lambda: not any(pid_alive(p) for p in pids), 15,
             "roster and its roles gone after the terminal closed")
    with open(os.path.join(d, "out.log")) as f:
        out = f.read()
    check("SIGHUP received: the terminal went away" in out, "the reason is said:\n%s" % out)
    check('"reloaded"' not in out, "no reload")
    check(read_lines(os.path.join(d, "order")) == ["web", "api"], "stopped in order")


test_closing_the_terminal_stops_everything_with_stdout_in_a_file = in_terminal(
    closed_terminal_stdout_in_a_file, extra=">@DIR@/out.log")


@in_terminal
def test_sighup_with_the_terminal_still_there_reloads(t, d, cfg, pids):
    roster, api, web = pids
    os.kill(roster, signal.SIGHUP)
    wait_for(lambda: '"event":"reloaded"' in t.screen().replace(" ", ""), 10,
             "a reload on the terminal")
    check(all(pid_alive(p) for p in pids), "roster and its roles still run")
    check(read_lines(os.path.join(d, "order")) == [], "nothing was stopped")


@in_terminal
def test_ctrl_z_stops_every_group_and_fg_resumes_them(t, d, cfg, pids):
    t.keys("C-z")
    wait_for(lambda: all(state(p) == "T" for p in pids), 10,
             "roster and both roles stopped (T) after Ctrl-Z")
    wait_for(lambda: "Stopped" in t.screen(), 10, "the shell says the job stopped")
    t.keys("fg", "Enter")
    wait_for(lambda: all(state(p) in ("S", "R") for p in pids), 10,
             "roster and both roles running again after fg")
    check(read_lines(os.path.join(d, "order")) == [], "nothing was stopped for good")
    # still supervising: Ctrl-C ends the run in order
    # (not `rc`: bash ran the rest of the line when the job stopped)
    t.keys("C-c")
    wait_for(lambda: not pid_alive(pids[0]), 15, "roster exited after Ctrl-C")
    check(read_lines(os.path.join(d, "order")) == ["web", "api"],
          "stopped in order: %s" % read_lines(os.path.join(d, "order")))


def test_second_ctrl_c_kills_at_once_and_exits_non_zero():
    d = tmpdir()
    cfg = write_config(d, """
roles:
  stubborn:
    command: [@CHILD@, ignore-term, "@DIR@/stubborn.pid"]
    stop: {timeout: 60s}
""")
    t = Tmux(d)
    pid = None
    try:
        t.keys(roster_line(d, cfg), "Enter")
        pid = read_pidfile(os.path.join(d, "stubborn.pid"), 10)
        wait_for(lambda: "ignoring SIGTERM" in t.screen(), 10, "the role ignores SIGTERM")
        t.keys("C-c")
        wait_for(lambda: "shutting down" in t.screen(), 10, "the first Ctrl-C stops in order")
        check(pid_alive(pid), "the stubborn role outlives the first Ctrl-C")
        t0 = time.monotonic()
        t.keys("C-c")
        rc = wait_for(lambda: read_lines(os.path.join(d, "rc")), 10, "roster exited")
        took = time.monotonic() - t0
        check(took < 5, "the second Ctrl-C kills at once (%.2fs, stop timeout 60s)" % took)
        check(rc == ["130"], "exit status 130 after the second Ctrl-C, not %s" % rc)
        check(not pid_alive(pid), "the stubborn role is gone")
        check_stderr(d)
    finally:
        t.close()
        if pid:
            kill_group(pid)


def plain_roster(d, stdout, ctty=False, **env):
    """roster running ORDERED in a session of its own: without a terminal (as in a container),
    or, with ctty, with a pseudo-terminal as its controlling terminal and stdin (as when a user
    runs `roster | head` at a prompt) while stdout stays what is given."""
    cfg = write_config(d, ORDERED)
    e = dict(os.environ, NO_COLOR="1", TMPDIR=d, **env)
    if not ctty:
        return subprocess.Popen([ROSTER, "-c", cfg], stdout=stdout, stderr=subprocess.PIPE,
                                env=e, start_new_session=True)
    master, slave = os.openpty()

    def take_terminal():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([ROSTER, "-c", cfg], stdin=slave, stdout=stdout,
                         stderr=subprocess.PIPE, env=e, preexec_fn=take_terminal,
                         pass_fds=(slave,))
    os.close(slave)
    p.pty_master = master  # kept open for the run: closing it would hang the terminal up
    return p


def wait_plain(p, timeout, what):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure("roster still runs %ss after %s" % (timeout, what))


def end_plain(p, d):
    """Kills whatever a failed test left; returns roster's stderr, failing on a sanitizer
    report."""
    if p.poll() is None:
        p.kill()
        p.wait()
    err = p.stderr.read().decode("utf-8", "replace")
    p.stderr.close()
    if getattr(p, "pty_master", None) is not None:
        os.close(p.pty_master)
    for name in ("api.pid", "web.pid"):
        pid = read_lines(os.path.join(d, name))
        if pid:
            kill_group(int(pid[0]))
    if SANITIZER.search(err):
        raise Failure("sanitizer report from roster:\n%s" % err)
    return err


def test_closed_stdout_stops_the_roles_in_order():
    """`roster | head -1` at a prompt: once the reader is gone roster stops the roles in order
    and exits, and says once on stderr how many lines it could not write."""
    d = tmpdir()
    p = plain_roster(d, subprocess.PIPE, ctty=True)
    try:
        read_pidfile(os.path.join(d, "api.pid"), 10)
        read_pidfile(os.path.join(d, "web.pid"), 10)
        wait_for(lambda: b"tick" in p.stdout.readline(), 10, "web's output")
        p.stdout.close()  # head -1 has read its line and exits
        code = wait_plain(p, 15, "its stdout was closed")
    finally:
        err = end_plain(p, d)
    check(code == 0, "exit 0 after an ordered stop, not %s: %s" % (code, err))
    check(read_lines(os.path.join(d, "order")) == ["web", "api"],
          "stopped in order: %s" % read_lines(os.path.join(d, "order")))
    said = [l for l in err.splitlines() if "not written" in l]
    check(len(said) == 1, "said once on stderr how many lines were lost: %r" % err)


def test_closed_stdout_without_a_terminal_keeps_the_roles_running():
    """In a container (no terminal) the log's reader going away is not the user leaving: the
    roles keep running, roster says so once, and a SIGTERM still stops them in order."""
    d = tmpdir()
    p = plain_roster(d, subprocess.PIPE)
    try:
        api = int(read_pidfile(os.path.join(d, "api.pid"), 10))
        web = int(read_pidfile(os.path.join(d, "web.pid"), 10))
        wait_for(lambda: b"tick" in p.stdout.readline(), 10, "web's output")
        p.stdout.close()
        # the sentinel: roster has seen the closed stdout (it says so) before the check below
        said = b""
        end = time.monotonic() + 10
        while b"stdout closed" not in said and time.monotonic() < end:
            said += os.read(p.stderr.fileno(), 4096)
        check(b"the roles keep running" in said, "roster said it saw stdout close: %r" % said)
        check(p.poll() is None and pid_alive(api) and pid_alive(web), "roster and roles run on")
        p.send_signal(signal.SIGTERM)
        code = wait_plain(p, 15, "SIGTERM")
    finally:
        end_plain(p, d)
    check(code == 0, "exit 0 after SIGTERM, not %s" % code)
    check(read_lines(os.path.join(d, "order")) == ["web", "api"],
          "stopped in order: %s" % read_lines(os.path.join(d, "order")))


def test_sighup_override_stops_without_a_terminal():
    """ROSTER_SIGHUP=stop: SIGHUP stops the run in order even where it would reload (no
    terminal, as in a container)."""
    d = tmpdir()
    p = plain_roster(d, subprocess.DEVNULL, ROSTER_SIGHUP="stop")
    try:
        read_pidfile(os.path.join(d, "api.pid"), 10)
        read_pidfile(os.path.join(d, "web.pid"), 10)
        p.send_signal(signal.SIGHUP)
        wait_plain(p, 15, "SIGHUP with ROSTER_SIGHUP=stop")
    finally:
        end_plain(p, d)
    check(read_lines(os.path.join(d, "order")) == ["web", "api"],
          "stopped in order: %s" % read_lines(os.path.join(d, "order")))


if __name__ == "__main__":
    why = tmux_usable()
    if why:
        print("SKIP: tmux cannot run here (%s)" % why)
        sys.exit(SKIP)
    run(globals())
