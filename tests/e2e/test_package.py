"""test_package.py — the portable package (scripts/package.sh) where users put it: unpacked in
fresh Debian 11, 12 and 13 roots made with debootstrap (no -dev packages, no compiler), it says
its version, runs a Procfile, answers /health, reads the Postgres budget from a server on
loopback through the libpq it ships, and speaks rediss:// to a TLS Redis; and the npm packages
installed into a Node project in a Debian 12 root with Debian's node and npm (no registry), run by
`npx roster "npm:dev:*"`, an npm script and an App Platform style `roster --role worker`.

Needs root (debootstrap, chroot, mount). SKIPs unless dist/ holds the package or
ROSTER_PACKAGE_TEST=1 (then a missing package fails); scripts/test-package.sh builds it and runs
this. The roots are cached in ROSTER_PACKAGE_CACHE (default /var/cache/roster-package): the first
run makes them (minutes); each case runs in a fresh overlay on top of one. The chroots share the
host's network, so servers started here on 127.0.0.1 are theirs too, and the host's /tmp is
bind-mounted at /tmp so the harness's temporary directories are the same paths inside."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

import harness
from harness import Roster, check, free_port, http_get, run, wait_for
from services import Postgres, _port_open

CACHE = os.environ.get("ROSTER_PACKAGE_CACHE", "/var/cache/roster-package")
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
# The chroot run with the PATH of the root it enters, which may not hold sbin.
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
SUITES = [("bullseye", "2.31"), ("bookworm", "2.36"), ("trixie", "2.41")]


def version():
    with open(os.path.join(harness.SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(roster VERSION ([0-9.]+)", f.read()).group(1)


DIST = os.path.join(harness.SRC, "dist")
TARBALL = os.path.join(DIST, "roster-%s-linux-x64.tar.gz" % version())
NPM_TGZ = [os.path.join(DIST, "roster-runner-%s.tgz" % version()),
           os.path.join(DIST, "roster-runner-linux-x64-%s.tgz" % version())]


def skip(why):
    print("SKIP test_package: %s" % why)
    sys.exit(0)


def sh(cmd, timeout=120, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode != 0:
        raise harness.Failure("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout,
                                                      p.stderr))
    return p.stdout


def base_root(name, suite, install=None):
    """The cached pristine root NAME: debootstrap minbase of SUITE, made once; with INSTALL, a
    copy of that with those Debian packages installed by apt-get (debootstrap's own --include
    does not resolve npm's dependencies)."""
    path = os.path.join(CACHE, name)
    if os.path.isdir(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    tmp = path + ".tmp"
    sh(["rm", "-rf", "--one-file-system", tmp])
    if install:
        sh(["cp", "-a", base_root(suite, suite), tmp])
        mounts = []
        try:
            for args, sub in ((["-t", "proc", "proc"], "proc"), (["--bind", "/dev"], "dev")):
                sh(["mount"] + args + [os.path.join(tmp, sub)])
                mounts.append(os.path.join(tmp, sub))
            shutil.copy("/etc/resolv.conf", os.path.join(tmp, "etc/resolv.conf"))
            print("making %s: apt-get install %s" % (path, " ".join(install)), flush=True)
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"}
            sh(["chroot", tmp, "apt-get", "update", "-qq"], timeout=600, env=env)
            sh(["chroot", tmp, "apt-get", "install", "-y", "-qq", "--no-install-recommends"] +
               install, timeout=1500, env=env)
            sh(["chroot", tmp, "apt-get", "clean"], env=env)
        finally:
            for m in reversed(mounts):
                subprocess.run(["umount", "-l", m], check=False)
    else:
        print("making %s: debootstrap %s" % (path, suite), flush=True)
        sh(["debootstrap", "--variant=minbase", suite, tmp, MIRROR], timeout=1500)
    os.rename(tmp, path)
    return path


class Chroot:
    """A fresh root: an overlay on a cached one, with /proc, /dev and the host's /tmp mounted.
    Removed on exit only once nothing is mounted under it, so /dev and /tmp are never deleted."""

    def __init__(self, base):
        self.top = tempfile.mkdtemp(prefix="roster-pkgroot-", dir="/var/tmp")
        self.root = os.path.join(self.top, "root")
        self.mounts = []
        for d in ("upper", "work", "root"):
            os.mkdir(os.path.join(self.top, d))
        self._mount(["-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" %
                     (base, os.path.join(self.top, "upper"), os.path.join(self.top, "work"))],
                    self.root)
        self._mount(["-t", "proc", "proc"], os.path.join(self.root, "proc"))
        self._mount(["--bind", "/dev"], os.path.join(self.root, "dev"))
        self._mount(["--bind", "/tmp"], os.path.join(self.root, "tmp"))

    def _mount(self, args, target):
        os.makedirs(target, exist_ok=True)
        sh(["mount"] + args + [target])
        self.mounts.append(target)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def prefix(self, cwd="/"):
        """The command prefix that runs a program in this root, in directory CWD, with the
        caller's environment."""
        return [CHROOT, self.root, "/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd]

    def run(self, args, cwd="/", env=None, timeout=60):
        """Runs ARGS in this root to the end; past TIMEOUT its whole process group is killed
        (npm, roster and what they started) and the test fails."""
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen(self.prefix(cwd) + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=e, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            raise harness.Failure("%s timed out after %ss:\n%s%s" % (" ".join(args), timeout,
                                                                    out, err))
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)

    def close(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], check=False)
        with open("/proc/self/mounts") as f:
            left = [ln for ln in f if (" " + self.top + "/") in ln]
        if left:
            print("left mounted, not removed: %s" % left, flush=True)
            return
        subprocess.run(["rm", "-rf", "--one-file-system", self.top], check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def unpack(dest):
    """The package unpacked into DEST (a host /tmp directory, the same path in the roots);
    returns the path of its roster binary."""
    sh(["tar", "-xzf", TARBALL, "-C", dest])
    return os.path.join(dest, "roster-linux-x64", "bin", "roster")


def start(chroot, binary, config=None, args=(), env=None, files=None):
    """A harness.Roster running BINARY inside CHROOT, in a new directory holding FILES."""
    harness.ROSTER = binary
    d = harness.tmpdir()
    for name, text in (files or {}).items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return Roster(config, args=args, env=env, cwd=d, prefix_cmd=chroot.prefix(d))


def tls_redis():
    """A redis-server on the host speaking only TLS on a free loopback port, with a CA made by
    openssl here; returns (process, port, CA certificate path, directory)."""
    d = harness.tmpdir()
    def ossl(*a):
        sh(["openssl"] + list(a), cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=roster test CA",
         "-keyout", "ca.key", "-out", "ca.crt")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "srv.key",
         "-out", "srv.csr")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
         "-days", "2", "-extfile", "san.ext", "-out", "srv.crt")
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", "0", "--tls-port", str(port), "--bind",
                          "127.0.0.1", "--tls-cert-file", "srv.crt", "--tls-key-file", "srv.key",
                          "--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no", "--save",
                          "", "--appendonly", "no", "--dir", d], cwd=d,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    wait_for(lambda: _port_open(port), 10, "TLS redis to listen")
    return p, port, os.path.join(d, "ca.crt"), d


