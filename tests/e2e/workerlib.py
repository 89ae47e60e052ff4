"""workerlib.py — what the worker's end-to-end tests share: a job store client (the jobs-client
helper, one process answering one JSON line per operation) and a roster whose worker role is
written from a few YAML lines."""
import json
import os
import shutil
import subprocess

from harness import SANITIZER, Failure, Roster

JOBS_CLIENT = os.environ.get("JOBS_CLIENT", "")
APP = "wtest"


class Jobs:
    """The job store of app APP on a Redis, through jobs-client: a fresh client per call (one
    left idle between calls stops turning its loop while it waits on its input, and its
    connection's PING then times out)."""

    def __init__(self, url, app=APP):
        if not JOBS_CLIENT or not os.path.exists(JOBS_CLIENT):
            raise Failure("JOBS_CLIENT is not set to the jobs-client helper")
        self.url, self.app = url, app

    def many(self, ops):
        """Runs the operations in one client, pipelined; returns every answer."""
        p = subprocess.run([JOBS_CLIENT, self.url, self.app], capture_output=True, text=True,
                           input="".join(json.dumps(list(o)) + "\n" for o in ops), timeout=120)
        answers = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        if len(answers) != len(ops):
            raise Failure("jobs-client answered %d of %d operations (exit %d): %s"
                          % (len(answers), len(ops), p.returncode, p.stderr[-500:]))
        return answers

    def op(self, *args):
        return self.many([args])[0]

    def enqueue(self, type_, payload=None, queue="default", **kw):
        j = {"queue": queue, "type": type_, "payload": payload if payload is not None else {}}
        j.update(kw)
        r = self.op("enqueue", j)
        if not r.get("ok"):
            raise Failure("enqueue failed: %r" % r)
        return r["id"]

    def get(self, id_):
        r = self.op("get", id_)
        if not r.get("ok"):
            raise Failure("get %s failed: %r" % (id_, r))
        return r["job"]

    def close(self):
        pass


class WorkerRoster(Roster):
    """A Roster whose roles' output is checked too: the worker role is roster's own program, and
    a sanitizer report of it arrives as its output lines, not as roster's stderr."""

    def cleanup(self):
        super().cleanup()
        bad = [l for l in self.output() if SANITIZER.search(l)]
        if bad:
            raise Failure("sanitizer report from a role:\n" + "\n".join(self.output()[-60:]))


def worker_roster(redis_url, role_yaml, extra="", env=None):
    """A roster with app wtest, the Redis, and a worker role (role_yaml: its keys, indented 4)."""
    cfg = ("app: %s\nredis: {url: \"%s\"}\nroles:\n  worker:\n    builtin: worker\n%s%s"
           % (APP, redis_url, role_yaml, extra))
    return WorkerRoster(cfg, json_logs=False, env=env)


def have_redis():
    return shutil.which("redis-server") is not None
