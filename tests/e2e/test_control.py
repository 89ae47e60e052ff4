"""The control socket and the CLI that uses it: status, restart, stop, start, reload."""
import json
import os
import signal
import socket
import stat

from harness import (Roster, check, http_get, pid_alive, run, run_roster, socket_fds,
                     wait_for)

CFG = """
app: ctl
control: {socket: "@DIR@/ctl.sock"}
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
    instances: 2
  worker:
    command: [@CHILD@, sleep, "1000"]
  cron:
    command: [@CHILD@, sleep, "1000"]
"""


def test_status_table_and_json():
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        code, out, err = run_roster(["status", "-c", r.config_path])
        check(code == 0, err)
        lines = out.strip().split("\n")
        check(lines[0].startswith("app ctl, roster pid %d" % r.pid), lines[0])
        check(lines[1].split() == ["ROLE", "INSTANCE", "STATE", "PID", "UPTIME", "RESTARTS",
                                   "LAST", "EXIT"], lines[1])
        rows = [l.split() for l in lines[2:]]
        check([(x[0], x[1], x[2]) for x in rows] ==
              [("api", "0", "ready"), ("api", "1", "ready"), ("worker", "0", "ready"),
               ("cron", "0", "ready")], rows)
        check(rows[0][3] == str(r.instance_pids("api", 0)[0]), "pid column")
        code, out, _ = run_roster(["status", "--json", "--socket", os.path.join(r.dir, "ctl.sock")])
        doc = json.loads(out)
        check(doc["app"] == "ctl" and len(doc["roles"]) == 4, doc)
        r.stop()


def _restart_and_compare(r, target, restarted, starts):
    """`roster restart TARGET`, then: the copies in restarted have new pids, every other one
    its old pid; starts is (role, how many started events to wait for)."""
    before = {(e["subject"], e["instance"]): e["pid"] for e in r.events("started")}
    code, out, err = run_roster(["restart", target, "-c", r.config_path])
    check(code == 0 and "%s: restart requested" % target in out, out + err)
    r.wait_event("started", starts[0], count=starts[1])
    after = {(e["subject"], e["instance"]): e["pid"] for e in r.events("started")}
    for key, pid in before.items():
        if key in restarted:
            check(after[key] != pid and not pid_alive(pid), "%s.%d restarted" % key)
        else:
            check(after[key] == pid and pid_alive(pid), "%s kept pid %d" % (key, pid))


def test_restart_leaves_other_pids_unchanged():
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        _restart_and_compare(r, "worker", {("worker", 0)}, ("worker", 2))
        r.stop()


def test_stop_and_start_a_role():
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        cron = r.pids("cron")[0]
        code, out, _ = run_roster(["stop", "cron", "-c", r.config_path])
        check(code == 0, out)
        r.wait_event("stopped", "cron")
        check(not pid_alive(cron), "cron stopped")
        code, out, _ = run_roster(["status", "-c", r.config_path])
        check([l for l in out.split("\n") if l.startswith("cron")][0].split()[2] == "stopped", out)
        check(r.proc.poll() is None, "roster keeps running with a role stopped")
        code, out, _ = run_roster(["start", "cron", "-c", r.config_path])
        check(code == 0, out)
        r.wait_event("started", "cron", count=2)
        r.stop()


def test_reload_through_the_socket():
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        with open(r.config_path, "a") as f:
            f.write("  extra:\n    command: [%s, sleep, \"1000\"]\n" % __import__("harness").CHILD)
        code, out, err = run_roster(["reload", "-c", r.config_path])
        check(code == 0 and "config reloaded" in out, out + err)
        r.wait_event("started", "extra")
        with open(r.config_path, "a") as f:
            f.write("    bogus: 1\n")
        code, out, err = run_roster(["reload", "-c", r.config_path, "--socket",
                                     os.path.join(r.dir, "ctl.sock")])
        check(code == 1 and "unknown key 'bogus'" in err, "reload errors reach the CLI: %s" % err)
        r.stop()


def test_errors_and_socket_mode():
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        sock = os.path.join(r.dir, "ctl.sock")
        mode = stat.S_IMODE(os.stat(sock).st_mode)
        check(mode == 0o600, "control socket mode is 0600, got %o" % mode)
        code, _, err = run_roster(["restart", "nope", "--socket", sock])
        check(code == 1 and "unknown role 'nope'; known roles: api, worker, cron" in err, err)
        st, body, _ = http_get("http://roster/roles", method="DELETE", unix=sock)
        check(st == 405, "wrong method: %d" % st)
        st, body, _ = http_get("http://roster/whatever", unix=sock)
        check(st == 404, "unknown path: %d" % st)
        r.stop()
        wait_for(lambda: not os.path.exists(sock), 5, "the socket removed at exit")
    code, _, err = run_roster(["status", "--socket", sock])
    check(code == 1 and "no roster is running here" in err, err)