def trust(chroot, ca):
    """CA trusted by OpenSSL in CHROOT: /etc/ssl/certs/<subject hash>.0, where roster's rediss://
    looks (the hash is the same in OpenSSL 1.1 and 3)."""
    h = sh(["openssl", "x509", "-hash", "-noout", "-in", ca]).strip()
    os.makedirs(chroot.path("/etc/ssl/certs"), exist_ok=True)
    shutil.copy(ca, chroot.path("/etc/ssl/certs/%s.0" % h))


def check_root(suite, glibc, pg, redis):
    with Chroot(base_root(suite, suite)) as c:
        # no compiler and no -dev package: what a user's runtime image has
        check(not os.path.exists(c.path("/usr/bin/gcc")) and
              not glob.glob(c.path("/usr/include/libpq-fe.h")), "%s root is bare" % suite)
        d = harness.tmpdir()
        binary = unpack(d)
        libdir = os.path.join(d, "roster-linux-x64", "lib")

        p = c.run([binary, "version"])
        check(p.returncode == 0 and version() in p.stdout, "%s: roster version: %r %r" %
              (suite, p.stdout, p.stderr))
        out = c.run(["/usr/bin/ldd", binary]).stdout
        check("not found" not in out, "%s: ldd: %s" % (suite, out))
        # every library that is not glibc's own is the package's, the lazily loaded ones too
        for so in ["libpq.so.5", "libcurl.so.4", "libmicrohttpd.so.12", "libhiredis.so.1.1.0"]:
            check(os.path.exists(os.path.join(libdir, so)), "%s shipped" % so)
        for ln in out.splitlines():
            m = re.match(r"\s*(\S+) => (\S+)", ln)
            if m and not re.match(r"(libc|libm|libpthread|libdl|librt|libresolv)\.so", m.group(1)):
                check(os.path.normpath(m.group(2)).startswith(libdir + "/"), "%s: %s" % (suite, ln))
        print("%s (glibc %s): version and ldd ok" % (suite, glibc), flush=True)

        # a Procfile run: roster finds ./Procfile, runs both, stops on SIGTERM with exit 0
        procfile = "web: echo web-up-$PORT; exec sleep 60\nworker: echo worker-up; exec sleep 60\n"
        with start(c, binary, files={"Procfile": procfile}) as r:
            r.wait_line(r"web-up-\d+", timeout=30)
            r.wait_line(r"worker-up", timeout=30)
            r.send(signal.SIGTERM)
            check(r.wait_exit(30) == 0, "%s: Procfile run exits 0 on SIGTERM: %s" %
                  (suite, r.tail()))

        # /health (libmicrohttpd) and the Postgres budget (libpq) from lib/
        hport = free_port()
        cfg = """
health: {listen: "127.0.0.1:%d"}
postgres: {url: "%s?connect_timeout=5", budget: auto, headroom: 0}
roles:
  app: {command: [sleep, "60"]}
""" % (hport, pg.url)
        with start(c, binary, cfg) as r:
            ev = r.wait_event("budget", timeout=60)[0]
            check(ev["max_connections"] == 25 and ev["usable"] == 22, "%s: budget %s" % (suite, ev))
            r.wait_event("postgres_up", timeout=30)
            st = wait_for(lambda: http_get("http://127.0.0.1:%d/health" % hport)[0] == 200 and 200,
                          30, "/health 200")
            check(st == 200, "health")
            r.stop()

        # rediss:// through the hiredis 1.2 and OpenSSL the package ships
        proc, port, ca, _ = redis
        trust(c, ca)
        hport = free_port()
        cfg = """
health: {listen: "127.0.0.1:%d"}
redis: {url: "rediss://127.0.0.1:%d"}
roles:
  app: {command: [sleep, "60"]}
""" % (hport, port)
        with start(c, binary, cfg) as r:
            r.wait_event("redis_up", timeout=30)
            st, body, _ = http_get("http://127.0.0.1:%d/health" % hport)
            check(json.loads(body)["checks"]["redis:responseTime"][0]["status"] == "pass", body)
            r.stop()
        print("%s: Procfile, /health, Postgres budget and rediss:// ok" % suite, flush=True)

        # the control client's check of who listens, made without CURLOPT_PREREQFUNCTION in the
        # package's curl 7.74: test_control's own test, its client run here
        import test_control

        def chroot_roster(args, timeout=20, **kw):
            p = c.run([binary] + list(args), timeout=timeout)
            return p.returncode, p.stdout, p.stderr
        test_control.run_roster = chroot_roster
        test_control.test_client_refuses_a_listener_of_another_user()
        print("%s: the control client refuses another user's listener" % suite, flush=True)


