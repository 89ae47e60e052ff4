"""pyhelper.py — small network-facing children for the end-to-end tests.

  pyhelper.py http PORT [FILE]       serve 200 on every GET (FILE: write our pid there)
  pyhelper.py hang PORT              accept connections and never answer
  pyhelper.py backlog PORT           listen with a full backlog and never accept (SYNs go unanswered)
  pyhelper.py notify DELAY [STATUS]  after DELAY seconds send READY=1 (and STATUS=) to $NOTIFY_SOCKET
  pyhelper.py watchdog N INTERVAL    send WATCHDOG=1 N times every INTERVAL seconds, then go quiet
  pyhelper.py sdnotify-listen PATH   (test side) print every datagram received on PATH
"""
import http.server
import os
import socket
import sys
import time


def notify(msg):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg.encode(), addr)
    s.close()


class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    cmd = sys.argv[1]
    if cmd == "http":
        port = int(sys.argv[2])
        if len(sys.argv) > 3:
            with open(sys.argv[3], "w") as f:
                f.write(str(os.getpid()))
        srv = http.server.HTTPServer(("127.0.0.1", port), Quiet)
        print("serving on %d" % port, flush=True)
        srv.serve_forever()
    elif cmd == "hang":
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(sys.argv[2])))
        s.listen(64)
        print("hanging", flush=True)
        held = []
        while True:
            c, _ = s.accept()
            held.append(c)
    elif cmd == "backlog":
        port = int(sys.argv[2])
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(0)
        fillers = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(c)
        print("backlog full", flush=True)
        while True:
            time.sleep(3600)
    elif cmd == "notify":
        time.sleep(float(sys.argv[2]))
        msg = "READY=1"
        if len(sys.argv) > 3:
            msg += "\nSTATUS=" + sys.argv[3]
        notify(msg)
        print("notified", flush=True)
        while True:
            time.sleep(3600)
    elif cmd == "watchdog":
        n, interval = int(sys.argv[2]), float(sys.argv[3])
        print("watchdog usec %s" % os.environ.get("WATCHDOG_USEC"), flush=True)
        for _ in range(n):
            notify("WATCHDOG=1")
            time.sleep(interval)
        print("going quiet", flush=True)
        while True:
            time.sleep(3600)
    else:
        sys.exit("pyhelper: unknown command %s" % cmd)


if __name__ == "__main__":
    main()
