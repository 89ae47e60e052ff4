"""The optional libraries (libpq, libcurl, libmicrohttpd): a config that needs one that is broken
fails `roster run` and `roster check` at once, naming the library and the package, and a reload
that would need it is refused; nothing aborts mid-run.

A broken library is a stub built here with the real soname, found first through
LD_LIBRARY_PATH: one that lacks functions roster calls (an old or foreign build), and one that
cannot be loaded at all (a dependency of its own is missing)."""
import os
import shutil
import signal
import subprocess
import time

from harness import Roster, check, free_port, run, run_roster, tmpdir

CC = shutil.which("cc") or shutil.which("gcc")


def stub(soname, defines, needs=None):
    """A directory holding a shared object named soname that defines only the functions listed
    (each returning 0). needs: another soname it depends on, which is nowhere to be found."""
    d = tmpdir()
    src = os.path.join(d, "stub.c")
    with open(src, "w") as f:
        for name in defines:
            f.write("int %s(void) { return 0; }\n" % name)
    cmd = [CC, "-shared", "-fPIC", "-o", os.path.join(d, soname), "-Wl,-soname," + soname, src]
    if needs:
        # link against a library of that name, then take it away
        gone = tmpdir()
        with open(os.path.join(gone, "gone.c"), "w") as f:
            f.write("int roster_gone(void) { return 0; }\n")
        subprocess.run([CC, "-shared", "-fPIC", "-o", os.path.join(gone, needs),
                        "-Wl,-soname," + needs, os.path.join(gone, "gone.c")], check=True)
        cmd += ["-Wl,--no-as-needed", os.path.join(gone, needs)]
        subprocess.run(cmd, check=True)
        os.remove(os.path.join(gone, needs))
    else:
        subprocess.run(cmd, check=True)
    return d


def write_cfg(text):
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(text.replace("@DIR@", d))
    return d, path


def fails_at_start(cfg_text, libdir, want):
    """roster check and roster run both exit 2 within seconds, saying every string of want; with
    the real library (no stub) the same config passes `roster check` (the sentinel)."""
    d, path = write_cfg(cfg_text)
    env = {"TMPDIR": d}
    code, out, err = run_roster(["check", "-c", path], env=env)
    check(code == 0, "sentinel: the config is good with the real library: %s %s" % (code, err))
    env["LD_LIBRARY_PATH"] = libdir
    code, out, err = run_roster(["check", "-c", path], env=env)
    check(code == 2, "roster check exits 2 (got %s)\n%s%s" % (code, out, err))
    for w in want:
        check(w in err, "roster check says %r:\n%s" % (w, err))
    t0 = time.monotonic()
    try:
        code, out, err = run_roster(["-c", path, "--log-format", "json"], env=env, timeout=15)
    except subprocess.TimeoutExpired:
        raise AssertionError("roster run kept running with a broken library")
    took = time.monotonic() - t0
    check(code == 2, "roster run exits 2 (got %s)\n%s%s" % (code, out, err))
    for w in want:
        check(w in err, "roster run says %r:\n%s" % (w, err))
    check('"started"' not in out, "no role was started:\n%s" % out)
    print("  %s: exit 2 after %.2fs: %s" % (os.path.basename(libdir), took, err.strip()))


def need_cc():
    if not CC:
        print("SKIP: no C compiler to build the stub libraries")
        return False
    return True


# (what the stub is: soname, the functions it defines, a dependency of its own that is missing;
#  a config that needs it; what roster must say)
BROKEN = [
    ("libcurl.so.4", ["curl_global_init", "curl_easy_init"], None,
     'roles:\n  web:\n    command: [sleep, "1000"]\n    ready: {http: "http://127.0.0.1:9/"}\n',
     ["libcurl.so.4 lacks ", "upgrade the Debian package libcurl4"]),
    ("libmicrohttpd.so.12", ["MHD_run"], None,
     'health: {listen: "127.0.0.1:@PORT@"}\nroles:\n  web:\n    command: [sleep, "1000"]\n',
     ["libmicrohttpd.so.12 lacks ", "libmicrohttpd12"]),
    ("libpq.so.5", ["PQlibVersion"], None,
     'postgres: {url: "postgres://roster@127.0.0.1:9/app"}\n'
     'roles:\n  web:\n    command: [sleep, "1000"]\n',
     ["libpq.so.5 lacks ", "libpq5"]),
    ("libcurl.so.4", ["curl_global_init"], "libroster-gone.so.1",
     'roles:\n  web:\n    command: [sleep, "1000"]\n    live: {http: "http://127.0.0.1:9/"}\n',
     ["cannot load libcurl.so.4: libroster-gone.so.1", "install Debian package libcurl4"]),
]


def test_broken_library_fails_at_start():
    # Before, `roster check` passed all of these; `roster run` aborted when the health server
    # started or the first probe ran, or (a library that cannot be loaded) probed forever.
    if not need_cc():
        return
    for soname, defines, needs, cfg, want in BROKEN:
        libdir = stub(soname, defines, needs=needs)
        fails_at_start(cfg.replace("@PORT@", str(free_port())), libdir, want)


def test_reload_needing_a_broken_library_is_refused():
    # A running roster whose new config adds an http probe: the reload is refused with the
    # library's name, and the running roles carry on (before, the probe's first call aborted).
    if not need_cc():
        return
    libdir = stub("libcurl.so.4", ["curl_global_init", "curl_easy_init"])
    cfg = """
roles:
  web:
    command: [sleep, "1000"]
"""
    with Roster(cfg, env={"LD_LIBRARY_PATH": libdir}) as r:
        r.wait_event("started", "web")
        pid = r.pids("web")[0]
        with open(r.config_path, "w") as f:
            f.write(cfg + '    ready: {http: "http://127.0.0.1:9/"}\n')
        r.send(signal.SIGHUP)
        ev = r.wait_event("reload_failed", where=lambda e: "libcurl.so.4 lacks" in e["msg"])
        check("libcurl4" in ev[0]["msg"], ev[0])
        # still serving: the old config reloads fine, and the role was never restarted
        with open(r.config_path, "w") as f:
            f.write(cfg)
        r.send(signal.SIGHUP)
        r.wait_event("reloaded")
        check(r.pids("web") == [pid], "the role was not restarted: %s" % r.pids("web"))
        check(r.stop() == 0, "clean exit")


if __name__ == "__main__":
    run(globals())
