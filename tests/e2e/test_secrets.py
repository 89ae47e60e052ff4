"""Secrets stay out of every surface roster prints (issue 10 item 2): a table of secrets — env
vars with secret names (PASS, PWD, PASSPHRASE, CREDENTIAL, PRIVATE, AUTH, DSN ...), URLs whose
passwords hold '?', '#', '/', '@' and ':' unencoded, a Postgres URL with such a password (roster
connects with it to a real server), a Redis URL, a probe target, a command argument — fed through
`roster check`, /health, /metrics, `roster status` (table and --json), `roster reload`'s answer
and roster's own log lines on stdout and stderr, in text and JSON: none may show a secret. Every
secret holds the marker MARK (and each fragment a password could be cut into holds it too), so
one search finds any leak; beside each search a sentinel proves the surface was read."""
import json
import os
import signal

from harness import (Roster, check, free_port, http_get, run, run_roster, tmpdir, wait_for)
from services import Postgres

MARK = "s3cr"

# NAME: value; every value is a secret (the whole of it, or its password)
SECRET_ENV = {
    "DB_PASS": MARK + "-dbpass",
    "MYSQL_PWD": MARK + "-pwd",
    "GPG_PASSPHRASE": MARK + "-phrase",
    "STRIPE_CREDENTIAL": MARK + "-cred",
    "PRIVATE_KEY": MARK + "-private",
    "API_AUTH": MARK + "-auth",
    "SENTRY_DSN": "https://%s-dsn@sentry.example.com/1" % MARK,
    "DB_PASSWORD": MARK + "-password",
    "API_TOKEN": MARK + "-token",
    # a URL with a password under a plain name: each fragment of the password holds the mark
    "UPSTREAM_URL": "https://bot:{m}?{m}#{m}/{m}@{m}:{m}@api.example.com/v1".format(m=MARK),
    "AMQP_URL": "amqp://guest:{m}'{m}\"{m}@rabbit:5672/%2f".format(m=MARK),
}
# what a password of a URL holds: '?', '#' and ':' (libpq reads them: its password ends at the
# first '@'), and for the others '@' too
PG_PASSWORD = "{m}?{m}#{m}:{m}".format(m=MARK)
URL_PASSWORD = "{m}?{m}#{m}@{m}:{m}".format(m=MARK)
# from roster's environment into a command line by ${CI_DEPLOY_TOKEN}
ROSTER_ENV = {"CI_DEPLOY_TOKEN": MARK + "-interpolated"}


def yaml_env(indent):
    return "".join('%s%s: %s\n' % (indent, k, json.dumps(v)) for k, v in SECRET_ENV.items())


def config(pg_url, redis_url, probe_port, health_port):
    return """
app: vault
health: {listen: "127.0.0.1:%d"}
control: {socket: "@DIR@/ctl.sock"}
env:
%s  PLAIN: visible-sentinel
postgres:
  url: %s
  budget: 10
redis:
  url: %s
roles:
  api:
    command: [sh, -c, "exec sleep 1000", x, "postgres://u:%s-arg@db/app", "--token=${CI_DEPLOY_TOKEN}"]
    env:
      ROLE_SECRET_PASS: %s-role
      ROLE_PLAIN: role-sentinel
  web:
    command: [sh, -c, "exec sleep 1000"]
    ready: {http: "http://prober:%s-probe@127.0.0.1:%d/health", every: 200ms, timeout: 1h}
""" % (health_port, yaml_env("  "), json.dumps(pg_url), json.dumps(redis_url), MARK, MARK, MARK,
       probe_port)


def no_secret(text, surface, sentinel):
    check(sentinel in text, "%s was read (sentinel %r missing):\n%s" % (surface, sentinel, text))
    at = text.find(MARK)
    check(at < 0, "%s shows a secret: ...%s...\n%s" % (surface, text[max(0, at - 60):at + 40],
                                                      text))


def pg_url(pg):
    # trust authentication: the server takes any password, libpq still parses this one
    return "postgresql://postgres:%s@127.0.0.1:%d/postgres" % (PG_PASSWORD, pg.port)


def redis_url():
    # nothing listens there: roster says redis is down, its message is checked too
    return "redis://:%s@127.0.0.1:%d/0" % (URL_PASSWORD, free_port())


