"""Every roster config shown in README.md and deploy/README.md (a YAML block with a top-level
roles: key; the others are platform specs) is one `roster check` accepts, so the documentation
cannot show a snippet that fails when pasted (an unquoted ${PORT:-3000} inside a flow mapping once
did)."""
import os
import re

from harness import SRC, check, run, run_roster, tmpdir

DOCS = ["README.md", os.path.join("deploy", "README.md")]
BLOCK = re.compile(r"^( *)```yaml\n(.*?)^\1```", re.S | re.M)
# What the snippets refer to: variables a deployment would set, and files beside the config.
ENV = {"DATABASE_URL": "postgresql://app:secret@127.0.0.1:1/app",
       "REDIS_URL": "redis://127.0.0.1:1", "JOB_SECRET": "whsec_readme"}


def blocks():
    for doc in DOCS:
        path = os.path.join(SRC, doc)
        with open(path) as f:
            text = f.read()
        for m in BLOCK.finditer(text):
            indent = len(m.group(1))
            line = text.count("\n", 0, m.start()) + 1
            body = "\n".join(ln[indent:] for ln in m.group(2).splitlines())
            if not re.search(r"^roles:", body, re.M):
                continue
            yield "%s:%d" % (doc, line), body


def test_every_yaml_block_of_the_readmes_passes_roster_check():
    seen, failures = 0, []
    for where, body in blocks():
        seen += 1
        d = tmpdir()
        open(os.path.join(d, ".env"), "w").close()
        path = os.path.join(d, "roster.yaml")
        with open(path, "w") as f:
            f.write(body + "\n")
        code, out, err = run_roster(["check", "-c", path], env=ENV, cwd=d)
        if code != 0:
            failures.append("%s: roster check exit %d: %s" % (where, code, err.strip()))
    # a sentinel: the pattern must find the blocks the README is known to have
    check(seen >= 2, "found only %d roster configs" % seen)
    check(not failures, "\n".join(failures))


def test_the_block_check_sees_a_broken_block():
    """The check would notice: the README's old invalid snippet fails roster check."""
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("roles:\n  api: {command: node api.js, port: ${PORT:-3000}}\n")
    code, _, err = run_roster(["check", "-c", path], cwd=d)
    check(code == 2 and "YAML syntax error" in err, "got %d %r" % (code, err))


if __name__ == "__main__":
    run(globals())