def test_debian_11_12_13():
    pg = Postgres(max_connections=25)
    redis = tls_redis()
    try:
        for suite, glibc in SUITES:
            check_root(suite, glibc, pg, redis)
    finally:
        redis[0].terminate()
        redis[0].wait(timeout=10)
        pg.cleanup()


PACKAGE_JSON = {
    "name": "shop",
    "version": "1.0.0",
    "private": True,
    "scripts": {
        "dev:api": "node -e \"console.log('api-ran'); setTimeout(() => {}, 300)\"",
        "dev:web": "node -e \"console.log('web-ran')\"",
    },
}


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)


def test_npm_package():
    for t in NPM_TGZ:
        check(os.path.exists(t), "%s (scripts/package.sh --npm)" % t)
    with Chroot(base_root(*NODE_ROOT)) as c:
        proj = harness.tmpdir()
        os.chmod(proj, 0o755)
        write_json(os.path.join(proj, "package.json"), PACKAGE_JSON)
        for t in NPM_TGZ:
            shutil.copy(t, proj)
        env = {"HOME": proj, "npm_config_cache": os.path.join(proj, ".npm"),
               "npm_config_offline": "true", "npm_config_update_notifier": "false",
               "PATH": "/usr/local/bin:/usr/bin:/bin"}
        tgz = ["./" + os.path.basename(t) for t in NPM_TGZ]
        p = c.run(["npm", "i", "-D", "--offline", "--no-audit", "--no-fund"] + tgz, cwd=proj,
                  env=env, timeout=300)
        check(p.returncode == 0, "npm i: %s %s" % (p.stdout, p.stderr))
        bin_link = os.path.join(proj, "node_modules", ".bin", "roster")
        check(os.path.islink(bin_link), "node_modules/.bin/roster")
        native = os.path.join(proj, "node_modules", "roster-runner-linux-x64", "bin", "roster")
        check(os.access(native, os.X_OK), "the binary is executable after npm i")

        p = c.run(["npx", "roster", "npm:dev:*"], cwd=proj, env=env, timeout=120)
        check(p.returncode == 0, "npx roster: %d %s %s" % (p.returncode, p.stdout, p.stderr))
        check(re.search(r"^\[api\] api-ran$", p.stdout, re.M) and
              re.search(r"^\[web\] web-ran$", p.stdout, re.M), "npm:dev:* ran both: " + p.stdout)

        # a dev:all script would match npm:dev:* itself (and run roster in roster...), as with
        # concurrently: it excludes itself
        with open(os.path.join(proj, "package.json")) as f:
            doc = json.load(f)
        doc["scripts"]["dev:all"] = "roster \"npm:dev:*(!all)\""
        write_json(os.path.join(proj, "package.json"), doc)
        p = c.run(["npm", "run", "dev:all"], cwd=proj, env=env, timeout=120)
        check(p.returncode == 0 and "[api] api-ran" in p.stdout and "[web] web-ran" in p.stdout,
              "npm run dev:all: %d %s %s" % (p.returncode, p.stdout, p.stderr))

        # App Platform's run_command: a shell with the app's node_modules/.bin on PATH
        with open(os.path.join(proj, "Procfile"), "w") as f:
            f.write("web: echo web-up; exec sleep 60\nworker: echo worker-up; exec sleep 60\n")
        env2 = dict(env, PATH=os.path.join(proj, "node_modules", ".bin") + ":" + env["PATH"])
        harness.ROSTER = "roster"
        with Roster(None, args=["--role", "worker"], env=env2, cwd=proj,
                    prefix_cmd=c.prefix(proj)) as r:
            r.wait_line("worker-up", timeout=30)
            # the launcher exec'd the binary: roster has the PID the platform started
            wait_for(lambda: os.readlink("/proc/%d/exe" % r.pid).endswith(
                "roster-runner-linux-x64/bin/roster"), 10, "roster is the process started")
            check(not any("web-up" in ln for ln in r.output()), "only the worker role runs")
            r.send(signal.SIGTERM)
            check(r.wait_exit(30) == 0, "SIGTERM ends roster --role worker with 0: " + r.tail())

        # the same with a roster.yaml and rediss://: this root, like the node images, has
        # OpenSSL 3 and its openssl.cnf beside the OpenSSL 1.1 the package ships
        check(os.path.exists(c.path("/usr/lib/ssl/openssl.cnf")), "the root has openssl.cnf")
        proc, port, ca, _ = tls_redis()
        try:
            trust(c, ca)
            with open(os.path.join(proj, "roster.yaml"), "w") as f:
                f.write('redis: {url: "rediss://127.0.0.1:%d"}\nroles:\n'
                        '  web: {command: "echo web-up; exec sleep 60"}\n'
                        '  worker: {command: "echo worker-up; exec sleep 60"}\n' % port)
            with Roster(None, args=["--role", "worker"], env=env2, cwd=proj,
                        prefix_cmd=c.prefix(proj)) as r:
                r.wait_line("worker-up", timeout=30)
                r.wait_event("redis_up", timeout=30)
                check(not any("web-up" in ln for ln in r.output()), "only the worker role runs")
                check(r.stop() == 0, "SIGTERM: exit 0\n" + r.tail())
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        print("npm: install, npx roster npm:dev:*, npm run dev:all, --role worker ok", flush=True)


