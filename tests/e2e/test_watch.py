"""watch: a change to a watched file restarts the role, once per debounce window; ignored paths
(node_modules, .git, watch_ignore) never do; directories made after the start are watched; a
role that gave up comes back on the next change; watch_restart: dependents restarts the roles
that depend on it. Every negative check is followed by a change that does restart (a sentinel),
so the test would have seen the restart it says did not happen."""
import os
import threading
import time

from harness import (Roster, check, free_port, http_get, run, run_roster, tmpdir, wait_for)


def write(path, text="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def app_dir():
    """A project directory apart from roster's own (its TMPDIR holds the control socket)."""
    d = tmpdir()
    os.makedirs(os.path.join(d, "src"))
    write(os.path.join(d, "src", "index.js"), "1")
    os.makedirs(os.path.join(d, "node_modules", "lib"))
    os.makedirs(os.path.join(d, ".git", "objects"))
    return d


def changes(r, role):
    return r.events("watch_changed", role)


def watched_api(app, keys):
    """roster running one role, api, in app with the watch keys given; started."""
    r = Roster("""
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
    cwd: %s
%s""" % (app, "".join("    %s\n" % k for k in keys)))
    try:
        r.wait_event("started", "api")
    except Exception:
        r.cleanup()
        raise
    return r


def test_several_writes_within_the_window_restart_once():
    app = app_dir()
    with watched_api(app, ["watch: src"]) as r:
        t0 = time.monotonic()
        for n in range(5):
            write(os.path.join(app, "src", "index.js"), str(n))
            write(os.path.join(app, "src", "other%d.js" % n), str(n))
        took = time.monotonic() - t0
        r.wait_event("started", "api", count=2)
        first = r.wait_event("watch_changed", "api")[0]
        check("index.js" in first["msg"], "the first change is named: %s" % first["msg"])
        # the sentinel: one more change, after the restart, makes exactly one more restart
        write(os.path.join(app, "src", "index.js"), "again")
        r.wait_event("watch_changed", "api", count=2)
        r.wait_event("started", "api", count=3)
        if took < 0.2:
            check(len(changes(r, "api")) == 2, "ten writes in %.0f ms made one restart: %s" % (
                took * 1000, [e["msg"] for e in changes(r, "api")]))
            check(len(r.pids("api")) == 3, "api started %d times" % len(r.pids("api")))
        else:
            print("NOTE: the writes took %.0f ms (a loaded machine): one-restart not judged" %
                  (took * 1000))
        check(r.stop() == 0, "clean shutdown exits 0")


def test_ignored_paths_do_not_restart():
    app = app_dir()
    with watched_api(app, ["watch: .", 'watch_ignore: ["*.tmp", build]']) as r:
        write(os.path.join(app, "node_modules", "lib", "index.js"))
        write(os.path.join(app, "node_modules", "fresh", "deep", "x.js"))  # new, under an ignore
        write(os.path.join(app, ".git", "objects", "y"))
        write(os.path.join(app, ".git", "HEAD"))
        write(os.path.join(app, "notes.tmp"))
        write(os.path.join(app, "src", "cache.tmp"))
        write(os.path.join(app, "build", "out.js"))
        # the sentinel: inotify delivers in order, so had any of those counted, the window
        # would have opened on it and its name would be the one logged
        write(os.path.join(app, "src", "index.js"), "2")
        ev = r.wait_event("watch_changed", "api")[0]
        check(ev["msg"].startswith("api: %s/src/index.js changed" % app),
              "only the sentinel counted: %s" % ev["msg"])
        r.wait_event("started", "api", count=2)
        check(len(changes(r, "api")) == 1, "one restart: %s" % [e["msg"] for e in changes(r, "api")])
        r.stop()


def test_a_new_subdirectory_is_watched():
    app = app_dir()
    with watched_api(app, ['watch: "src/**/*.js"']) as r:
        os.makedirs(os.path.join(app, "src", "a", "b"))
        write(os.path.join(app, "src", "a", "b", "x.js"))
        ev = r.wait_event("watch_changed", "api")[0]
        check("src/a/b/x.js changed" in ev["msg"], "the new file is named: %s" % ev["msg"])
        r.wait_event("started", "api", count=2)
        # after the restart the new directory is watched, not only scanned when it appeared
        write(os.path.join(app, "src", "a", "b", "y.js"))
        ev = r.wait_event("watch_changed", "api", count=2)[1]
        check("src/a/b/y.js changed" in ev["msg"], "a later file is named: %s" % ev["msg"])
        r.wait_event("started", "api", count=3)
        # a file the glob does not match changes nothing (the sentinel: one that does)
        write(os.path.join(app, "src", "a", "b", "readme.md"))
        write(os.path.join(app, "src", "a", "z.js"))
        ev = r.wait_event("watch_changed", "api", count=3)[2]
        check("src/a/z.js changed" in ev["msg"], "readme.md did not count: %s" % ev["msg"])
        r.stop()


def test_a_role_that_gave_up_comes_back_on_a_change():
    app = app_dir()
    cfg = """
roles:
  steady:
    command: [@CHILD@, sleep, "1000"]
  api:
    command: "if [ -f fixed ]; then touch up; exec @CHILD@ sleep 1000; else exit 1; fi"
    cwd: %s
    watch: .
    backoff: {initial: 10ms}
    give_up: {after: 2, within: 60s}
""" % app
    with Roster(cfg) as r:
        ev = r.wait_event("watch_waiting", "api")[0]
        check(ev["msg"] == "api crashed — waiting for file changes", "said: %s" % ev["msg"])
        check(r.proc.poll() is None, "roster keeps running (give_up.then is stay when watched)")
        write(os.path.join(app, "fixed"))
        r.wait_event("watch_changed", "api")
        wait_for(lambda: os.path.exists(os.path.join(app, "up")), 10, "api up after the fix")
        check(len(r.pids("steady")) == 1, "the healthy role was left alone")
        check(r.stop() == 0, "clean shutdown exits 0")


def test_dependents_restart_when_asked():
    app = app_dir()
    lib = tmpdir()
    cfg = """
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
    cwd: %s
    watch: src
    watch_restart: dependents
  web:
    command: [@CHILD@, sleep, "1000"]
    depends_on: [api]
  worker:
    command: [@CHILD@, sleep, "1000"]
    depends_on: [web]
  lib:
    command: [@CHILD@, sleep, "1000"]
    cwd: %s
    watch: .
    watch_debounce: 50ms
  client:
    command: [@CHILD@, sleep, "1000"]
    depends_on: [lib]
""" % (app, lib)
    with Roster(cfg) as r:
        for role in ("api", "web", "worker", "lib", "client"):
            r.wait_event("started", role)
        write(os.path.join(lib, "lib.js"))
        r.wait_event("started", "lib", count=2)
        write(os.path.join(app, "src", "index.js"), "2")
        for role in ("api", "web", "worker"):
            r.wait_event("started", role, count=2)
        # lib's change came first and restarted lib alone (the default, watch_restart: role)
        check(len(r.pids("client")) == 1, "client restarted: %s" % r.pids("client"))
        r.stop()


def test_check_shows_watch_and_rejects_strays():
    app = app_dir()
    path = os.path.join(app, "roster.yaml")
    write(path, """
roles:
  api:
    command: node api.js
    watch: [src, "config/*.json"]
    watch_ignore: ["*.log"]
""")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 0, "check passes: %s" % err)
    check("watch: %s/src, %s/config/*.json (debounce 200ms; a change restarts the role)" % (
        app, app) in out, out)
    check("watch_ignore: node_modules, .git, *.log" in out, out)
    check("then stay" in out, "a watched role stays when it gives up: %s" % out)
    write(path, """
roles:
  api:
    command: node api.js
    watch_debounce: 1s
    watch_restart: everything
""")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 2, "stray watch keys fail: %d %s" % (code, err))
    check("watch_debounce needs watch:" in err, err)
    check("watch_restart" in err and "dependents" in err, err)