def test_second_roster_does_not_steal_the_socket():
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        with Roster(CFG.replace("@DIR@", r.dir)) as r2:
            r2.wait_event("warning")
            msgs = [e["msg"] for e in r2.events("warning")]
            check(any("another roster is serving" in m for m in msgs), msgs)
            r2.stop()
        code, out, _ = run_roster(["status", "--socket", os.path.join(r.dir, "ctl.sock")])
        check("roster pid %d" % r.pid in out, "the first roster still owns its socket")
        r.stop()


def _recv_until(conn, end):
    """Reads from conn until end has come, or the peer closed."""
    data = b""
    while end not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _raw(sock_path, request):
    """Sends one raw request on the control socket; the answer's status, or 0 when the server
    closed the connection without one."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(sock_path)
        s.sendall(request)
        head = _recv_until(s, b"\r\n")
    finally:
        s.close()
    line = head.split(b"\r\n")[0].split()
    return int(line[1]) if len(line) >= 2 and line[0].startswith(b"HTTP/1.") else 0


def test_requests_the_socket_refuses():
    """What the control socket's own parser was unit-tested for, asked of the server itself:
    request bodies are refused before they are read, a query string does not change the route,
    and malformed requests are refused without running anything."""
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        sock = os.path.join(r.dir, "ctl.sock")
        check(_raw(sock, b"GET /roles HTTP/1.1\r\nHost: roster\r\n\r\n") == 200, "a plain GET")
        st = _raw(sock, b"POST /roles/worker/restart?now=1 HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        check(st == 200, "the query string is not part of the path: %d" % st)
        r.wait_event("started", "worker", count=2)
        for req in (b"POST /reload HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\n\r\nhello",
                    b"POST /reload HTTP/1.1\r\nHost: r\r\ntransfer-encoding: chunked\r\n\r\n"):
            st = _raw(sock, req)
            check(st == 413, "a request body is refused: %r -> %d" % (req, st))
        bad = {
            b"GET\r\n\r\n": (0, 400),
            b"get /roles HTTP/1.1\r\nHost: r\r\n\r\n": (405,),
            b"GET /roles SPDY/3\r\nHost: r\r\n\r\n": (400, 505),
            b"GET /roles HTTP/2.0\r\nHost: r\r\n\r\n": (505,),
            b"GET /roles HTTP/1.1\r\nHost: r\r\nno colon here\r\n\r\n": (400,),
            b"GET /roles HTTP/1.1\r\nHost: r\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n": (431,),
            b"POST roles/cron/stop HTTP/1.1\r\nHost: r\r\n\r\n": (400, 404),
            # an encoded '/' and '?' stay in the name: never 'cron' and then '/stop'
            b"POST /roles/cron%2Fstop%3F/restart HTTP/1.1\r\nHost: r\r\n\r\n": (400, 404),
            b"POST /roles/cron%2Fstop%23/restart HTTP/1.1\r\nHost: r\r\n\r\n": (400, 404),
            b"GET /" + b"a" * 600 + b" HTTP/1.1\r\nHost: r\r\n\r\n": (414,),
        }
        for req, want in bad.items():
            st = _raw(sock, req)
            check(st in want, "%r refused with %s, got %d" % (req[:40], want, st))
        # the sentinel: the socket still serves, and the malformed stop did not stop cron
        code, out, err = run_roster(["status", "--socket", sock])
        check(code == 0, err)
        check([l for l in out.split("\n") if l.startswith("cron")][0].split()[2] == "ready", out)
        check(not r.events("stopped", "cron") and not r.events("reloaded"),
              "nothing ran: %s" % r.events())
        r.stop()


def test_restart_one_copy():
    """`roster restart api.1` restarts that copy only; stop and start act on whole roles."""
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        _restart_and_compare(r, "api.1", {("api", 1)}, ("api", 3))
        code, _, err = run_roster(["restart", "api.2", "-c", r.config_path])
        check(code == 1 and "role 'api' has 2 copies, api.0 to api.1" in err, err)
        code, _, err = run_roster(["stop", "api.0", "-c", r.config_path])
        check(code == 1 and "stop acts on the whole role: roster stop api" in err, err)
        code, out, err = run_roster(["restart", "worker.0", "-c", r.config_path])
        check(code == 0, "a single copy is .0: %s" % err)
        r.wait_event("started", "worker", count=2)
        check(len(r.events("started", "api")) == 3, "api untouched by the refused requests")
        r.stop()


def test_role_names_cannot_change_the_request():
    """A role name that held a path, a query or a fragment reached the socket unescaped:
    `roster restart 'api/stop?'` stopped api and `roster stop '../../reload#'` reloaded."""
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        sock = os.path.join(r.dir, "ctl.sock")
        for args in (["restart", "api/stop?"], ["stop", "../../reload#"], ["start", "api%2Fstop"]):
            code, _, err = run_roster(args + ["--socket", sock])
            check(code == 2 and "is not a role" in err, "%s refused: %d %s" % (args, code, err))
        # the server checks names too (a decoded %2F is a plain slash to it, as it would be
        # in any HTTP server: keeping the path whole is the client's part, tested above)
        for path in (b"/roles/a%20b/restart", b"/roles/api.x/restart", b"/roles/-api/stop",
                     b"/roles/api.01/restart"):
            st = _raw(sock, b"POST " + path + b" HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
            check(st == 400, "%r refused: %d" % (path, st))
        # the sentinel: a good request is still heard, and nothing else ran before it
        code, out, err = run_roster(["restart", "cron", "--socket", sock])
        check(code == 0, err)
        r.wait_event("started", "cron", count=2)
        check(not r.events("stopped", "api") and not r.events("reloaded") and
              not r.events("stop_requested") and len(r.events("restart_requested")) == 1,
              "only cron's restart ran: %s" % r.events())
        r.stop()


def _serve_once(path, answer, ready):
    """A one-request server on a unix socket that answers its request with answer."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    ready.set()
    srv.settimeout(10)
    try:
        c, _ = srv.accept()
        c.settimeout(5)
        _recv_until(c, b"\r\n\r\n")
        c.sendall(answer)
        c.close()
    except OSError:
        pass
    finally:
        srv.close()


