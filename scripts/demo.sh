#!/bin/sh
# The README's first command: installs what is missing (Debian packages), builds roster, and runs
# the demo stack of config/demo.yaml in the foreground: a real Postgres and Redis as roles, a
# locked migration, the example app's api and worker, and roster's built-in scheduler, job worker
# and jobs API. Ctrl-C stops it in order.
# Data lives in ./.demo (reused by the next run). Extra arguments go to roster.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh --demo
sh scripts/build.sh >/dev/null
DEMO_DIR=${DEMO_DIR:-$PWD/.demo}
mkdir -p "$DEMO_DIR/pg"
if [ "$(id -u)" = 0 ]; then
    # initdb and postgres refuse root: the postgres role runs as nobody, and owns its data.
    DEMO_PG_USER=${DEMO_PG_USER:-nobody}
    chown -R "$DEMO_PG_USER" "$DEMO_DIR/pg"
    if ! setpriv --reuid="$DEMO_PG_USER" --regid=nogroup --clear-groups test -w "$DEMO_DIR/pg"; then
        echo "demo: $DEMO_PG_USER cannot reach $DEMO_DIR (a parent directory is private);" \
             "using /var/tmp/roster-demo instead" >&2
        DEMO_DIR=/var/tmp/roster-demo
        mkdir -p "$DEMO_DIR/pg"
        chown -R "$DEMO_PG_USER" "$DEMO_DIR/pg"
    fi
    export DEMO_PG_USER
fi
export DEMO_DIR
# the token as the curl example should say it: the demo's default, or (never printed) yours
token=demo-token
[ -z "${ROSTER_API_TOKEN:-}" ] || token='$ROSTER_API_TOKEN'
echo "demo: health at http://127.0.0.1:${ROSTER_HEALTH_PORT:-59090}/health," \
     "the app's api at http://127.0.0.1:${PORT:-58080} (try: curl -X POST http://127.0.0.1:${PORT:-58080}/jobs)," \
     "the jobs API at http://127.0.0.1:${DEMO_API_PORT:-58081} (try: curl -H \"Authorization: Bearer" \
     "$token\" http://127.0.0.1:${DEMO_API_PORT:-58081}/schedules)"
exec build/roster -c config/demo.yaml "$@"
