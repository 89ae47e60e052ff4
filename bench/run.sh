#!/bin/sh
# bench/run.sh — runs roster's benchmark suite against concurrently, pm2-runtime, supervisord,
# s6-svscan and foreman in one go, prints figures and "roster ÷ tool" ratios measured in the same
# run, and writes bench/results/latest.json (and latest.md, the tables in Markdown).
#
#   bench/run.sh                      everything, default repetitions (12–18 minutes)
#   bench/run.sh --runs 3 --flood-runs 2 --crash-runs 2 --health-runs 1     quicker
#   bench/run.sh --tools roster,s6 --scenarios flood         a subset
#   bench/run.sh --help                                      all options of bench.py
#
# Installs what is missing, from Debian's apt (supervisor, s6, ruby-foreman, nodejs/npm, python3,
# wrk for the health scenario, and roster's build dependencies) and from npm into
# bench/node_modules (concurrently, pm2); builds roster if build/roster or build/tests/rtest-child
# is missing. Needs root (or sudo) only when something has to be installed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        echo "run.sh: apt-get update" >&2
        $SUDO apt-get update -qq
        apt_updated=1
    fi
    echo "run.sh: apt-get install $*" >&2
    # policy-rc.d keeps the supervisor package's postinst from starting a system-wide supervisord
    # where there is an init system; the benchmark starts its own, with its own config.
    prc=""
    if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" = 0 ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        prc=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" \
        >/dev/null || { [ -z "$prc" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
    [ -z "$prc" ] || rm -f /usr/sbin/policy-rc.d
}

# Debian packages: command -> package
missing=""
for pair in supervisord:supervisor s6-svscan:s6 foreman:ruby-foreman node:nodejs npm:npm \
    python3:python3 ps:procps wrk:wrk; do
    cmd=${pair%%:*}
    pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
# shellcheck disable=SC2086
[ -z "$missing" ] || apt_install $missing

# roster and the test helper
if [ ! -x "$repo/build/roster" ] || [ ! -x "$repo/build/tests/rtest-child" ]; then
    echo "run.sh: building roster" >&2
    "$repo/scripts/install-deps.sh"
    cmake -S "$repo" -B "$repo/build" >/dev/null
    cmake --build "$repo/build" -j2 >/dev/null
fi

# npm tools, into bench/node_modules (versions pinned by bench/package.json ranges)
if [ ! -x "$here/node_modules/.bin/concurrently" ] || [ ! -x "$here/node_modules/.bin/pm2-runtime" ]; then
    echo "run.sh: npm install (concurrently, pm2) into bench/node_modules" >&2
    (cd "$here" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

# Debian's own python3 when there is one (the harness uses the standard library only).
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

mkdir -p "$here/results"
# The harness bounds every step itself; this is a last resort against a hang.
exec timeout --foreground --kill-after=30 7200 "$py" "$here/bench.py" "$@"
