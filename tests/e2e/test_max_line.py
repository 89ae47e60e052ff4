"""log.max_line: App Platform forwards log lines of up to 2 KiB, so a longer line of a child's
output comes out as several, none longer than max_line with its prefix and newline, each with
the prefix, cut between UTF-8 characters (multi-byte characters sit at every cut point), and
together the child's line; in JSON every piece after the first says "continued": true."""
import json
import sys

from harness import Roster, check, run

MAX = 2048

# é (2 bytes), € (3) and 😀 (4) after runs of ASCII of every length mod 4: whatever the prefix,
# cuts at 2 KiB steps land inside multi-byte characters
WRITER = r"""
import sys
n = int(sys.argv[1])
parts, i = [], 0
while sum(map(len, parts)) < n:
    parts.append("x" * (i % 4) + "\u00e9\u20ac\U0001F600" + "\"q\"" * (i % 2))
    i += 1
line = "".join(parts)[:n]
open(sys.argv[2], "w", encoding="utf-8").write(line)
sys.stdout.buffer.write(line.encode() + b"\n")
sys.stdout.flush()
"""

CFG = """
log: {max_line: 2KiB}
roles:
  long:
    kind: oneshot
    command: [%s, @DIR@/writer.py, "%d", @DIR@/sent.txt]
"""


def pieces(json_logs, chars):
    """Runs the writer under roster; returns (the line sent, the raw output lines of role long)."""
    with Roster(CFG % (sys.executable, chars), json_logs=json_logs, stdout_file=True,
                extra_files={"writer.py": WRITER}) as r:
        code = r.wait_exit(timeout=60)
        check(code == 0, "roster exits 0, not %r\n%s" % (code, r.tail()))
        with open(r.out_path, "rb") as f:
            raw = f.read()
        with open(r.dir + "/sent.txt", encoding="utf-8") as f:
            sent = f.read()
    lines = raw.split(b"\n")
    check(lines[-1] == b"", "output ends with a newline")
    over = [len(l) + 1 for l in lines[:-1] if len(l) + 1 > MAX]
    check(not over, "no written line is longer than %d bytes: %r" % (MAX, over))
    if json_logs:
        mine = [l for l in lines[:-1] if json.loads(l).get("role") == "long"]
    else:
        mine = [l for l in lines[:-1] if l.startswith(b"long ")]
    return sent, mine


def test_text_pieces_carry_the_prefix_and_cut_between_characters():
    for chars in (10 * 1024, 100 * 1024):  # the second is longer than the line reader holds
        sent, mine = pieces(False, chars)
        check(len(sent.encode()) > chars, "the line has multi-byte characters")
        check(len(mine) >= len(sent.encode()) // MAX + 1, "%d pieces" % len(mine))
        # the reader cuts at what the prefix leaves: full pieces, no short remainders between
        # them (a cut backs off at most 3 bytes to a character's start)
        short = [len(l) + 1 for l in mine[:-1] if len(l) + 1 < MAX - 3]
        check(not short, "every piece but the last is full: %r" % short)
        text = []
        for l in mine:
            check(l.startswith(b"long   | "), "every piece has the prefix: %r" % l[:20])
            # strict decoding: a cut inside a character fails here
            text.append(l[len(b"long   | "):].decode("utf-8"))
        check("".join(text) == sent, "the pieces together are the line (%d of %d chars)"
              % (len("".join(text)), len(sent)))


def test_json_pieces_say_they_continue():
    for chars in (10 * 1024, 100 * 1024):
        sent, mine = pieces(True, chars)
        recs = [json.loads(l) for l in mine]
        check(len(recs) >= len(sent.encode()) // MAX + 1, "%d pieces" % len(recs))
        check("continued" not in recs[0], "the first piece is not a continuation: %r"
              % {k: v for k, v in recs[0].items() if k != "msg"})
        check(all(r.get("continued") is True for r in recs[1:]),
              "every later piece says continued: true")
        check(all("\ufffd" not in r["msg"] for r in recs), "no character was cut")
        check("".join(r["msg"] for r in recs) == sent, "the pieces together are the line")


if __name__ == "__main__":
    run(globals())
