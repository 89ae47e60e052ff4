"""A driver for tests/helpers/jobs_client (the job store's operations as JSON lines) for the
end-to-end tests of the job store, the worker and the api: one long-lived process per Client,
each op() one line out and one answer back, with a deadline."""
import json
import os
import select
import subprocess
import time

from harness import SANITIZER, Failure

JOBS_CLIENT = os.environ.get("JOBS_CLIENT", "jobs-client")


class Client:
    def __init__(self, url, app):
        self.p = subprocess.Popen([JOBS_CLIENT, url, app], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  bufsize=1)
        self.buf = b""  # read from stdout, not yet answered

    def send(self, *op):
        self.p.stdin.write(json.dumps(list(op)) + "\n")
        self.p.stdin.flush()

    def answer(self, timeout=10):
        # Lines are cut from bytes read here: readline() on the pipe's text wrapper would read
        # ahead several answers into its own buffer, where select() cannot see them, and the
        # next answer() would wait its whole timeout for a line already read.
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("jobs_client gave no answer within %ss" % timeout)
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise Failure("jobs_client ended: %s" % self.p.stderr.read())
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def op(self, *op, timeout=10):
        self.send(*op)
        return self.answer(timeout)

    def ok(self, *op, timeout=10):
        a = self.op(*op, timeout=timeout)
        if not a.get("ok"):
            raise Failure("%s answered %s" % (op[0], a))
        return a

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise Failure("jobs_client did not end when its input did")
        err = self.p.stderr.read()
        if SANITIZER.search(err):
            raise Failure("sanitizer report from jobs_client:\n" + err)
        if self.p.returncode != 0:
            raise Failure("jobs_client exited %d: %s" % (self.p.returncode, err))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        else:
            self.p.kill()
            self.p.wait()
