#!/bin/sh
# Runs one libFuzzer harness for a bounded time, as ctest's fuzz_NAME tests do:
#   fuzz/run.sh HARNESS CORPUS_DIR FINDINGS_DIR
# The committed corpus is copied to a temporary directory first, so what the run discovers never
# grows the repository. ROSTER_FUZZ_SECONDS (default 20) is how long it fuzzes. A finding (crash,
# sanitizer report, failed oracle, leak, an input taking over 5 s, more than 512 MB) makes it exit
# non-zero; the input is kept in FINDINGS_DIR (crash-..., leak-..., timeout-...) to replay with
# `HARNESS FILE`.
set -eu
harness=$1 corpus=$2 findings=$3
seconds=${ROSTER_FUZZ_SECONDS:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/roster-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$findings" "$work/corpus"
if [ -d "$corpus" ]; then cp -R "$corpus"/. "$work/corpus/"; fi
name=$(basename "$harness")
echo "$name: fuzzing for ${seconds}s from $(ls "$work/corpus" | wc -l) corpus files"
rc=0
"$harness" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=512 -print_final_stats=1 \
    -artifact_prefix="$findings/$name-" "$work/corpus" >"$work/log" 2>&1 || rc=$?
# libFuzzer's progress lines are many; the end holds the finding, its input and the stats.
tail -n 80 "$work/log"
if [ "$rc" != 0 ]; then echo "$name: FINDING (exit $rc); input kept in $findings/" >&2; fi
exit "$rc"
