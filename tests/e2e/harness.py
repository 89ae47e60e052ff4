"""harness.py — drives the real roster binary for the end-to-end tests.

Stdlib only. Every wait has a deadline and polls a condition; nothing sleeps blindly.
A test file defines test_* functions and ends with `run(globals())`.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROSTER = os.environ.get("ROSTER_BIN", "roster")
CHILD = os.environ.get("RTEST_CHILD", "rtest-child")
SRC = os.environ.get("ROSTER_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
PYHELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers", "pyhelper.py")


def expand(text, d):
    return (text.replace("@CHILD@", CHILD).replace("@DIR@", d)
            .replace("@PYTHON@", sys.executable).replace("@PYHELPER@", PYHELPER))


def http_get(url, method="GET", timeout=5, headers=None, unix=None):
    """Returns (status, body, seconds). unix: a socket path to talk HTTP over."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    t0 = time.monotonic()
    if unix:
        class UnixConn(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(unix)
        c = UnixConn("roster", timeout=timeout)
    else:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        c.request(method, u.path + ("?" + u.query if u.query else ""), headers=headers or {})
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        return r.status, body, time.monotonic() - t0
    finally:
        c.close()


_tmpdirs = []


def tmpdir():
    """A temporary directory removed when the test process exits."""
    d = tempfile.mkdtemp(prefix="roster-e2e-")
    _tmpdirs.append(d)
    return d


@atexit.register
def _cleanup_tmpdirs():
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


SANITIZER = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehavior")


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_for(pred, timeout, what, interval=0.01):
    """Polls pred() until it returns something truthy; returns it or fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Failure("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def raise_fd_limit(need):
    """Raises the soft fd limit (roster inherits it) to need; False when the hard limit is
    lower (the test then says SKIP)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return True
    if hard != resource.RLIM_INFINITY and hard < need:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return True


def accepted_sockets(port):
    """The connections the server on port has accepted, as (remote, state, inode) tuples in
    /proc/net/tcp's spelling (remote "ADDR:PORT" in little-endian hex, state "01" established,
    "08" close-wait). A connection still in the accept queue has no inode, an accepted one has.
    The file is read in pieces while the table changes, so a socket can be listed twice, or
    missed: they are told apart by inode, and callers poll."""
    found = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, st, inode = fields[1], fields[2], fields[3], fields[9]
            if int(local.split(":")[1], 16) == port and inode != "0":
                found[inode] = (remote, st, inode)
    return list(found.values())


def socket_fds(pid):
    """How many of the process's descriptors are sockets (a quicker count of a server's
    connections than /proc/net/tcp, which holds every socket of the host)."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def _below_ephemeral():
    """The 12,000 ports just below the kernel's ephemeral range (from which free_port's come)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(1024, low - 12000), low


_client_ports = {"range": None, "next": 0}


def bound_client(src):
    """A non-blocking TCP socket bound to the address src, at a port below the ephemeral range
    (taken in turn). A test that opens thousands of connections from ephemeral ports takes the
    numbers free_port() hands to the tests running beside it, whose servers then cannot listen
    there."""
    import random
    if _client_ports["range"] is None:
        _client_ports["range"] = _below_ephemeral()
        _client_ports["next"] = random.randrange(12000)
    lo, hi = _client_ports["range"]
    for _ in range(hi - lo):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _client_ports["next"] = (_client_ports["next"] + 1) % (hi - lo)
        try:
            s.bind((src, lo + _client_ports["next"]))
            return s
        except OSError:
            s.close()
    raise Failure("no free port below the ephemeral range for %s" % src)


def http_server(handler):
    """A threaded HTTP server with handler on a free loopback port, serving in the background:
    (server, port). Call server.shutdown() when done."""
    import http.server
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_pair():
    """A free port whose next port is free too: the copies of a role with port: P use P and P+1
    (bound on every interface, as an api role listens)."""
    for _ in range(100):
        p = free_port()
        s = socket.socket()
        try:
            s.bind(("0.0.0.0", p + 1))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise Failure("no two consecutive free ports")


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def pid_exists(pid):
    """True while the pid exists at all, zombie or not."""
    return os.path.exists("/proc/%d" % pid)


def proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return {"state": rest[0], "ppid": int(rest[1]), "pgrp": int(rest[2])}


