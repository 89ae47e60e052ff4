"""Config size limits (issue 10 item 4): alias bombs and deep nesting fail fast, with an error
naming the limit and little memory; a large config within the limits loads quickly.

Each case runs `roster check` as a child and reads that child's own rusage (os.wait4), so the
figures printed are roster's alone. Before the limits, the 35 KB bomb took 7-25 s and up to
277 MB, and 40,000-deep nesting 3.8 s; the deadlines here are generous for a loaded machine."""
import os
import re
import subprocess
import time

from harness import ROSTER, check, run, tmpdir

DEADLINE = 5.0           # seconds; well under 0.1 s on an idle machine
RSS_LIMIT_KB = 64 * 1024


def env_bomb(nvars, nroles):
    """An env of nvars anchored once and given to nroles roles: each alias stands for it all."""
    lines = ["app: bomb", "x-env: &e"] + ["  VARIABLE_%d: value-%d" % (i, i) for i in range(nvars)]
    lines += ["roles:"] + ["  r%d: {command: x, env: *e}" % i for i in range(nroles)]
    return "\n".join(lines) + "\n"


def laughs(levels, width, pad):
    """Billion laughs: each anchored list holds width aliases to the one before."""
    lines = ["app: bomb", "x-lol:", "  l0: &l0 [%s]" % ",".join(["lol" * pad] * width)]
    for l in range(1, levels):
        lines.append("  l%d: &l%d [%s]" % (l, l, ",".join(["*l%d" % (l - 1)] * width)))
    lines += ["roles:", "  web: {command: x, env_file: *l%d}" % (levels - 1)]
    return "\n".join(lines) + "\n"


def nested(depth):
    return "app: deep\nx-deep: %s%s\nroles:\n  web: {command: x}\n" % ("[" * depth, "]" * depth)


def sized(make, target):
    """The text make(n) for the smallest n whose size reaches target bytes."""
    n = 1
    while len(make(n)) < target:
        n *= 2
    lo, hi = n // 2, n
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if len(make(mid)) < target:
            lo = mid
        else:
            hi = mid
    return make(hi)


def check_config(text):
    """Runs roster check on text; returns (exit code, stderr, seconds, max RSS in KB)."""
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write(text)
    t0 = time.monotonic()
    p = subprocess.Popen([ROSTER, "check", "-c", path], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    elapsed = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err, elapsed, ru.ru_maxrss, len(text), path


def expect_limit(name, text, pattern):
    code, err, secs, rss, size, path = check_config(text)
    print("  %-28s %6.1f KB: exit %d in %.3f s, max RSS %.1f MB" % (name, size / 1024, code, secs,
                                                                      rss / 1024.0), flush=True)
    first = err.splitlines()[0] if err else ""
    check(code == 2, "%s: exit %d, stderr %r" % (name, code, err[:300]))
    check(re.fullmatch(re.escape(path) + r":\d+:\d+: " + pattern, first),
          "%s: the error names the limit at its place: %r" % (name, first))
    check(secs < DEADLINE, "%s: took %.2f s (deadline %.0f s)" % (name, secs, DEADLINE))
    check(rss < RSS_LIMIT_KB, "%s: max RSS %.1f MB (limit 64 MB)" % (name, rss / 1024.0))


ALIASES = r"alias \*\w+ takes the config's aliases past 100000 nodes, roster's limit .*"


def test_alias_bombs_fail_fast():
    expect_limit("env alias bomb, 35 KB", sized(lambda n: env_bomb(n, n // 2), 35 * 1024), ALIASES)
    expect_limit("env alias bomb, 72 KB", sized(lambda n: env_bomb(n, n // 2), 72 * 1024), ALIASES)
    expect_limit("billion laughs, 35 KB", sized(lambda p: laughs(9, 9, p), 35 * 1024), ALIASES)
    expect_limit("billion laughs, 72 KB", sized(lambda p: laughs(9, 9, p), 72 * 1024), ALIASES)


def test_deep_nesting_fails_fast():
    expect_limit("40,000-deep nesting", nested(40000),
                 r"lists and mappings nest deeper than 64 levels, roster's limit")


def test_many_roles_within_the_limits_load_quickly():
    """1,000 roles (the limit), each with a port, an env, a probe and dependencies."""
    lines = ["app: many", "roles:"]
    for i in range(1000):
        deps = ", ".join("r%d" % j for j in range(max(0, i - 3), i))
        lines += ["  r%d:" % i, "    command: sleep 1000", "    port: %d" % (10000 + i),
                  "    depends_on: [%s]" % deps, "    env: {A: b, C: d}",
                  "    ready: {tcp: 'localhost:$${PORT}'}".replace("$$", "$")]
    code, err, secs, rss, size, path = check_config("\n".join(lines) + "\n")
    print("  1,000 roles, %.1f KB: exit %d in %.3f s, max RSS %.1f MB" % (size / 1024, code, secs,
                                                                         rss / 1024.0))
    check(code == 0, "1,000 roles: exit %d %s" % (code, err[:300]))
    check(secs < DEADLINE, "1,000 roles took %.2f s" % secs)
    lines.insert(2, "  one-too-many: {command: x}")
    code, err, secs, rss, size, path = check_config("\n".join(lines) + "\n")
    check(code == 2 and re.search(r":\d+:3: more than 1000 roles, roster's limit", err),
          "1,001 roles: exit %d %s" % (code, err[:300]))


if __name__ == "__main__":
    run(globals())
