"""Nothing blocks the loop (issue 8, item 7): while roster's Postgres host name takes seconds to
resolve, /livez keeps answering at once.

roster runs in a mount namespace of its own whose /etc/resolv.conf points at a DNS server this
test runs on 127.0.0.1:53 and that never answers (timeout 4 s). The Postgres URL is a host list
whose first name must be resolved: a resolver call made on the loop (libpq's own getaddrinfo, as
before the fix) stalls every request for those seconds. The test polls /livez every 50 ms for 6 s
from the moment the DNS server has seen the query, so the lookup is in flight while it measures.
Needs root (port 53, a bind mount): otherwise it says SKIP."""
import os
import socket
import subprocess
import threading
import time

from harness import Roster, check, free_port, http_get, run, tmpdir, wait_for

RESOLV = "nameserver 127.0.0.1\noptions timeout:4 attempts:1\n"
NAME = "stall.test"

CFG = """
app: stall
health: {listen: "127.0.0.1:%(health)d"}
postgres: {url: "postgresql://u@%(name)s:5432,127.0.0.1:%(dead)d/db"}
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
"""


class SilentDNS:
    """A UDP server on 127.0.0.1:53 that notes the names asked for and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))  # raises when not permitted or taken
        self.sock.settimeout(0.2)
        self.queries = []  # (monotonic time, name)
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _qname(pkt):
        labels, i = [], 12
        while i < len(pkt) and pkt[i]:
            n = pkt[i]
            labels.append(pkt[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        return ".".join(labels)

    def _serve(self):
        while not self.done:
            try:
                pkt, _ = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.queries.append((time.monotonic(), self._qname(pkt)))

    def asked(self, name, since=0.0):
        with self.lock:
            return [t for t, q in self.queries if q == name and t >= since]

    def close(self):
        self.done = True
        self.thread.join(timeout=2)
        self.sock.close()


def _mount_ns_prefix(resolv_path):
    """The command prefix that runs roster with resolv_path as /etc/resolv.conf, or None."""
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    prefix = ["unshare", "--mount", "--", "sh", "-c", script, resolv_path]
    try:
        p = subprocess.run(prefix + ["cat", "/etc/resolv.conf"], capture_output=True, text=True,
                           timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if p.returncode == 0 and p.stdout == RESOLV else None


def test_livez_answers_while_a_host_name_resolves():
    d = tmpdir()
    resolv = os.path.join(d, "resolv.conf")
    with open(resolv, "w") as f:
        f.write(RESOLV)
    prefix = _mount_ns_prefix(resolv)
    if prefix is None:
        print("SKIP test_livez_answers_while_a_host_name_resolves: unshare --mount with a bind "
              "mount of /etc/resolv.conf is not permitted here")
        return
    try:
        dns = SilentDNS()
    except OSError as e:
        print("SKIP test_livez_answers_while_a_host_name_resolves: cannot bind 127.0.0.1:53 (%s)"
              % e)
        return
    try:
        health = free_port()
        cfg = CFG % {"health": health, "name": NAME, "dead": free_port()}
        livez = "http://127.0.0.1:%d/livez" % health
        with Roster(cfg, prefix_cmd=prefix) as r:
            def answers():
                try:
                    return http_get(livez, timeout=1)[0] == 200
                except OSError:
                    return False
            wait_for(answers, 15, "/livez to answer")
            # A lookup that starts from now on: the stall, if any, lies within the window.
            since = time.monotonic()
            wait_for(lambda: dns.asked(NAME, since), 20, "roster to ask for %s" % NAME)
            lat, errors = [], []
            end = time.monotonic() + 6
            while time.monotonic() < end:
                t0 = time.monotonic()
                try:
                    st, _, took = http_get(livez, timeout=10)
                    check(st == 200, "/livez %s" % st)
                    lat.append(took)
                except OSError as e:
                    errors.append(repr(e))
                    lat.append(time.monotonic() - t0)
                time.sleep(max(0.0, 0.05 - (time.monotonic() - t0)))
            lat.sort()
            p50 = lat[len(lat) // 2]
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print("  /livez while %s resolves: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms;"
                  " %d lookups of %s seen" % (NAME, len(lat), p50 * 1000, p99 * 1000,
                                               lat[-1] * 1000, len(dns.asked(NAME)), NAME))
            check(not errors, "/livez failed: %s" % errors[:3])
            # the sentinel: the lookup was in flight while /livez was measured
            check(dns.asked(NAME, since), "no lookup of %s was seen" % NAME)
            check(p99 < 0.25, "/livez p99 %.0f ms while a host name resolves" % (p99 * 1000))
            check(lat[-1] < 1.0, "/livez max %.0f ms while a host name resolves" % (lat[-1] * 1000))
            check(len(lat) >= 40, "only %d requests in 6 s" % len(lat))
            check(r.proc.poll() is None, "roster still runs")
            check(r.stop() == 0, "exit 0")
    finally:
        dns.close()


if __name__ == "__main__":
    run(globals())
