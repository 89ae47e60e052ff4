#!/bin/sh
# Builds roster with CMake. The same script runs in CI (scripts/test.sh) and in the Dockerfile's
# build stage. BUILD_DIR (default build) names the build directory; arguments go to cmake.
#   scripts/build.sh                                   release build with tests, in build/
#   BUILD_DIR=build-asan scripts/build.sh -DROSTER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
set -eu
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
cmake -S . -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)"
echo "built $dir/roster"