def test_status_json_with_an_empty_answer():
    """`roster status --json` crashed when the socket answered 200 with no body."""
    import tempfile
    import threading
    d = tempfile.mkdtemp(prefix="roster-e2e-")
    answers = {
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n": "nothing",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc":
            "not a JSON object",
    }
    for i, (answer, says) in enumerate(answers.items()):
        for args in (["status", "--json"], ["status"]):
            path = os.path.join(d, "s%d%s.sock" % (i, len(args)))
            ready = threading.Event()
            t = threading.Thread(target=_serve_once, args=(path, answer, ready), daemon=True)
            t.start()
            ready.wait(5)
            code, out, err = run_roster(args + ["--socket", path])
            t.join(10)
            check(code == 1 and out == "", "%s: exit 1: %d %r %r" % (args, code, out, err))
            want = says if args[-1] == "--json" else "something unexpected"
            check(want in err, "%s says why: %r" % (args, err))


APP_CFG = """
app: app
roles:
  web:
    command: [@CHILD@, sleep, "1000"]
    env: {NEEDED: "${ONLY_IN_THE_SERVER}"}
"""


def test_default_socket_per_checkout():
    """Two configs of one app name in two directories (two checkouts of `app`) run side by
    side, each with its own default control socket, and the client finds each one's own
    without the variables only the servers were given."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="roster-e2e-")
    env = {"TMPDIR": tmp, "XDG_RUNTIME_DIR": ""}
    rs = []
    try:
        for _ in range(2):
            rs.append(Roster(APP_CFG, env=dict(env, ONLY_IN_THE_SERVER="x")))
        for r in rs:
            r.wait_event("started", "web")
        for r in rs:
            code, out, err = run_roster(["status", "-c", r.config_path], env=env)
            check(code == 0 and "roster pid %d" % r.pid in out, "found its own: %s%s" % (out, err))
        own = os.path.join(tmp, "roster-%d" % os.geteuid())
        socks = [f for f in os.listdir(own) if f.startswith("app-") and f.endswith(".sock")]
        check(len(socks) == 2, "two sockets: %s" % socks)
        for r in rs:
            check(not r.events("warning"), "each has its own socket: %s" % r.events("warning"))
            r.stop()
    finally:
        for r in rs:
            r.cleanup()


def test_socket_path_with_an_unset_variable():
    """When control.socket itself needs a variable the client lacks, it says so (exit 2)
    rather than guess."""
    import tempfile
    d = tempfile.mkdtemp(prefix="roster-e2e-")
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write('control: {socket: "${SOCK_DIR_UNSET}/ctl.sock"}\nroles:\n  a: {command: x}\n')
    code, _, err = run_roster(["status", "-c", path])
    check(code == 2 and "cannot tell the control socket from the config" in err and
          "SOCK_DIR_UNSET" in err, err)


def _try_connect(path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect(path)
        return c
    except BlockingIOError:
        c.close()
        return None


def test_socket_serves_again_after_its_connection_limit():
    """The control socket runs on the health server's code: 40 idle clients fill its 32
    connections and let go while roster is not scheduled (stopped), so one run of the server
    sees every close; the next `roster status` must still be answered (issue 8, bug 7)."""
    with Roster(CFG) as r:
        r.wait_event("started", "cron")
        sock = os.path.join(r.dir, "ctl.sock")
        base = socket_fds(r.pid)  # no client has connected yet
        held = []
        try:
            for _ in range(40):
                # a full backlog refuses at once (EAGAIN) until roster accepts: try again
                held.append(wait_for(lambda: _try_connect(sock), 5, "a connection"))
            wait_for(lambda: socket_fds(r.pid) >= base + 32, 10, "32 connections held")
            check(socket_fds(r.pid) == base + 32, "no more than 32 held")
            os.kill(r.pid, signal.SIGSTOP)
            for c in held:
                c.close()
        finally:
            for c in held:
                c.close()
            os.kill(r.pid, signal.SIGCONT)
        code, out, err = run_roster(["status", "--socket", sock], timeout=5)
        check(code == 0 and "roster pid %d" % r.pid in out, "status answers: %s" % err)
        r.stop()


def _nobody():
    """The uid of a user other than us, when we may give files away (root); else None."""
    import pwd
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return 65534


def test_default_socket_in_a_private_directory():
    """The default socket lives in a directory of the user's own, made 0700: $TMPDIR/roster-<uid>,
    or $XDG_RUNTIME_DIR/roster when that is private; the client finds it there (issue 10 item
    14: it was in world-writable /tmp, where another user could take the name first)."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="roster-e2e-")
    xdg = tempfile.mkdtemp(prefix="roster-e2e-xdg-")  # mkdtemp makes it 0700
    for env, where in (({"TMPDIR": tmp, "XDG_RUNTIME_DIR": ""},
                        os.path.join(tmp, "roster-%d" % os.geteuid())),
                       ({"TMPDIR": tmp, "XDG_RUNTIME_DIR": xdg}, os.path.join(xdg, "roster"))):
        with Roster(APP_CFG, env=dict(env, ONLY_IN_THE_SERVER="x")) as r:
            r.wait_event("started", "web")
            socks = wait_for(lambda: [f for f in os.listdir(where) if f.endswith(".sock")]
                             if os.path.isdir(where) else None, 10, "a socket in " + where)
            st = os.lstat(where)
            check(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and
                  st.st_uid == os.geteuid(), "%s is ours, mode 0700: %o" % (where, st.st_mode))
            sst = os.lstat(os.path.join(where, socks[0]))
            check(stat.S_ISSOCK(sst.st_mode) and stat.S_IMODE(sst.st_mode) == 0o600,
                  "the socket is 0600: %o" % sst.st_mode)
            code, out, err = run_roster(["status", "-c", r.config_path], env=env)
            check(code == 0 and "roster pid %d" % r.pid in out, "status finds it: %s" % err)
            check(not r.events("warning"), "no warning: %s" % r.events("warning"))
            r.stop()


