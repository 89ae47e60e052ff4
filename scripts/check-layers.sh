#!/bin/sh
# Fails when a file includes a header of a layer above its own (or of a sibling layer), so the
# folders keep the shape the CMake libraries enforce at link time. The order, lowest first
# (layers on one line are siblings: neither may include the other):
#   base, os sched, config, plan, log, supervise, checks datastore watch, jobs, serve, roles,
#   cli, main
# (roles sits above serve: the jobs API role serves HTTP with serve/httpd.h; nothing in serve
# includes roles)
# tests/unit/test_X.c may include its own layer and those below it only.
set -eu
cd "$(dirname "$0")/.."

rank() {
    case "$1" in
    base) echo 0 ;; os | sched) echo 1 ;; config) echo 2 ;; plan) echo 3 ;; log) echo 4 ;;
    supervise) echo 5 ;; checks | datastore | watch) echo 6 ;; jobs) echo 7 ;; serve) echo 8 ;;
    roles) echo 9 ;; cli) echo 10 ;; main) echo 11 ;; *) echo "" ;;
    esac
}

bad=0
check_file() { # FILE LAYER: fails when FILE includes a header that is not below LAYER
    f=$1
    own=$2
    r_own=$(rank "$own")
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]*/[a-z_]*\.h"' "$f" |
        sed 's/^\([0-9]*\):.*"\([a-z_]*\)\/[a-z_]*\.h".*/\1 \2/' | {
        rc=0
        while read -r line layer; do
            r=$(rank "$layer")
            if [ -z "$r" ]; then
                echo "$f:$line: includes a header of unknown layer '$layer'"
                rc=1
            elif [ "$layer" != "$own" ] && [ "$r" -ge "$r_own" ]; then
                echo "$f:$line: layer '$own' includes '$layer', which is not below it"
                rc=1
            fi
        done
        exit $rc
    }
}

for f in src/*/*.c src/*/*.h; do
    own=${f#src/}
    own=${own%%/*}
    if [ -z "$(rank "$own")" ]; then
        echo "$f: folder '$own' is not a known layer (add it to scripts/check-layers.sh)"
        bad=1
        continue
    fi
    check_file "$f" "$own" || bad=1
done

# A unit test declares its layer in tests/CMakeLists.txt: unit_test(NAME LAYER).
grep '^unit_test(' tests/CMakeLists.txt | sed 's/unit_test(\([a-z_0-9]*\) \([a-z_]*\))/\1 \2/' |
    while read -r name layer; do
        check_file "tests/unit/test_$name.c" "$layer" || exit 1
    done || bad=1

if [ "$bad" != 0 ]; then
    echo "check-layers: FAILED"
    exit 1
fi
echo "check-layers: every include points down"
