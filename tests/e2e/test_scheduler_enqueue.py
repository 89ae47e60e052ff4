"""The scheduler's enqueue action (issues 12 and 13): `enqueue: {queue, type, payload}` puts a job
on the app's queue in Redis at each occurrence, through the job store; the job is read back with
tests/helpers/jobs_client. Redis down at fire time is a failed run that says so, and the next
occurrence after Redis is back enqueues again."""
import json
import re

from harness import Roster, check, run, wait_for
from jobs_client import Client
from services import Redis


def test_enqueue_action():
    redis = Redis()
    try:
        r = Roster("app: senq\nredis: {url: \"%s\"}\nroles:\n  scheduler:\n"
                   "    builtin: scheduler\n    redis_down: run\n    schedules:\n"
                   "      digest:\n        cron: \"@every 1s\"\n"
                   "        enqueue: {queue: mail, type: digest.daily, payload: {to: \"${WHO}\", "
                   "n: 1, tags: [a, b]}}\n" % redis.url,
                   env={"WHO": "ops@example.com"}, json_logs=False)
        with r:
            m = r.wait_line(r"^scheduler \| digest: finished ok: enqueued job (\d+) on mail in "
                            r"\d+\.\d+s$", timeout=30)
            c = Client(redis.url, "senq")
            got = c.op("get", int(m.group(1)))
            check(got.get("ok"), got)
            job = got["job"]
            check(job["queue"] == "mail" and job["type"] == "digest.daily", job)
            payload = job["payload"]
            if isinstance(payload, str):
                payload = json.loads(payload)
            check(payload == {"to": "ops@example.com", "n": 1, "tags": ["a", "b"]}, job)
            check(job["state"] == "queued", job)
            # Redis gone at fire time (redis_down: run, so the occurrence is not skipped before
            # it is claimed): the run fails and says why; back, the next one enqueues
            redis.stop()
            r.wait_line(r"^scheduler \| digest: failed: enqueue: .* in \d+\.\d+s$", timeout=30)
            redis.start()
            mark = len(r.output())
            wait_for(lambda: [l for l in r.output()[mark:]
                              if re.match(r"^scheduler \| digest: finished ok: enqueued job ", l)],
                     60, "an enqueue after Redis came back")
            r.stop()
        bad = [l for l in r.output() if "Sanitizer" in l or "runtime error:" in l]
        check(not bad, "\n".join(bad[:20]))
    finally:
        redis.cleanup()


if __name__ == "__main__":
    run(globals())