# Files in each directory of the big tree; FILES_PER_DIR=30 makes the old stall plain (a figure,
# not a default: 90,000 files take a loaded machine tens of seconds to write).
FILES_PER_DIR = int(os.environ.get("FILES_PER_DIR", "3"))


def test_a_big_tree_does_not_stall_livez():
    """3,000 directories (and their files) moved into a watched directory at once are scanned off
    the loop: /livez answers each probe within a deadline meanwhile, and the deepest directory
    ends up watched (a file written there restarts the role). The tree's disk is made slow (the
    rtest-slowdir shim adds 2 ms to each opendir under it, as a cold or network disk would):
    listed on the loop, as before the fix, that held /livez for the whole 6 s; on the thread pool
    it answers as usual. Without the shim the test still runs, on a fast disk (there, with warm
    caches, the loop's listing stalled /livez 42 ms, 228 ms with 30 files a directory)."""
    app = app_dir()
    staging = os.path.join(app, "staging", "slowtree")
    for a in range(30):
        for b in range(100):
            d = os.path.join(staging, "a%02d" % a, "b%03d" % b)
            os.makedirs(d)
            for f in range(FILES_PER_DIR):
                with open(os.path.join(d, "f%d.js" % f), "w") as fh:
                    fh.write("x")
    port = free_port()
    env = {}
    shim = os.environ.get("RTEST_SLOWDIR")
    if shim and os.path.exists(shim):
        env = {"LD_PRELOAD": shim, "RTEST_SLOWDIR_MARK": "/slowtree", "RTEST_SLOWDIR_MS": "2",
               # the sanitizer build's runtime would refuse to come after a preloaded library
               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    else:
        print("NOTE: no RTEST_SLOWDIR shim: the tree's disk is as fast as the machine's")
    r = Roster("""
health: {listen: "127.0.0.1:%d"}
roles:
  api:
    command: [@CHILD@, sleep, "1000"]
    cwd: %s
    watch: src
    watch_debounce: 50ms
""" % (port, app), env=env)
    with r:
        r.wait_event("started", "api")
        wait_for(lambda: http_get("http://127.0.0.1:%d/livez" % port)[0] == 200, 10, "/livez")
        worst = [0.0]
        probes = [0]
        failed = []
        done = threading.Event()

        def probe():
            while not done.is_set():
                t0 = time.monotonic()
                try:
                    st, _, _ = http_get("http://127.0.0.1:%d/livez" % port, timeout=10)
                    if st != 200:
                        failed.append(st)
                except Exception as e:  # a timeout is a failure to answer
                    failed.append(repr(e))
                worst[0] = max(worst[0], time.monotonic() - t0)
                probes[0] += 1
                time.sleep(0.005)  # a probe's pace, not a wait for a condition
        th = threading.Thread(target=probe, daemon=True)
        th.start()
        t0 = time.monotonic()
        os.rename(staging, os.path.join(app, "src", "slowtree"))
        # the files of the new tree are changes, noted as each directory is listed; the window
        # stays open until the last one is: one restart, and then quiet
        r.wait_event("watch_changed", "api", timeout=60)
        last = [0, time.monotonic()]

        def quiet():
            n = len(r.events("watch_changed", "api"))
            if n != last[0]:
                last[0], last[1] = n, time.monotonic()
            return time.monotonic() - last[1] > 1.5
        wait_for(quiet, 120, "the tree's changes to end", interval=0.1)
        took = last[1] - t0
        # the deepest, last directory is watched: a file written there is one more change
        deep = os.path.join(app, "src", "slowtree", "a29", "b099", "sentinel.js")

        def deep_seen():
            # the tree's own files keep opening windows while it is scanned: the one that
            # counts is a window the sentinel opened
            write(deep, str(time.monotonic()))
            return [e for e in r.events("watch_changed", "api") if "sentinel.js" in e["msg"]]
        wait_for(deep_seen, 60, "a change deep in the moved tree", interval=0.5)
        done.set()
        th.join(timeout=15)
        print("moved tree: 3000 dirs, %d files listed in %.2f s%s (%d restarts); %d /livez "
              "probes, slowest %.0f ms" % (3000 * FILES_PER_DIR, took,
                                           " (2 ms an opendir)" if env else "", last[0],
                                           probes[0], worst[0] * 1000))
        check(last[0] == 1, "the tree was one change, one restart: %d" % last[0])
        check(not failed, "every /livez probe answered 200: %s" % failed[:5])
        check(probes[0] >= 5, "/livez was probed during the scan (%d)" % probes[0])
        check(worst[0] < 1.0, "/livez answered within 1 s while the tree was scanned (slowest "
              "%.0f ms)" % (worst[0] * 1000))
        check(not r.events("warning"), "no warning: %s" % [e["msg"] for e in r.events("warning")])
        check(r.stop() == 0, "clean shutdown exits 0")


if __name__ == "__main__":
    run(globals())
