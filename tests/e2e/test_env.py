"""The child environment: PORT only where declared, ROSTER_* variables, precedence, user, cwd."""
import os

from harness import Roster, check, run, wait_for

VARS = "PORT ROSTER_APP ROSTER_ROLE ROSTER_INSTANCE FOO BAR BAZ QUX NOTIFY_SOCKET ROSTER_ROLES"


def child_vars(r, role):
    out = {}
    for rec in r.records():
        if rec.get("role") == role:
            msg = rec["msg"]
            if "=" in msg:
                k, v = msg.split("=", 1)
                out.setdefault(rec["instance"], {})[k] = v
            elif msg.endswith(" unset"):
                out.setdefault(rec["instance"], {})[msg[:-6]] = None
    return out


def test_port_only_for_declared_roles():
    cfg = """
app: shop
roles:
  api:
    command: [@CHILD@, env, %s]
    port: ${PORT:-3000}
    instances: 2
  worker:
    command: [@CHILD@, env, %s]
""" % (", ".join(VARS.split()), ", ".join(VARS.split()))
    env = {"PORT": "8080", "NOTIFY_SOCKET": "/run/x", "ROSTER_ROLES": ""}
    with Roster(cfg, env=env) as r:
        r.wait_line("ROSTER_ROLES", timeout=5)
        wait_for(lambda: len(child_vars(r, "worker").get(0, {})) == len(VARS.split()) and
                 len(child_vars(r, "api").get(1, {})) == len(VARS.split()), 5, "env output")
        api = child_vars(r, "api")
        worker = child_vars(r, "worker")[0]
        check(api[0]["PORT"] == "8080" and api[1]["PORT"] == "8081",
              "api copies get PORT and PORT+1: %s" % api)
        check(worker["PORT"] is None, "worker has no PORT: %s" % worker)
        check(api[1]["ROSTER_APP"] == "shop" and api[1]["ROSTER_ROLE"] == "api" and
              api[1]["ROSTER_INSTANCE"] == "1", "ROSTER_* set: %s" % api[1])
        check(worker["NOTIFY_SOCKET"] is None, "roster's own NOTIFY_SOCKET is not passed on")
        r.stop()


def test_env_precedence_and_env_files():
    cfg = """
env_file: top.env
env: {BAZ: from-top-env, QUX: from-top-env}
roles:
  r:
    command: [@CHILD@, env, FOO, BAR, BAZ, QUX, ONLYFILE]
    env_file: role.env
    env: {QUX: from-role-env}
"""
    files = {
        "top.env": "FOO=from-top-file\nBAR=from-top-file\nexport ONLYFILE='quoted # kept'\n",
        "role.env": "FOO=from-role-file\nBAZ=from-role-file\n",
    }
    with Roster(cfg, env={"BAR": "from-process"}, extra_files=files) as r:
        v = wait_for(lambda: (child_vars(r, "r").get(0) or {}).get("ONLYFILE") and
                     child_vars(r, "r")[0], 5, "env output")
        check(v["FOO"] == "from-top-file", "top env_file read before role env_file: %s" % v)
        check(v["BAR"] == "from-process", "env files never override the environment: %s" % v)
        check(v["BAZ"] == "from-top-env", "env: beats env files: %s" % v)
        check(v["QUX"] == "from-role-env", "role env beats top env: %s" % v)
        check(v["ONLYFILE"] == "quoted # kept", "dotenv quoting: %s" % v)
        r.stop()


def test_cwd_and_stdin():
    cfg = """
roles:
  r:
    command: [sh, -c, "pwd; cat; echo stdin-done"]
    cwd: "@DIR@"
    restart: never
"""
    with Roster(cfg) as r:
        r.wait_line("stdin-done")
        msgs = [x["msg"] for x in r.records() if x.get("role") == "r"]
        check(msgs[0] == r.dir, "cwd honoured: %s" % msgs)
        check(msgs[1] == "stdin-done", "stdin is /dev/null (cat ends at once): %s" % msgs)
        r.stop()


def test_user_when_root():
    if os.geteuid() != 0:
        print("  skipped: not root")
        return
    cfg = """
roles:
  r:
    command: [sh, -c, "echo uid=$(id -u) gid=$(id -g)"]
    user: nobody
    restart: never
"""
    with Roster(cfg) as r:
        m = r.wait_line(r"uid=(\d+) gid=(\d+)")
        import pwd
        nobody = pwd.getpwnam("nobody")
        check(int(m.group(1)) == nobody.pw_uid and int(m.group(2)) == nobody.pw_gid,
              "ran as nobody: %s" % m.group(0))
        r.stop()


if __name__ == "__main__":
    run(globals())
