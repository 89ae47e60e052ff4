#!/bin/sh
# The whole test suite on a fresh Debian machine: installs what is missing, builds roster twice
# (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test in both:
# unit tests, end-to-end tests of the real binary against real Postgres and Redis servers, the
# demo stack and the deploy/ checks; then builds the fuzzers with clang (build-fuzz) and runs each
# for a bounded time. This is the command CI runs (.ci/run).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
BUILD_DIR=build-asan scripts/build.sh -DROSTER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests (release build)"
(cd build && ctest --output-on-failure -j 2)
echo "== tests (ASan + UBSan build)"
(cd build-asan && ctest --output-on-failure -j 2)
# A third build, with clang: the libFuzzer harnesses of fuzz/, each run for ROSTER_FUZZ_SECONDS
# (default 20) on a copy of its corpus; a finding fails.
BUILD_DIR=build-fuzz scripts/build.sh -DCMAKE_C_COMPILER=clang -DROSTER_FUZZ=ON -DROSTER_TESTS=OFF
echo "== fuzzing (clang, libFuzzer + ASan + UBSan, ${ROSTER_FUZZ_SECONDS:-20} s per harness)"
(cd build-fuzz && ctest --output-on-failure -j 2 -L fuzz)
# The portable package and the npm packages, tested where users put them: fresh Debian 11, 12
# and 13 roots and a Node project (needs root and deb.debian.org; 7.5 minutes with no cached
# roots, under a minute with them). ROSTER_SKIP_PACKAGE=1 leaves it out; the container images
# (scripts/test-images.sh, about 12 minutes from nothing) run only with ROSTER_IMAGES_TEST=1.
if [ "${ROSTER_SKIP_PACKAGE:-0}" = 1 ]; then
    echo "== package: SKIP (ROSTER_SKIP_PACKAGE=1)"
elif [ "$(id -u)" != 0 ]; then
    echo "== package: SKIP (needs root for debootstrap and chroot)"
else
    echo "== package (portable binary in Debian 11/12/13 roots, npm packages in a Node project)"
    sh scripts/test-package.sh
fi
if [ "${ROSTER_IMAGES_TEST:-0}" = 1 ]; then
    echo "== images (podman)"
    sh scripts/test-images.sh
fi
