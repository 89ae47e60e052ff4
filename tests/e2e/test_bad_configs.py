"""Broken configs: each prints exactly its FILE:LINE:COL error and exits 2."""
import os
import stat

from harness import CHILD, Roster, tmpdir, check, run, run_roster, wait_for

# (name, config text, expected stderr lines). F stands for the config's path.
CASES = [
    ("unknown top key",
     "app: x\nrols:\n  a: {command: x}\n",
     ["F:2:1: unknown key 'rols' in the config (did you mean 'roles'?)",
      "F:1:1: the config has no roles: (add e.g. roles: {web: {command: ...}})"]),
    ("unknown role key",
     "roles:\n  web:\n    comand: node server.js\n",
     ["F:3:5: unknown key 'comand' in a role (did you mean 'command'?)",
      "F:2:3: role 'web' needs a command"]),
    ("unknown key without suggestion",
     "roles:\n  web:\n    command: x\n    flavour: vanilla\n",
     ["F:4:5: unknown key 'flavour' in a role"]),
    ("yaml syntax",
     "roles:\n  web:\n    command: [a, b\n",
     ["F:4:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence"]),
    ("tab indentation",
     "roles:\n\tweb: {command: x}\n",
     ["F:2:1: YAML syntax error: found character that cannot start any token while scanning for the next token"]),
    ("empty file", "", ["F: the config is empty (expected app:, roles: and the rest)"]),
    ("not a mapping", "- a\n- b\n",
     ["F:1:1: the config must be a mapping of keys (app:, roles: ...), not a list"]),
    ("roles is a list", "roles:\n  - web\n",
     ["F:2:3: roles must be a mapping (key: value lines), not a list"]),
    ("empty command", "roles:\n  web:\n    command: \"  \"\n",
     ["F:3:14: command must not be empty"]),
    ("empty command list", "roles:\n  web:\n    command: []\n",
     ["F:3:14: command must not be an empty list"]),
    ("bad kind", "roles:\n  m:\n    command: x\n    kind: once\n",
     ["F:4:11: kind must be service or oneshot, not 'once'"]),
    ("bad restart", "roles:\n  m:\n    command: x\n    restart: sometimes\n",
     ["F:4:14: restart must be always, on-failure or never, not 'sometimes'"]),
    ("duration without unit", "roles:\n  m:\n    command: x\n    stop: {timeout: 10}\n",
     ["F:4:21: stop.timeout: duration needs a unit (ms, s, m, h), e.g. 10s, not '10'"]),
    ("bad duration unit", "shutdown_timeout: 5y\nroles:\n  m: {command: x}\n",
     ["F:1:19: shutdown_timeout: unknown duration unit (use ms, s, m, h or d), not '5y'"]),
    ("size without a unit", "roles:\n  m:\n    command: x\n    max_memory: 10\n",
     ["F:4:17: max_memory: size needs a unit (B, KB, MB, GB, KiB, MiB or GiB), e.g. 10MB, not '10'"]),
    ("bad size", "roles:\n  m:\n    command: x\n    max_memory: 400 potatoes\n",
     ["F:4:17: max_memory: unknown size unit (use B, KB, MB, GB, KiB, MiB or GiB), not '400 potatoes'"]),
    ("bad signal", "roles:\n  m:\n    command: x\n    stop: {signal: TERMINATE}\n",
     ["F:4:20: stop.signal: unknown signal 'TERMINATE' (e.g. TERM, INT, QUIT, HUP, USR1, KILL)"]),
    ("port out of range", "roles:\n  m:\n    command: x\n    port: 70000\n",
     ["F:4:11: port must be between 1 and 65535, not 70000"]),
    ("port not a number", "roles:\n  m:\n    command: x\n    port: http\n",
     ["F:4:11: port must be a whole number, not 'http'"]),
    ("instances zero", "roles:\n  m:\n    command: x\n    instances: 0\n",
     ["F:4:16: instances must be between 1 and 1000, not 0"]),
    ("unset variable", "roles:\n  m:\n    command: x\n    port: ${ROSTER_TEST_UNSET_VAR}\n",
     ["F:4:11: variable ROSTER_TEST_UNSET_VAR is not set (use ${ROSTER_TEST_UNSET_VAR:-default} to give a default)"]),
    ("required variable message", "roles:\n  m:\n    command: \"run ${ROSTER_TEST_UNSET_VAR:?set it in .env}\"\n",
     ["F:3:19: ROSTER_TEST_UNSET_VAR: set it in .env"]),
    ("unterminated reference", "roles:\n  m:\n    command: echo ${HOME\n",
     ["F:3:19: unterminated variable reference (missing '}')"]),
    ("duplicate key", "roles:\n  m:\n    command: x\n    command: y\n",
     ["F:4:5: duplicate key 'command' in a role (first set on line 3)"]),
    ("unknown dependency", "roles:\n  api:\n    command: x\n    depends_on: [migrat]\n  migrate: {command: y, kind: oneshot}\n",
     ["F:4:18: role 'api' depends on unknown role 'migrat' (did you mean 'migrate'?)"]),
    ("completed on a service", "roles:\n  api:\n    command: x\n    depends_on: {db: completed}\n  db: {command: y}\n",
     ["F:4:18: role 'api' waits for 'db' to complete, but 'db' is a service that never completes (use started or ready, or make it kind: oneshot)"]),
    ("dependency cycle", "roles:\n  a:\n    command: x\n    depends_on: [b]\n  b:\n    command: y\n    depends_on: [a]\n",
     ["F:2:3: dependency cycle: a -> b -> a"]),
    ("bad depends condition", "roles:\n  a:\n    command: x\n    depends_on: {b: finished}\n  b: {command: y}\n",
     ["F:4:21: depends_on condition must be started, ready or completed, not 'finished'"]),
    ("reserved role name", "roles:\n  roster:\n    command: x\n",
     ["F:2:3: 'roster' is reserved for roster's own log lines; rename the role"]),
    ("bad role name", "roles:\n  \"my role\":\n    command: x\n",
     ["F:2:3: role name 'my role' must be letters, digits, '-' and '_' (at most 64, starting with a letter or digit)"]),
    ("bad env name", "env:\n  1BAD: x\nroles:\n  a: {command: x}\n",
     ["F:2:3: '1BAD' is not a valid environment variable name"]),
    ("bad log format", "log: {format: xml}\nroles:\n  a: {command: x}\n",
     ["F:1:15: log.format must be text or json, not 'xml'"]),
    ("give_up then", "roles:\n  a:\n    command: x\n    give_up: {then: panic}\n",
     ["F:4:21: give_up.then must be exit, stay or continue, not 'panic'"]),
    ("missing env_file", "env_file: missing.env\nroles:\n  a: {command: x}\n",
     ["F:1:11: env_file: cannot read 'D/missing.env': No such file or directory"]),
    ("command is a mapping", "roles:\n  a:\n    command: {run: x}\n",
     ["F:3:14: command must be a value, not a mapping"]),
    ("backoff initial over max", "roles:\n  a:\n    command: x\n    backoff: {initial: 1m, max: 10s}\n",
     ["F:4:14: backoff.initial must not exceed backoff.max"]),
    ("lock on a service", "roles:\n  a:\n    command: x\n    lock: postgres\n",
     ["F:2:3: role 'a': lock: postgres is for oneshot roles (kind: oneshot)"]),
    ("shared port", "roles:\n  a: {command: x, port: 3000, instances: 2}\n  b: {command: x, port: 3001}\n",
     ["F:3:25: role 'b' (port 3001) and role 'a' (ports 3000-3001, at F:2:25) would share port 3001"]),
    ("missing cwd", "roles:\n  m:\n    command: x\n    cwd: nope\n",
     ["F:4:10: role 'm': cwd 'D/nope' does not exist"]),
]


