"""The command line: role selection, check with redaction, lookup order, Procfile mode."""
import os

from harness import tmpdir, CHILD, Roster, check, run, run_roster, wait_for

THREE = """
roles:
  a:
    command: [@CHILD@, sleep, "1000"]
  b:
    command: [@CHILD@, sleep, "1000"]
  c:
    command: [@CHILD@, sleep, "1000"]
"""


def test_role_selection_flag():
    with Roster(THREE, args=["--role", "a,c"]) as r:
        r.wait_event("started", "a")
        r.wait_event("started", "c")
        check(not r.pids("b"), "b not selected")
        check(r.stop() == 0, "exit 0")


def test_role_selection_env():
    with Roster(THREE, env={"ROSTER_ROLES": "b"}) as r:
        r.wait_event("started", "b")
        check(not r.pids("a") and not r.pids("c"), "only b")
        r.stop()


def test_unknown_role_is_an_error():
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(THREE.replace("@CHILD@", CHILD))
    code, out, err = run_roster(["-c", path, "--role", "a,wrker"])
    check(code == 2, "exit 2")
    check(err.strip() == "%s: unknown role 'wrker'; known roles: a, b, c" % path, err)
    code, out, err = run_roster(["-c", path, "--role", "bb"])
    check("did you mean 'b'?" in err, err)


def test_check_redacts_secrets():
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("""
app: shop
env:
  DB_PASSWORD: hunter2
  STRIPE_SECRET_KEY: sk_live_abc
  API_TOKEN: tok123
  DATABASE_URL: postgres://app:s3cret@db.example.com:5432/shop?sslmode=require
  PLAIN: visible
roles:
  api:
    command: node server.js --url redis://:redispw@cache:6379
    port: 3000
  worker:
    command: [node, worker.js]
    depends_on: [api]
""")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 0, "check passes: %s" % err)
    for secret in ("hunter2", "sk_live_abc", "tok123", "s3cret", "redispw"):
        check(secret not in out, "%s is redacted:\n%s" % (secret, out))
    check("DB_PASSWORD=****" in out and "PLAIN=visible" in out, out)
    check("postgres://app:****@db.example.com:5432/shop?sslmode=require" in out, out)
    check(out.index("  api (service)") < out.index("  worker (service)"), "start order")
    check(out.rstrip().endswith("ok"), out)


def test_version_help_and_usage_errors():
    code, out, _ = run_roster(["version"])
    check(code == 0 and out.startswith("roster "), out)
    code, out, _ = run_roster(["--help"])
    check(code == 0 and "usage:" in out, out)
    # a word that is no subcommand is a command to run, as concurrently's line has it
    code, out, err = run_roster(["frobnicate"])
    check(code == 127 and "command not found: frobnicate" in out, out + err)
    code, _, err = run_roster(["--frob"])
    check(code == 2 and "unknown option '--frob'" in err, err)
    code, _, err = run_roster(["run", "--log-format", "xml"])
    check(code == 2 and "--log-format must be text or json" in err, err)
    code, _, err = run_roster(["restart"])
    check(code == 2 and "needs a role name" in err, err)


def test_entrypoint_arguments_from_platforms():
    """An image's ENTRYPOINT is roster; platforms may pass their run command as its arguments."""
    code, out, _ = run_roster(["roster", "version"])
    check(code == 0 and out.startswith("roster "), "a repeated 'roster' is dropped: %s" % out)
    code, out, _ = run_roster(["/bin/sh", "-c", "echo from-the-shell"])
    check(code == 0 and out.strip() == "from-the-shell", "an absolute path is exec'd: %s" % out)
    code, _, err = run_roster(["/nonexistent/prog"])
    check(code == 127 and "cannot run /nonexistent/prog" in err, err)


def test_no_config_found():
    d = tmpdir()
    code, _, err = run_roster([], cwd=d, env={"ROSTER_CONFIG": ""})
    check(code == 2 and "no config found" in err, err)


def test_lookup_order_and_roster_config_env():
    d = tmpdir()
    os.makedirs(os.path.join(d, "config"))
    with open(os.path.join(d, "config", "roster.yaml"), "w") as f:
        f.write("app: from-config-dir\nroles:\n  a: {command: x}\n")
    code, out, err = run_roster(["check"], cwd=d)
    check(code == 0 and "app: from-config-dir" in out, out + err)
    with open(os.path.join(d, "roster.yaml"), "w") as f:
        f.write("app: from-top\nroles:\n  a: {command: x}\n")
    code, out, _ = run_roster(["check"], cwd=d)
    check("app: from-top" in out, out)
    other = os.path.join(d, "other.yaml")
    with open(other, "w") as f:
        f.write("app: from-env\nroles:\n  a: {command: x}\n")
    code, out, _ = run_roster(["check"], cwd=d, env={"ROSTER_CONFIG": other})
    check("app: from-env" in out, out)


def test_procfile_mode():
    procfile = "# comment\nweb: @CHILD@ env PORT GREETING\nworker: @CHILD@ env PORT GREETING\n"
    d = tmpdir()
    with open(os.path.join(d, "Procfile"), "w") as f:
        f.write(procfile.replace("@CHILD@", CHILD))
    with open(os.path.join(d, ".env"), "w") as f:
        f.write("GREETING=hello\n")
    with Roster(None, cwd=d, env={"ROSTER_CONFIG": "", "PORT": ""}) as r:
        wait_for(lambda: len([x for x in r.records() if x.get("role") in ("web", "worker")]) >= 4,
                 5, "both processes' env")
        got = {(x["role"], x["msg"]) for x in r.records() if x.get("role") in ("web", "worker")}
        check(got == {("web", "PORT=5000"), ("web", "GREETING=hello"),
                      ("worker", "PORT=5100"), ("worker", "GREETING=hello")},
              "foreman ports and .env: %s" % got)
        check(r.stop() == 0, "exit 0")


if __name__ == "__main__":
    run(globals())