def test_check_hides_every_secret():
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(config("postgresql://app:%s@db.example.com:5432/shop?sslmode=require" % URL_PASSWORD,
                       redis_url(), free_port(), free_port()).replace("@DIR@", d))
    code, out, err = run_roster(["check", "-c", path], env=ROSTER_ENV)
    check(code == 0, "check passes: %s" % err)
    no_secret(out + err, "roster check", "PLAIN=visible-sentinel")
    check("--token=****" in out, out)
    check("ROLE_PLAIN=role-sentinel" in out, out)
    for name in SECRET_ENV:
        if not name.endswith("_URL"):
            check("%s=****" % name in out, "%s masked:\n%s" % (name, out))
    check("postgres: postgresql://app:****@db.example.com:5432/shop?sslmode=require" in out, out)
    check("UPSTREAM_URL=https://bot:****@api.example.com/v1" in out, out)


def test_wrong_redis_scheme_is_not_echoed():
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("app: x\nredis:\n  url: %s\nroles:\n  a: {command: [sleep, '1']}\n"
                % json.dumps("http://:%s@cache:6379" % URL_PASSWORD))
    for args in (["check", "-c", path], ["-c", path]):
        code, out, err = run_roster(args)
        check(code == 2, "a config error: %d %s" % (code, err))
        no_secret(out + err, "roster %s" % args[0], "redis:// or rediss://")


def health(port):
    """The /health document, or {} while the server does not answer yet."""
    try:
        return json.loads(http_get("http://127.0.0.1:%d/health" % port)[1])
    except (OSError, ValueError):
        return {}


def pg_status(port):
    return health(port).get("checks", {}).get("postgres:responseTime", [{}])[0].get("status")


def test_health_command_hides_a_url_password():
    port = free_port()  # nothing listens: the error names the URL
    code, out, err = run_roster(["health", "http://probe:%s@127.0.0.1:%d/livez" % (URL_PASSWORD,
                                                                                 port)])
    check(code == 1, "no answer: exit 1 (%d) %s" % (code, err))
    no_secret(out + err, "roster health", "http://probe:****@127.0.0.1:%d/livez" % port)


def surfaces(r, health_port, sock):
    """Reads every surface of a running roster; returns {name: (text, sentinel)}."""
    got = {}
    _, body, _ = http_get("http://127.0.0.1:%d/health" % health_port)
    got["/health"] = (body, '"web:uptime"')
    _, body, _ = http_get("http://127.0.0.1:%d/metrics" % health_port)
    got["/metrics"] = (body, 'roster_role_up{role="api",instance="0"}')
    code, out, err = run_roster(["status", "--socket", sock])
    got["status"] = (out + err, "api")
    code, out, err = run_roster(["status", "--json", "--socket", sock])
    got["status --json"] = (out + err, '"role":"web"')
    return got


def run_and_grep(json_logs):
    pg = Postgres()
    health_port = free_port()
    probe_port = free_port()
    with Roster(config(pg_url(pg), redis_url(), probe_port, health_port),
                json_logs=json_logs, env=ROSTER_ENV) as r:
        sock = os.path.join(r.dir, "ctl.sock")
        # roster's own connection works with the '?' and '#' in its password
        wait_for(lambda: pg_status(health_port) == "pass", 30, "postgres up in /health")
        wait_for(lambda: any("redis: cannot connect" in l for l in r.output()), 30,
                 "redis down said")
        wait_for(lambda: '"probe"' in json.dumps(health(health_port)), 30,
                 "a probe result in /health")
        for name, (text, sentinel) in surfaces(r, health_port, sock).items():
            no_secret(text, name, sentinel)
        # reloads that fail on a bad Redis URL, then on a health.listen its error quotes: their
        # answers and their events
        with open(r.config_path) as f:
            text = f.read()
        bad_listen = 'health: {listen: "http://u:%s@127.0.0.1:%d"}' % (URL_PASSWORD, health_port)
        for bad, sentinel in ((text.replace("redis://", "http://", 1), "redis:// or rediss://"),
                              (text.replace('health: {listen: "127.0.0.1:%d"}' % health_port,
                                            bad_listen), "health.listen must be host:port")):
            check(bad != text, "the config was changed")
            with open(r.config_path, "w") as f:
                f.write(bad)
            code, out, err = run_roster(["reload", "--socket", sock])
            check(code != 0, "the reload fails: %s %s" % (out, err))
            no_secret(out + err, "roster reload", sentinel)
        r.wait_line('"reload_failed"' if json_logs else "reload failed", timeout=30)
        r.stop()
        log = "\n".join(r.output())
        no_secret(log, "stdout (%s)" % ("json" if json_logs else "text"),
                  '"event":"postgres_up"' if json_logs else "postgres: connected")
        no_secret("\n".join(r.stderr_lines) + "\nstderr-sentinel", "stderr", "stderr-sentinel")
    pg.cleanup()


def test_running_roster_json_logs():
    run_and_grep(True)


def test_running_roster_text_logs():
    run_and_grep(False)


if __name__ == "__main__":
    run(globals())