def test_broken_configs_print_exact_errors():
    d = tmpdir()
    failures = []
    for i, (name, text, expected) in enumerate(CASES):
        path = os.path.join(d, "case%02d.yaml" % i)
        with open(path, "w") as f:
            f.write(text)
        code, out, err = run_roster(["check", "-c", path])
        want = [e.replace("F:", path + ":").replace("F: ", path + ": ").replace("D/", d + "/")
                for e in expected]
        got = err.rstrip("\n").split("\n") if err else []
        if code != 2 or got != want:
            failures.append("%s: exit %d\n  got:  %s\n  want: %s" % (name, code, got, want))
    check(len(CASES) >= 20, "at least twenty broken configs")
    check(not failures, "\n".join(failures))


def test_paths_are_checked_for_the_roles_that_run_here():
    """Issue 10 item 13: a missing cwd is an error for check and run alike; a command not
    found on the role's PATH is a note (a build role may create it); roles not selected run
    elsewhere and are not checked."""
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    api = "  api: {command: [%s, sleep, '1000'], cwd: gone}" % CHILD
    with open(path, "w") as f:
        f.write("roles:\n"
                "  web: {command: no-such-program-here --flag, env: {PATH: /usr/bin:/bin}}\n"
                + api + "\n")
    code, out, err = run_roster(["check", "-c", path, "--role", "web"])
    note = ("note: role web: command no-such-program-here is not found on its PATH "
            "(/usr/bin:/bin); the role fails to start unless it is there by then")
    check(code == 0 and note in out.split("\n"), "exit %d\n%s%s" % (code, out, err))
    want = "%s:3:%d: role 'api': cwd '%s/gone' does not exist" % (path, api.index("gone") + 1, d)
    for cmd in (["check"], ["run", "--log-format", "json"]):
        code, out, err = run_roster(cmd + ["-c", path], timeout=20)
        check(code == 2 and want in err.split("\n"), "%s: exit %d\n%s%s" % (cmd, code, out, err))
    os.mkdir(os.path.join(d, "gone"))
    code, out, err = run_roster(["check", "-c", path])
    check(code == 0 and note in out.split("\n"), "exit %d\n%s%s" % (code, out, err))


