#!/bin/sh
# Builds the portable package and the npm packages (scripts/package.sh --npm), then tests them
# where users put them (tests/e2e/test_package.py): in fresh Debian 11, 12 and 13 roots made with
# debootstrap (roster version, a Procfile run, /health, a Postgres budget read, rediss://), and
# installed from the npm tarballs into a Node project in a Debian 12 root with Debian's node and
# npm (npx roster "npm:dev:*", npm run dev:all, roster --role worker as a run command).
#   scripts/test-package.sh            package, then test
#   scripts/test-package.sh --no-build test what dist/ holds
# Needs root and, on the first run, deb.debian.org (the roots are cached in
# ROSTER_PACKAGE_CACHE, default /var/cache/roster-package). The host needs postgresql,
# redis-server (with TLS, as Debian's is) and openssl: scripts/install-deps.sh --test.
set -eu
cd "$(dirname "$0")/.."
build=1
for arg in "$@"; do
    case "$arg" in
    --no-build) build=0 ;;
    *) echo "test-package.sh: unknown option '$arg' (expected --no-build)" >&2; exit 2 ;;
    esac
done
# The test roots are made (once) while the package builds: both mostly wait on the mirror.
python3 tests/e2e/test_package.py --make-roots &
roots=$!
if [ "$build" = 1 ] && ! sh scripts/package.sh --npm; then
    wait "$roots" || true
    exit 1
fi
wait "$roots"
ROSTER_PACKAGE_TEST=1 ROSTER_SRC=$(pwd) exec python3 tests/e2e/test_package.py
