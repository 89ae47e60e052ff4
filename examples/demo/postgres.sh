#!/bin/sh
# The demo's Postgres, run as a roster role: initdb into $DEMO_DIR/pg on the first run (and again
# when a first run was interrupted before it finished), then the server in the foreground on a
# loopback, non-default port. roster starts it as an unprivileged user when it runs as root
# (user: in config/demo.yaml), since initdb and postgres refuse root.
set -eu
: "${DEMO_DIR:?DEMO_DIR must be set}" "${DEMO_PG_PORT:?DEMO_PG_PORT must be set}"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "postgres is not installed (scripts/install-deps.sh --demo)" >&2; exit 1; }
pg="$DEMO_DIR/pg"
mkdir -p "$pg"
if [ ! -f "$pg/initialized" ]; then
    echo "first run: creating the database cluster in $pg/data"
    rm -rf "$pg/data"
    "$bindir/initdb" -D "$pg/data" -U demo -A trust -E UTF8 --no-locale --no-sync >/dev/null
    touch "$pg/initialized"
else
    echo "reusing the database cluster in $pg/data"
fi
# max_connections 25, like DigitalOcean's 1 GB managed database: roster shares it out.
exec "$bindir/postgres" -D "$pg/data" -p "$DEMO_PG_PORT" -k "$pg" \
    -c listen_addresses=127.0.0.1 -c max_connections=25 -c shared_buffers=32MB \
    -c log_min_messages=warning -c log_line_prefix=''
