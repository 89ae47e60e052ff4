#!/bin/sh
# The whole test suite on a fresh Debian machine: installs what is missing, builds roster twice
# (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test in both:
# unit tests, end-to-end tests of the real binary against real Postgres and Redis servers, the
# demo stack and the deploy/ checks. This is the command CI runs (.ci/run).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
BUILD_DIR=build-asan scripts/build.sh -DROSTER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests (release build)"
(cd build && ctest --output-on-failure -j 2)
echo "== tests (ASan + UBSan build)"
(cd build-asan && ctest --output-on-failure -j 2)
