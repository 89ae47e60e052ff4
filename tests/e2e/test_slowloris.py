"""Slowloris on the health port (issue 10 item 1): one client opens 512 connections and dribbles
a header line on each every 3 s, under the 10 s idle timeout, opening again at its next turn
whatever the server cuts. Before the fix it held all 512 of the server's connections and /livez
went unanswered (the issue: 0 of 10 probes in 30 s; this test on main: 1 of 10, the first one,
sent before the attacker was in). A liveness probe must get through while the attack runs: the
server caps connections per client address, gives a request 5 s to complete its headers, and
when it is near its limit closes the oldest unfinished connection rather than refuse a new one."""
import errno
import resource
import socket
import sys
import threading
import time

from harness import (Failure, Roster, accepted_sockets, bound_client, check, free_port,
                     http_get, raise_fd_limit, run, wait_for)

ATTACK = 512       # connections the attacker keeps open (health.c's limit)
DRIBBLE_S = 3.0    # a header line this often on each, under the 10 s idle timeout
PROBES = 10        # /livez probes while the attack runs, one every PROBE_EVERY_S
PROBE_EVERY_S = 2.0
PROBE_TIMEOUT_S = 2.0
PER_CLIENT = 128   # health.c's per-client limit
SKIP = 77
CFG = """
health: {listen: "127.0.0.1:%d"}
roles:
  a:
    command: [@CHILD@, sleep, "1000"]
"""


def _held_from(port, addrs):
    """Established connections the server on port holds from the client addresses."""
    hexes = {_hex(a) for a in addrs}
    return len([1 for remote, st, _ in accepted_sockets(port)
                if remote.split(":")[0] in hexes and st == "01"])


def _hex(addr):
    """127.0.0.2 as /proc/net/tcp writes it (little-endian hex)."""
    return "%08X" % int.from_bytes(socket.inet_aton(addr), "little")


class Attacker(threading.Thread):
    """Keeps ATTACK connections from the source addresses srcs (in turn) open to port, each
    sending a request line and then one header line every DRIBBLE_S, never the blank line that
    ends the headers. A connection the server closes is opened again at its next turn."""

    def __init__(self, port, srcs):
        super().__init__(daemon=True)
        self.port, self.srcs = port, srcs
        self.stop_ev = threading.Event()
        self.opened = 0
        self.cut = 0  # connections the server closed under the attacker
        self.socks = []  # [socket, next dribble time, header lines sent], or None: cut
        self.reopen = []  # (when, index) of the cut ones, in time order

    def _open(self, i):
        s = bound_client(self.srcs[i % len(self.srcs)])
        s.connect_ex(("127.0.0.1", self.port))
        self.opened += 1
        return [s, time.monotonic(), 0]

    def run(self):
        self.socks = [self._open(i) for i in range(ATTACK)]
        while not self.stop_ev.is_set():
            now = time.monotonic()
            for i, ent in enumerate(self.socks):
                if ent is None:
                    continue
                s, due, n = ent
                dead = False
                try:
                    if s.recv(4096) == b"":
                        dead = True
                except BlockingIOError:
                    pass
                except OSError:
                    dead = True
                if not dead and now >= due:
                    line = b"GET /livez HTTP/1.1\r\n" if n == 0 else b"X-Slow-%d: x\r\n" % n
                    try:
                        s.send(line)
                        ent[1], ent[2] = now + DRIBBLE_S, n + 1
                    except BlockingIOError:
                        ent[1] = now + 0.2  # still connecting
                    except OSError as e:
                        if e.errno in (errno.ENOTCONN, errno.EAGAIN):
                            ent[1] = now + 0.2
                        else:
                            dead = True
                if dead:
                    # opened again at its next turn, not at once: a patient attacker, and no
                    # flood of TIME_WAIT sockets to slow the tests running beside this one
                    s.close()
                    self.cut += 1
                    self.socks[i] = None
                    self.reopen.append((now + DRIBBLE_S, i))
            while self.reopen and self.reopen[0][0] <= now:
                _, i = self.reopen.pop(0)
                self.socks[i] = self._open(i)
            self.stop_ev.wait(0.1)
        for ent in self.socks:
            if ent:
                ent[0].close()


def _probe(port):
    """Seconds /livez took to answer 200 from 127.0.0.1, or None."""
    try:
        st, _, secs = http_get("http://127.0.0.1:%d/livez" % port, timeout=PROBE_TIMEOUT_S)
        return secs if st == 200 else None
    except OSError:
        return None