def test_default_directory_not_ours_is_refused():
    """A $TMPDIR/roster-<uid> that another user made first (or one open to others) is refused:
    roster runs without its control socket and says why, rather than serve (or let the client
    find) a socket another user could have put there. The client refuses a socket in it too."""
    import tempfile
    nobody = _nobody()
    cases = [("open to other users", 0o777, None)]
    if nobody is not None:
        cases.append(("owned by another user", 0o700, nobody))
    else:
        print("SKIP the directory of another user: not root, cannot give one away")
    for says, mode, owner in cases:
        tmp = tempfile.mkdtemp(prefix="roster-e2e-")
        env = {"TMPDIR": tmp, "XDG_RUNTIME_DIR": ""}
        own = os.path.join(tmp, "roster-%d" % os.geteuid())
        os.mkdir(own)
        os.chmod(own, mode)
        if owner is not None:
            os.chown(own, owner, -1)
        with Roster(APP_CFG, env=dict(env, ONLY_IN_THE_SERVER="x")) as r:
            r.wait_event("started", "web")
            w = r.wait_event("warning", where=lambda e: "control socket disabled" in e["msg"])
            check(own in w[0]["msg"] and says in w[0]["msg"], "says why: %s" % w[0]["msg"])
            check(os.listdir(own) == [], "no socket served there: %s" % os.listdir(own))
            check(r.proc.poll() is None, "roster runs on")
            # what another user could leave in it: a socket of theirs, which the client refuses
            code, out, err = run_roster(["check", "-c", r.config_path],
                                        env=dict(env, ONLY_IN_THE_SERVER="x"))
            line = [l for l in out.splitlines() if l.startswith("control: ")]
            check(len(line) == 1 and line[0][9:].startswith(own + "/"), "check: %s" % line)
            sock = line[0][9:]
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(sock)
            srv.listen(1)
            if owner is not None:
                os.chown(sock, owner, -1)
            srv.setblocking(False)
            try:
                code, out, err = run_roster(["status", "-c", r.config_path], env=env)
                check(code == 1 and "not talking to the control socket" in err and says in err,
                      "the client refuses it: %d %r" % (code, err))
                try:
                    srv.accept()
                    check(False, "the client connected to it")
                except BlockingIOError:
                    pass
            finally:
                srv.close()
            r.stop()


