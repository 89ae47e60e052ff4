"""services.py — real PostgreSQL and Redis servers for the end-to-end tests.

Each server runs on a free loopback port in a temporary directory and is stopped at exit.
initdb refuses to run as root, so as root the cluster belongs to an unprivileged user
(nobody) and the server runs as that user.
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import Failure, free_port, wait_for

_servers = []


def _pg_bin(name):
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name), reverse=True)
    if cands:
        return cands[0]
    p = shutil.which(name)
    if p:
        return p
    raise Failure("PostgreSQL's %s is not installed (Debian package postgresql)" % name)


def _demote():
    """preexec_fn: become nobody when running as root."""
    if os.geteuid() == 0:
        nb = pwd.getpwnam("nobody")
        os.setgroups([])
        os.setgid(nb.pw_gid)
        os.setuid(nb.pw_uid)


def _port_open(port):
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Postgres:
    def __init__(self, max_connections=25, superuser_reserved=3):
        self.dir = tempfile.mkdtemp(prefix="roster-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.max_connections = max_connections
        self.superuser_reserved = superuser_reserved
        if os.geteuid() == 0:
            nb = pwd.getpwnam("nobody")
            os.chown(self.dir, nb.pw_uid, nb.pw_gid)
        p = subprocess.run([_pg_bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                            "-E", "UTF8", "--no-sync", "--no-locale"],
                           capture_output=True, text=True, preexec_fn=_demote, cwd=self.dir)
        if p.returncode != 0:
            raise Failure("initdb failed: %s %s" % (p.stdout, p.stderr))
        self.proc = None
        self.start()
        _servers.append(self)

    @property
    def url(self):
        return "postgresql://postgres@127.0.0.1:%d/postgres" % self.port

    def start(self):
        log = open(os.path.join(self.dir, "postgres.log"), "ab")
        self.proc = subprocess.Popen(
            [_pg_bin("postgres"), "-D", self.data, "-p", str(self.port), "-k", self.dir,
             "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=%d" % self.max_connections,
             "-c", "superuser_reserved_connections=%d" % self.superuser_reserved,
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=log, stderr=log, preexec_fn=_demote, cwd=self.dir, start_new_session=True)
        log.close()
        wait_for(lambda: self.psql("SELECT 1", check=False)[0] == 0, 30, "postgres to accept")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def psql(self, sql, check=True, appname=None):
        env = dict(os.environ)
        if appname:
            env["PGAPPNAME"] = appname
        p = subprocess.run(["psql", self.url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, env=env, timeout=30)
        if check and p.returncode != 0:
            raise Failure("psql %r failed: %s" % (sql, p.stderr))
        return p.returncode, p.stdout.strip()

    def hold(self, appname, n, seconds=60):
        """Opens n sessions with application_name appname that stay connected."""
        procs = []
        for _ in range(n):
            env = dict(os.environ, PGAPPNAME=appname)
            procs.append(subprocess.Popen(["psql", self.url, "-XAtq", "-c",
                                           "SELECT pg_sleep(%d)" % seconds],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          env=env, start_new_session=True))
        wait_for(lambda: self.count(appname) >= n, 10, "%d sessions of %s" % (n, appname))
        return procs

    def release(self, appname, procs):
        """Ends the sessions hold() opened (the server side too: pg_sleep does not notice)."""
        self.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE application_name = '%s'" % appname)
        for p in procs:
            p.kill()
            p.wait()

    def count(self, appname):
        _, out = self.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'"
                           % appname)
        return int(out)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self, password=None):
        self.dir = tempfile.mkdtemp(prefix="roster-redis-")
        self.port = free_port()
        self.password = password
        self.proc = None
        self.start()
        _servers.append(self)

    @property
    def url(self):
        if self.password:
            return "redis://:%s@127.0.0.1:%d" % (self.password, self.port)
        return "redis://127.0.0.1:%d" % self.port

    def start(self):
        server = shutil.which("redis-server")
        if not server:
            raise Failure("redis-server is not installed (Debian package redis-server)")
        cmd = [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", self.dir]
        if self.password:
            cmd += ["--requirepass", self.password]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_for(lambda: _port_open(self.port), 10, "redis to listen")

    def cli(self, *args):
        cmd = ["redis-cli", "-p", str(self.port)]
        if self.password:
            cmd += ["-a", self.password, "--no-auth-warning"]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=10)
        return p.stdout.strip()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def cleanup_all():
    for s in _servers:
        try:
            s.cleanup()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


import atexit  # noqa: E402

atexit.register(cleanup_all)