def test_launcher_elsewhere():
    """node_modules/.bin/roster on another platform, or without the platform package: exit 1 at
    once with a message saying why (a fake uname plays macOS); with it, the binary runs."""
    d = harness.tmpdir()
    nm = os.path.join(d, "node_modules")
    os.makedirs(os.path.join(nm, ".bin"))
    for t, name in zip(NPM_TGZ, ["roster-runner", "roster-runner-linux-x64"]):
        sh(["tar", "-xzf", t, "-C", nm])
        os.rename(os.path.join(nm, "package"), os.path.join(nm, name))
    launcher = os.path.join(nm, ".bin", "roster")
    os.symlink("../roster-runner/bin/roster", launcher)
    p = subprocess.run([launcher, "version"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and version() in p.stdout, "launcher runs the binary: %r" % (p,))
    fake = os.path.join(d, "fakebin")
    os.mkdir(fake)
    with open(os.path.join(fake, "uname"), "w") as f:
        f.write('#!/bin/sh\ncase "$1" in -s) echo Darwin ;; -m) echo arm64 ;; esac\n')
    os.chmod(os.path.join(fake, "uname"), 0o755)
    env = dict(os.environ, PATH=fake + ":" + os.environ["PATH"])
    p = subprocess.run([launcher, "version"], capture_output=True, text=True, timeout=30, env=env)
    check(p.returncode == 1 and "Linux x64 (glibc) only, not Darwin arm64" in p.stderr and
          not p.stdout, "on macOS: %r" % (p,))
    os.rename(os.path.join(nm, "roster-runner-linux-x64"), os.path.join(d, "elsewhere"))
    p = subprocess.run([launcher, "version"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and "roster-runner-linux-x64" in p.stderr and "not installed" in
          p.stderr, "without the platform package: %r" % (p,))


NODE_ROOT = ("bookworm-node", "bookworm", ["nodejs", "npm"])


def make_roots():
    """Every root the tests use, made side by side (each is mostly waiting on the mirror), so
    scripts/test-package.sh can make them while scripts/package.sh builds."""
    jobs = [lambda s=s: base_root(s, s) for s, _ in SUITES if s != "bookworm"]
    jobs.append(lambda: base_root(*NODE_ROOT))  # makes bookworm first
    errors = []

    def call(job):
        try:
            job()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=call, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        print("make-roots: %s" % e, flush=True)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    if os.geteuid() != 0:
        skip("needs root (debootstrap, chroot, mount)")
    if sys.argv[1:] == ["--make-roots"]:
        make_roots()
    if not os.path.exists(TARBALL):
        if os.environ.get("ROSTER_PACKAGE_TEST") == "1":
            print("FAIL: %s is missing (scripts/package.sh --npm)" % TARBALL)
            sys.exit(1)
        skip("%s not built (scripts/package.sh --npm, or scripts/test-package.sh)" % TARBALL)
    for tool in ("debootstrap", "chroot", "openssl", "redis-server"):
        if not shutil.which(tool):
            skip("%s is not installed" % tool)
    run(globals())