def _attack(srcs, held_at_least):
    if not raise_fd_limit(2 * ATTACK + 256):
        print("SKIP: the fd hard limit (%d) is below %d" %
              (resource.getrlimit(resource.RLIMIT_NOFILE)[1], 2 * ATTACK + 256))
        sys.exit(SKIP)
    port = free_port()
    with Roster(CFG % port) as r:
        wait_for(lambda: _probe(port) is not None, 10, "livez before the attack")
        a = Attacker(port, srcs)
        a.start()
        try:
            # The sentinel: the attack is in force, the server holding connections of ours.
            wait_for(lambda: _held_from(port, srcs) >= held_at_least, 20,
                     "the server to hold %d of the attacker's connections" % held_at_least)
            t0 = time.monotonic()
            answered, worst, most = 0, 0.0, 0
            for i in range(PROBES):
                secs = _probe(port)
                if secs is not None:
                    answered += 1
                    worst = max(worst, secs)
                most = max(most, _held_from(port, srcs))
                # the next probe PROBE_EVERY_S after this one began, whatever this one took
                left = t0 + (i + 1) * PROBE_EVERY_S - time.monotonic()
                if left > 0:
                    a.stop_ev.wait(left)
            attacked = time.monotonic() - t0
            check(a.is_alive(), "the attacker ran throughout")
        finally:
            a.stop_ev.set()
            a.join(30)
        print("  attack from %s: %d connections opened, %d cut by the server; /livez answered "
              "%d of %d probes in %.0f s (slowest %.0f ms); the server held at most %d of the "
              "attacker's connections at a probe" % (",".join(srcs), a.opened, a.cut, answered,
                                                    PROBES,
                                                    attacked, worst * 1000, most))
        check(attacked >= 18, "the attack ran through the probes (%.0f s)" % attacked)
        if answered != PROBES:
            raise Failure("/livez answered %d of %d probes within %.0f s each while %s attacked"
                          % (answered, PROBES, PROBE_TIMEOUT_S, ",".join(srcs)))
        # the server cut the attacker's unfinished requests (the header deadline, the limits)
        check(a.cut > 0, "the server closed some of the attacker's connections")
        if srcs == ["127.0.0.2"]:
            # the per-client limit, with slack for connections accepted or cut while counted
            check(most <= 2 * PER_CLIENT, "the attacker held at most about %d connections (%d)"
                  % (PER_CLIENT, most))
        check(r.proc.poll() is None, "roster still runs")
        check(_probe(port) is not None, "livez after the attack")
        r.stop()


def test_header_deadline():
    """One connection sending a header line every second (never idle for the 10 s timeout) is
    closed once its headers have taken 5 s; a request completed in time keeps its connection
    for the next one (keep-alive), and that wait is held to the deadline in turn."""
    port = free_port()
    with Roster(CFG % port) as r:
        wait_for(lambda: _probe(port) is not None, 10, "livez before the test")
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        t0 = time.monotonic()
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        closed_after, n = None, 0
        s.settimeout(1.0)
        while time.monotonic() - t0 < 15:
            try:
                if s.recv(4096) == b"":
                    closed_after = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
            except OSError:
                closed_after = time.monotonic() - t0
                break
            n += 1
            try:
                s.sendall(b"X-Slow-%d: x\r\n" % n)
            except OSError:
                closed_after = time.monotonic() - t0
                break
        s.close()
        print("  a request dribbling its headers was closed after %s" %
              ("%.1f s" % closed_after if closed_after is not None else "never (15 s)"))
        check(closed_after is not None and 4.5 <= closed_after <= 9,
              "closed between 5 s and the 10 s idle timeout (%s)" % closed_after)
        # keep-alive: a quick request is answered and the connection stays for a second one
        k = socket.create_connection(("127.0.0.1", port), timeout=10)
        k.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        check(b" 200 " in k.recv(4096), "a complete request is answered")
        t1 = time.monotonic()
        k.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        check(b" 200 " in k.recv(4096), "the kept-alive connection serves a second request")
        k.settimeout(15)
        try:
            data = k.recv(4096)
        except OSError:
            data = b""
        idle = time.monotonic() - t1
        k.close()
        check(data == b"" and 4.5 <= idle <= 9,
              "an idle kept-alive connection closed after the deadline (%.1f s)" % idle)
        r.stop()


def test_slowloris_from_another_address():
    """The attacker binds 127.0.0.2: the per-client limit keeps it to a share of the server."""
    _attack(["127.0.0.2"], PER_CLIENT)


def test_slowloris_from_the_probes_address():
    """The attacker shares the probe's address (a proxy, NAT): the header deadline and the
    oldest unfinished connection giving way to a new one let the probe through all the same."""
    _attack(["127.0.0.1"], PER_CLIENT)


def test_slowloris_from_many_addresses():
    """Eight addresses, 64 connections each, all within the per-client limit: the header
    deadline and the room kept for newcomers (the oldest unfinished connection gives way when
    the server is near its 512) let the probe through."""
    _attack(["127.0.0.%d" % (10 + i) for i in range(8)], 400)


if __name__ == "__main__":
    run(globals())
