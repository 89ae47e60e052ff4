"""Chaos for the built-in worker (issue 13): 10,000 jobs through two worker processes while a
bounded loop SIGKILLs worker processes (the `roster role` children; the supervisor restarts
them) and handler processes. Every job must reach done or dead, none lost; jobs run more than
once (at-least-once: in flight when their worker was killed, or retried after their handler
was) are counted and reported. ROSTER_CHAOS_JOBS sets the count (default 10000)."""
import os
import random
import signal
import time

from harness import check, proc_stat, run, wait_for
from services import Redis
from workerlib import Jobs, worker_roster

JOBS = int(os.environ.get("ROSTER_CHAOS_JOBS", "10000"))
DEADLINE_S = 200
MAX_WORKER_KILLS = 6
MAX_HANDLER_KILLS = 30
KILL_FOR_S = 40


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and proc_stat(int(d))["ppid"] == ppid:
                out.append(int(d))
        except (FileNotFoundError, IndexError, ProcessLookupError):
            pass
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def test_chaos_10k_two_workers():
    rd = Redis()
    jobs = Jobs(rd.url)
    r = worker_roster(rd.url, "    instances: 2\n    concurrency: 8\n    handlers:\n"
                      "      noop: {command: [sleep, \"0.02\"]}\n"
                      "    retry: {max_attempts: 25, backoff: {initial: 100ms, max: 500ms}}\n"
                      "    backoff: {initial: 100ms, max: 1s}\n"
                      "    give_up: {after: 1000, within: 1m}\n")
    t0 = time.monotonic()
    with r:
        r.wait_line(r"^worker\.1 \| worker ", timeout=30)
        ops = [("enqueue", {"queue": "default", "type": "noop", "payload": {"i": i}})
               for i in range(JOBS)]
        ids = [a["id"] for a in jobs.many(ops)]
        check(len(set(ids)) == JOBS, "every enqueue got an id")
        rng = random.Random(13)
        wkills = hkills = 0
        kill_until = time.monotonic() + KILL_FOR_S

        def pending():
            depth = {"queued": 0, "delayed": 0, "active": 0}
            for q in jobs.op("queues")["queues"].values():
                for k in depth:
                    depth[k] += q[k]
            return depth

        while time.monotonic() - t0 < DEADLINE_S:
            now = time.monotonic()
            if now < kill_until and (wkills < MAX_WORKER_KILLS or hkills < MAX_HANDLER_KILLS):
                workers = [p for p in children(r.pid) if b"role" in cmdline(p)]
                if workers and wkills < MAX_WORKER_KILLS and rng.random() < 0.2:
                    os.kill(rng.choice(workers), signal.SIGKILL)
                    wkills += 1
                elif hkills < MAX_HANDLER_KILLS:
                    # handlers live 20 ms: look a few times for one to kill
                    for _ in range(20):
                        handlers = [h for w in workers for h in children(w)]
                        if handlers:
                            try:
                                os.kill(rng.choice(handlers), signal.SIGKILL)
                                hkills += 1
                                break
                            except ProcessLookupError:
                                pass
                deadline = time.monotonic() + rng.uniform(0.3, 1.2)
                wait_for(lambda: time.monotonic() >= deadline, 5, "the next kill")
                continue
            d = pending()
            if not any(d.values()):
                break
            deadline = time.monotonic() + 0.5
            wait_for(lambda: time.monotonic() >= deadline, 5, "the next look")
        elapsed = time.monotonic() - t0
        answers = jobs.many([("get", i) for i in ids])
        states = {}
        runs_more = 0
        extra_runs = 0
        for a in answers:
            check(a.get("ok"), "a job lost: %r" % a)
            j = a["job"]
            states[j["state"]] = states.get(j["state"], 0) + 1
            if j["attempts"] > 1:
                runs_more += 1
                extra_runs += j["attempts"] - 1
        print("chaos: %d jobs in %.1fs, %d worker kills, %d handler kills; states %r; "
              "%d jobs ran more than once (%d extra runs)"
              % (JOBS, elapsed, wkills, hkills, states, runs_more, extra_runs), flush=True)
        check(set(states) <= {"done", "dead"}, "every job done or dead: %r" % states)
        check(states.get("done", 0) + states.get("dead", 0) == JOBS, states)
        check(wkills >= 1 and hkills >= 1, "the chaos loop killed something")
        check(r.stop(timeout=60) == 0, r.tail())


if __name__ == "__main__":
    run(globals())
