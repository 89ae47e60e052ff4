"""workerlib.py — what the worker's end-to-end tests share: a job store client (the jobs-client
helper, one process answering one JSON line per operation) and a roster whose worker role is
written from a few YAML lines."""
from harness import SANITIZER, Failure, Roster
from jobs_client import Client

APP = "wtest"


class Jobs:
    """The job store of app APP on a Redis, through jobs_client.Client."""

    def __init__(self, url, app=APP):
        self.c = Client(url, app)

    def op(self, *args):
        return self.many([args])[0]

    def many(self, ops, chunk=200):
        """Runs the operations pipelined, chunk by chunk (so that neither pipe fills up while
        the other side waits); returns every answer."""
        out = []
        for i in range(0, len(ops), chunk):
            part = ops[i:i + chunk]
            for o in part:
                self.c.send(*o)
            out += [self.c.answer(timeout=60) for _ in part]
        return out

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
        self.c.close()


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
