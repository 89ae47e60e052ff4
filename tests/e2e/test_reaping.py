"""PID 1 duties: orphans are reaped (as a subreaper and as PID 1 in a new PID namespace)."""
import os
import signal
import time

from harness import (Roster, check, child_of, pid_exists, proc_stat, read_pidfile, run,
                     unshare_works, wait_for, zombies_of)


def host_pid_of(ns_pid, ancestor):
    """Finds the host pid of a process whose innermost namespace pid is ns_pid, below ancestor."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as f:
                for line in f:
                    if line.startswith("NSpid:"):
                        ids = line.split()[1:]
                        if len(ids) >= 2 and int(ids[-1]) == ns_pid and _descends(int(d), ancestor):
                            return int(d)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return None


def _descends(pid, ancestor):
    for _ in range(64):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            pid = proc_stat(pid)["ppid"]
        except (FileNotFoundError, IndexError):
            return False
    return False


ORPHAN_CFG = """
roles:
  leaver:
    command: [@CHILD@, orphan, "@DIR@/orphan"]
"""


def test_orphan_reaped_as_subreaper():
    with Roster(ORPHAN_CFG) as r:
        gc = read_pidfile(os.path.join(r.dir, "orphan"))
        # The grandchild's parent exited: it is reparented to roster (a subreaper), not to init.
        wait_for(lambda: not pid_exists(gc) or proc_stat(gc)["ppid"] == r.pid, 5,
                 "the orphan to be reparented to roster")
        # It exits ~500 ms after being orphaned; roster must reap it: no zombie left behind.
        wait_for(lambda: not pid_exists(gc), 5, "the orphan %d to be reaped" % gc)
        check(not zombies_of(r.pid), "no zombies under roster: %s" % zombies_of(r.pid))
        check(r.stop() == 0, "exit 0")


def test_orphan_reaped_as_pid1():
    if not unshare_works():
        print("  skipped: unshare --pid --fork is not allowed on this machine")
        return
    with Roster(ORPHAN_CFG, prefix_cmd=["unshare", "--pid", "--fork", "--kill-child"]) as r:
        # r.pid is unshare; roster is its child and PID 1 inside the new namespace.
        roster_host = wait_for(lambda: child_of(r.pid), 5, "roster under unshare")
        with open("/proc/%d/status" % roster_host) as f:
            nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
        check(nspid[-1] == "1", "roster is PID 1 in its namespace: NSpid %s" % nspid)
        r.wait_event("started", "leaver")
        ns_gc = read_pidfile(os.path.join(r.dir, "orphan"))
        gc = wait_for(lambda: host_pid_of(ns_gc, roster_host), 5, "the orphan's host pid")
        wait_for(lambda: not pid_exists(gc) or proc_stat(gc)["ppid"] == roster_host, 5,
                 "the orphan to be reparented to PID 1")
        wait_for(lambda: not pid_exists(gc), 5, "the orphan %d to be reaped by PID 1" % gc)
        check(not zombies_of(roster_host), "no zombies under PID 1: %s" % zombies_of(roster_host))
        # SIGTERM to PID 1 works (PID 1 ignores signals it has no handler for)
        os.kill(roster_host, signal.SIGTERM)
        code = r.wait_exit(10)
        check(code == 0, "PID 1 roster exits 0 on SIGTERM (got %s)" % code)
        check(r.events("stopped", "leaver"), "the role was stopped")


def test_no_zombies_under_churn():
    cfg = """
roles:
  churn:
    command: [sh, -c, "@CHILD@ exit 0 & @CHILD@ exit 1 & sleep 0.05; exit 1"]
    backoff: {initial: 10ms, max: 20ms}
    give_up: {after: 1000}
"""
    with Roster(cfg) as r:
        r.wait_event("restarting", "churn", count=10, timeout=15)
        wait_for(lambda: not zombies_of(r.pid), 2, "no zombies under roster")
        r.stop()


if __name__ == "__main__":
    run(globals())