def test_client_refuses_a_socket_of_another_user():
    """The client checks the socket's owner before it sends anything, --socket too: a socket
    another user owns gets no connection at all. The sentinel: the same listener, ours, is
    connected to."""
    import tempfile
    nobody = _nobody()
    if nobody is None:
        print("SKIP: not root, cannot give a socket away")
        return
    import threading
    d = tempfile.mkdtemp(prefix="roster-e2e-")
    path = os.path.join(d, "ctl.sock")
    for theirs in (False, True):
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        if theirs:
            os.chown(path, nobody, -1)
        got, stop = [], threading.Event()

        def accept():
            # ours is hung up on at once: the client then fails fast (an empty answer)
            srv.settimeout(0.1)
            while not stop.is_set():
                try:
                    c, _ = srv.accept()
                except socket.timeout:
                    continue
                got.append(True)
                c.close()
                return
        t = threading.Thread(target=accept, daemon=True)
        t.start()
        try:
            code, out, err = run_roster(["status", "--socket", path], timeout=60)
        finally:
            stop.set()
            t.join(10)
            srv.close()
            os.unlink(path)
        if theirs:
            check(code == 1 and not got, "refused without connecting: %d %r" % (code, err))
            check("not talking to the control socket %s" % path in err and
                  "owned by another user (owner uid %d" % nobody in err, "says why: %r" % err)
        else:
            check(got and code == 1, "the client connects to a socket of ours (%d %r)" % (code, err))


def test_client_refuses_a_listener_of_another_user():
    """The socket file is ours, but the process that listens on it runs as another user (it
    bound as root, then dropped to nobody before listen): the client reads the listener's
    credentials on the connected socket (SO_PEERCRED) and sends nothing. The sentinel: the same
    setup without the drop gets the request."""
    import tempfile
    nobody = _nobody()
    if nobody is None:
        print("SKIP: not root, cannot listen as another user")
        return
    d = tempfile.mkdtemp(prefix="roster-e2e-")
    path = os.path.join(d, "ctl.sock")
    for theirs in (False, True):
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            # the listener: reports the first bytes it receives, then exits
            try:
                os.close(rd)
                srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                srv.bind(path)
                if theirs:
                    os.setgid(nobody)
                    os.setuid(nobody)
                srv.listen(4)
                os.write(wr, b"L")
                srv.settimeout(30)
                c, _ = srv.accept()
                c.settimeout(5)
                data = c.recv(64)
                os.write(wr, b"R" if data else b"E")
            except Exception:  # noqa: BLE001 - the child reports by exiting
                pass
            os._exit(0)
        os.close(wr)
        try:
            check(os.read(rd, 1) == b"L", "the listener is up")
            check(os.lstat(path).st_uid == os.geteuid(), "the socket file is ours")
            code, out, err = run_roster(["status", "--socket", path], timeout=60)
        finally:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            rest = b""
            while True:
                b = os.read(rd, 16)
                if not b:
                    break
                rest += b
            os.close(rd)
            os.unlink(path)
        if theirs:
            check(code == 1 and rest != b"R", "nothing sent: %d %r %r" % (code, rest, err))
            check("runs as uid %d" % nobody in err, "says why: %r" % err)
        else:
            check(rest == b"R", "the request reaches a listener of ours: %r %r" % (rest, err))

if __name__ == "__main__":
    run(globals())