def test_errors_in_an_env_file_name_that_file():
    d = tmpdir()
    with open(os.path.join(d, "bad.env"), "w") as f:
        f.write("GOOD=1\nthis is not an assignment\n")
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("env_file: bad.env\nroles:\n  a: {command: x}\n")
    code, out, err = run_roster(["check", "-c", path])
    check(code == 2, "exit 2")
    check(err.strip() == "%s/bad.env:2:6: invalid character in variable name (expected KEY=VALUE)" % d,
          "got %r" % err)


def test_unreadable_env_files_say_why():
    """A read error names the errno's words (never an empty syntax error): a directory where
    the file should be (EISDIR), a file that is not there (ENOENT), for each way in."""
    d = tmpdir()
    os.mkdir(os.path.join(d, "adir.env"))
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("env_file: adir.env\nroles:\n  a:\n    command: x\n"
                "    env_file: [{path: gone.env, required: true}]\n")
    code, out, err = run_roster(["check", "-c", path, "--env-file", os.path.join(d, "adir.env")])
    want = ["%s/adir.env: --env-file: cannot read: Is a directory" % d,
            "%s:1:11: env_file: cannot read '%s/adir.env': Is a directory" % (path, d),
            "%s:5:23: env_file: cannot read '%s/gone.env': No such file or directory" % (path, d)]
    check(code == 2 and err.rstrip("\n").split("\n") == want,
          "exit %d\n  got:  %r\n  want: %r" % (code, err, want))

    # the .env beside a Procfile
    p = tmpdir()
    os.mkdir(os.path.join(p, ".env"))
    with open(os.path.join(p, "Procfile"), "w") as f:
        f.write("web: x\n")
    code, out, err = run_roster(["check", "--procfile", os.path.join(p, "Procfile")])
    want = "%s/.env: cannot read: Is a directory" % p
    check(code == 2 and err.strip() == want, "exit %d\n  got:  %r\n  want: %r" % (code, err, want))


SOCKET_MAX = 107  # sun_path less its NUL, on Linux


def deep_dir(total, name):
    """A new directory whose path, with "/" + name after it, is total bytes long."""
    d = tmpdir()
    rest = total - len(d) - 1 - len(name)  # what the directories below d add, "/" and a name each
    check(rest == 0 or rest >= 2, "no directory adds %d bytes" % rest)
    while rest > 0:
        part = min(rest - 1, 60)
        if rest - (part + 1) == 1:  # never leave one byte over: no directory is that short
            part -= 1
        d = os.path.join(d, "d" * part)
        rest -= part + 1
    os.makedirs(d)
    check(len(os.path.join(d, name)) == total, "deep_dir made %d bytes" % len(os.path.join(d, name)))
    return d


def test_control_socket_is_measured_with_the_config_directory():
    for total in (130, SOCKET_MAX + 1):
        d = deep_dir(total, "ctl.sock")
        path = os.path.join(d, "roster.yaml")
        with open(path, "w") as f:
            f.write("app: x\ncontrol: {socket: ctl.sock}\nroles:\n  a: {command: x}\n")
        code, out, err = run_roster(["check", "-c", path])
        want = ("%s:2:19: control.socket: '%s/ctl.sock' is %d bytes, longer than the 107 a unix "
                "socket allows" % (path, d, total))
        check(code == 2 and err.strip() == want, "exit %d\n  got:  %r\n  want: %r" % (code, err, want))


def test_control_socket_of_the_longest_path_is_served_there():
    d = deep_dir(SOCKET_MAX, "ctl.sock")
    sock = os.path.join(d, "ctl.sock")
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("app: x\ncontrol: {socket: ctl.sock}\nroles:\n"
                "  a: {command: [@CHILD@, sleep, \"1000\"]}\n".replace("@CHILD@", CHILD))
    with Roster(args=["-c", path]) as r:
        r.wait_event("started", "a")
        wait_for(lambda: os.path.exists(sock) and stat.S_ISSOCK(os.lstat(sock).st_mode), 10,
                 "the socket at the whole %d-byte path" % len(sock))
        code, out, err = run_roster(["status", "--socket", sock])
        check(code == 0 and "a" in out, "status over %s: exit %d %s" % (sock, code, out + err))
        r.stop()


if __name__ == "__main__":
    run(globals())
