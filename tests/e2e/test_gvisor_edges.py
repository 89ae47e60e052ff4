"""App Platform runs apps under gVisor, which lacks some system calls or options: roster must work
when close_range, pidfd_open, pidfd_send_signal, prctl(PR_SET_CHILD_SUBREAPER) or inotify fail
(ENOSYS, or EINVAL as an older kernel says it). tests/helpers/seccomp_fail installs a seccomp
filter making one of them fail, inherited by roster and its children, and the core cases run
under it, one filter at a time: roles start in dependency order, a crash is restarted, /health
answers, a file change restarts a watched role, children hold no descriptor of roster's, an
orphan is reaped, and SIGTERM stops the roles in reverse order, whole process groups, exit 0.

Without a subreaper an orphan goes to PID 1 of the namespace, not to roster, which cannot reap
it: roster says so once and the rest works. Without inotify, watch: says once that files are not
watched and the role runs as if it had no watch:. The same run without a filter is the
sentinel."""
import os
import signal
import subprocess

from harness import (CHILD, ROSTER, Roster, check, free_port, http_get, pid_exists, proc_stat,
                     read_pidfile, run, wait_for, zombies_of)

SECCOMP_FAIL = os.environ.get("SECCOMP_FAIL", "")

CFG = """
health: {listen: "127.0.0.1:%d"}
roles:
  base:
    command: [@CHILD@, grandchild, "@DIR@/grandchild"]
    stop: {timeout: 2s}
  top:
    command: [@CHILD@, sleep, "1000"]
    depends_on: [base]
  crasher:
    command: "if [ -e @DIR@/crashed ]; then exec @CHILD@ sleep 1000; else touch @DIR@/crashed; exec @CHILD@ crash; fi"
  leaver:
    command: [@CHILD@, orphan, "@DIR@/orphan"]
  watched:
    command: [@CHILD@, sleep, "1000"]
    watch: "@DIR@/*.js"
    watch_debounce: 50ms
"""


def seccomp_works():
    """Whether the helper is built and this kernel lets it install a filter."""
    if not SECCOMP_FAIL or not os.path.exists(SECCOMP_FAIL):
        return False
    p = subprocess.run([SECCOMP_FAIL, "subreaper", "ENOSYS", "true"], capture_output=True)
    return p.returncode == 0


def fds_of(pid):
    return sorted(int(f) for f in os.listdir("/proc/%d/fd" % pid))


def core_cases(what=None, err="ENOSYS"):
    """The core cases under a filter making `what` fail (None: no filter)."""
    prefix = [SECCOMP_FAIL, what, err] if what else None
    port = free_port()
    with Roster(CFG % port, prefix_cmd=prefix) as r:
        # roles start, top after base is up
        for role in ("base", "top", "leaver", "watched"):
            r.wait_event("started", role, timeout=30)
        starts = [e["subject"] for e in r.events("started")]
        check(starts.index("base") < starts.index("top"), "base starts before top: %r" % starts)
        # a crash is restarted, and the role then stays up
        r.wait_event("started", "crasher", count=2, timeout=30)
        # /health: every role up
        def healthy():
            try:
                return http_get("http://127.0.0.1:%d/health" % port)[0] == 200
            except OSError:
                return False
        wait_for(healthy, 30, "/health to answer 200\n" + r.tail())
        # children hold only their standard streams: nothing of roster's leaked past exec
        # (close_range, or its fallbacks)
        base = r.events("started", "base")[-1]["pid"]
        check(fds_of(base) == [0, 1, 2], "base's descriptors: %r" % fds_of(base))
        # the orphan
        gc = read_pidfile(os.path.join(r.dir, "orphan"), timeout=30)
        warned = lambda: [e for e in r.events("warning") if "subreaper" in e.get("msg", "")]
        if what == "subreaper":
            # it went to PID 1 of the namespace; roster said once that it cannot reap orphans
            check(not pid_exists(gc) or proc_stat(gc)["ppid"] != r.pid,
                  "the orphan is not roster's child")
            check(len(warned()) == 1, "one warning about the subreaper: %r" % warned())
        else:
            wait_for(lambda: not pid_exists(gc), 30, "the orphan %d to be reaped" % gc)
            check(not zombies_of(r.pid), "no zombies under roster: %s" % zombies_of(r.pid))
            check(not warned(), "no subreaper warning: %r" % warned())
        # watch
        with open(os.path.join(r.dir, "a.js"), "w") as f:
            f.write("1")
        watch_warn = lambda: [e for e in r.events("warning", "watched") if "watch" in e.get("msg", "")]
        if what == "inotify":
            r.wait_event("warning", "watched", timeout=30,
                         where=lambda e: "not watched" in e.get("msg", ""))
            check(len(watch_warn()) == 1, "one warning about watch: %r" % watch_warn())
            check(len(r.events("started", "watched")) == 1, "watched is left alone")
        else:
            r.wait_event("started", "watched", count=2, timeout=30)
            check(not watch_warn(), "no watch warning: %r" % watch_warn())
        # ordered stop, whole process groups
        gchild = read_pidfile(os.path.join(r.dir, "grandchild"), timeout=30)
        check(pid_exists(gchild), "base's grandchild runs")
        code = r.stop(signal.SIGTERM, timeout=60)
        check(code == 0, "SIGTERM: exit 0, not %r\n%s" % (code, r.tail()))
        stopped = [e["subject"] for e in r.events("stopped")]
        check("top" in stopped and "base" in stopped and
              stopped.index("top") < stopped.index("base"),
              "top stops before base: %r" % stopped)
        wait_for(lambda: not pid_exists(gchild), 10, "base's grandchild to be gone")
        check(not [l for l in r.stderr_lines if "ERROR" in l or "error" in l],
              "nothing alarming on stderr: %r" % r.stderr_lines[-10:])


def case(what, err):
    def t():
        if not seccomp_works():
            print("SKIP: tests/helpers/seccomp_fail is not built (libseccomp-dev) or seccomp "
                  "filters are not allowed here")
            return
        core_cases(what, err)
    return t


def test_without_filter():
    core_cases()


test_close_range_enosys = case("close_range", "ENOSYS")
test_close_range_einval = case("close_range", "EINVAL")
test_pidfd_open_enosys = case("pidfd_open", "ENOSYS")
test_pidfd_send_signal_enosys = case("pidfd_send_signal", "ENOSYS")
test_subreaper_einval = case("subreaper", "EINVAL")
test_subreaper_enosys = case("subreaper", "ENOSYS")
test_inotify_enosys = case("inotify", "ENOSYS")
test_inotify_einval = case("inotify", "EINVAL")


if __name__ == "__main__":
    run(globals())
