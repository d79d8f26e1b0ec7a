#!/usr/bin/env bash
# The whole test suite built with AddressSanitizer and UndefinedBehaviorSanitizer (CICD_SANITIZE),
# in build-asan/: any memory error, leak or undefined behaviour fails the test that hit it.
# Expects what scripts/setup.sh installs. Extra arguments go to ctest (e.g. -R 'unit: ').
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCICD_SANITIZE=ON \
  -DCICD_BUILD_BENCH=OFF -DCICD_WERROR="$werror" >&2
cmake --build build-asan -j "$(nproc)" >&2
# Children inherit these: the cbuild and cdeploy binaries the CLI tests run are instrumented too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd build-asan
exec ctest --output-on-failure -j "$(nproc)" "$@"