def group_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if proc_stat(int(d))["pgrp"] == pgid:
                out.append(int(d))
        except (FileNotFoundError, IndexError, ProcessLookupError):
            pass
    return out


def zombies_of(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = proc_stat(int(d))
            if st["ppid"] == ppid and st["state"] == "Z":
                out.append(int(d))
        except (FileNotFoundError, IndexError, ProcessLookupError):
            pass
    return out


def child_of(ppid):
    """A child of ppid (any one), or None."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if proc_stat(int(d))["ppid"] == ppid:
                    return int(d)
            except (FileNotFoundError, IndexError, ProcessLookupError):
                pass
    return None


def with_token(token, pids=None):
    """Live (non-zombie) processes, of pids or of all, whose command line holds token."""
    if pids is None:
        pids = [int(d) for d in os.listdir("/proc") if d.isdigit()]
    out = []
    for pid in pids:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if token.encode() in f.read() and proc_stat(pid)["state"] != "Z":
                    out.append(pid)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return out


def unshare_works(*flags):
    """True when `unshare --pid --fork FLAGS true` is allowed here."""
    if not shutil.which("unshare"):
        return False
    try:
        p = subprocess.run(["unshare", "--pid", "--fork"] + list(flags) + ["true"],
                           capture_output=True, timeout=10)
        return p.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def read_pidfile(path, timeout=5):
    def get():
        try:
            with open(path) as f:
                t = f.read().strip()
            return int(t) if t else None
        except FileNotFoundError:
            return None
    return wait_for(get, timeout, "pid file %s" % path)


class Roster:
    """A roster process under test, with its output collected line by line."""

    def __init__(self, config=None, args=(), env=None, json_logs=True, filename="roster.yaml",
                 cwd=None, stdout_file=False, extra_files=None, prefix_cmd=None, unset=()):
        self.dir = tempfile.mkdtemp(prefix="roster-e2e-")
        self.cwd = cwd or self.dir
        self.lines = []
        self.lock = threading.Lock()
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.dir, filename)
            with open(self.config_path, "w") as f:
                f.write(expand(config, self.dir))
        for name, text in (extra_files or {}).items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(expand(text, self.dir))
        cmd = list(prefix_cmd or []) + [ROSTER]
        if self.config_path:
            cmd += ["-c", self.config_path]
        if json_logs:
            cmd += ["--log-format", "json"]
        cmd += list(args)
        e = dict(os.environ)
        e.pop("ROSTER_ROLES", None)
        e.pop("NOTIFY_SOCKET", None)
        e["NO_COLOR"] = "1"
        e["TMPDIR"] = self.dir
        if env:
            e.update(env)
        for name in unset:
            e.pop(name, None)
        self.started = time.monotonic()
        self.json = json_logs
        if stdout_file:
            self.out_path = os.path.join(self.dir, "stdout.log")
            self.out_f = open(self.out_path, "wb")
            self.proc = subprocess.Popen(cmd, stdout=self.out_f, stderr=subprocess.PIPE,
                                         cwd=self.cwd, env=e, start_new_session=True)
            self.reader = None
        else:
            self.out_path = None
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         cwd=self.cwd, env=e, start_new_session=True)
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
        self.stderr_lines = []
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    @property
    def pid(self):
        return self.proc.pid

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.lines.append((time.monotonic(), line))

    def _read_err(self):
        for raw in self.proc.stderr:
            self.stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def output(self):
        if self.out_path:
            with open(self.out_path, "rb") as f:
                return [l.decode("utf-8", "replace") for l in f.read().split(b"\n") if l]
        with self.lock:
            return [l for _, l in self.lines]

    def records(self):
        """JSON log lines as dicts (non-JSON lines are skipped)."""
        out = []
        for l in self.output():
            try:
                out.append(json.loads(l))
            except ValueError:
                pass
        return out

    def events(self, event=None, subject=None):
        out = []
        for r in self.records():
            if r.get("role") != "roster":
                continue
            if event and r.get("event") != event:
                continue
            if subject and r.get("subject") != subject:
                continue
            out.append(r)
        return out

    def wait_event(self, event, subject=None, count=1, timeout=10, where=None):
        def get():
            evs = self.events(event, subject)
            if where:
                evs = [e for e in evs if where(e)]
            if len(evs) >= count:
                return evs
            if self.proc.poll() is not None:
                # exited: everything it wrote is in the pipe; read it all before judging
                if self.reader:
                    self.reader.join(timeout=5)
                evs = self.events(event, subject)
                if where:
                    evs = [e for e in evs if where(e)]
                if len(evs) >= count:
                    return evs
                raise Failure("roster exited (%s) while waiting for %s %s\n%s" % (
                    self.proc.returncode, event, subject or "", self.tail()))
            return None
        try:
            return wait_for(get, timeout, "event %s %s x%d" % (event, subject or "", count))
        except Failure as e:
            raise Failure("%s\n%s" % (e, self.tail()))

    def wait_line(self, pattern, timeout=10):
        rx = re.compile(pattern)

        def get():
            for l in self.output():
                m = rx.search(l)
                if m:
                    return m
            return None
        try:
            return wait_for(get, timeout, "a line matching %r" % pattern)
        except Failure as e:
            raise Failure("%s\n%s" % (e, self.tail()))

    def pids(self, subject):
        """The pids from the 'started' events of a role (label or role name), in order."""
        return [e["pid"] for e in self.events("started") if e.get("subject") == subject]

    def instance_pids(self, subject, instance=0):
        return [e["pid"] for e in self.events("started")
                if e.get("subject") == subject and e.get("instance") == instance]

    def send(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=30):
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure("roster did not exit within %ss\n%s" % (timeout, self.tail()))
        # everything roster wrote is in the pipe: let the reader take it all before judging
        if self.reader:
            self.reader.join(timeout=10)
        return code

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit(timeout)

    def tail(self, n=40):
        lines = self.output()[-n:]
        return "--- roster output (last %d lines) ---\n%s\n--- stderr ---\n%s" % (
            len(lines), "\n".join(lines), "\n".join(self.stderr_lines[-20:]))

    def cleanup(self):
        if self.proc.poll() is None:
            # a test that failed midway: ask for the ordered shutdown first, then insist
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        # children live in process groups of their own: make sure none outlives the test
        for e in self.events("started"):
            try:
                os.killpg(e["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError, KeyError):
                pass
        if self.reader:
            self.reader.join(timeout=5)
        self.err_reader.join(timeout=5)
        if self.out_path:
            self.out_f.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        # Under the ASan+UBSan build, a sanitizer report fails the test that produced it.
        bad = [l for l in self.stderr_lines if SANITIZER.search(l)]
        if bad:
            raise Failure("sanitizer report from roster:\n" + "\n".join(self.stderr_lines[-60:]))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def run_roster(args, env=None, cwd=None, timeout=20, input=None, prefix=()):
    """Runs a short roster command; returns (code, stdout, stderr). prefix: a command that runs
    it (setpriv, to be another user)."""
    e = dict(os.environ)
    e.pop("ROSTER_ROLES", None)
    if env:
        e.update(env)
    p = subprocess.run(list(prefix) + [ROSTER] + list(args), capture_output=True, text=True,
                       env=e, cwd=cwd, timeout=timeout, input=input)
    if SANITIZER.search(p.stderr):
        raise Failure("sanitizer report from roster %s:\n%s" % (" ".join(args), p.stderr))
    return p.returncode, p.stdout, p.stderr


def run(tests):
    """Runs every test_* function of a module's globals; exits non-zero on any failure."""
    names = sorted(n for n in tests if n.startswith("test_") and callable(tests[n]))
    only = sys.argv[1:]
    failed = []
    for n in names:
        if only and n not in only:
            continue
        t0 = time.monotonic()
        try:
            tests[n]()
            print("PASS %s (%.2fs)" % (n, time.monotonic() - t0), flush=True)
        except Exception as e:  # noqa: BLE001 - report every kind of failure
            failed.append(n)
            print("FAIL %s (%.2fs): %s" % (n, time.monotonic() - t0, e), flush=True)
            if not isinstance(e, Failure):
                traceback.print_exc()
    print("%d passed, %d failed" % (len(names) - len(failed) if not only else
                                    len([n for n in names if n in only]) - len(failed),
                                    len(failed)))
    sys.exit(1 if failed else 0)
