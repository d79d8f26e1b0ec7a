#!/usr/bin/env bash
# Install, build, and run the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
cd build
exec ctest --output-on-failure -j "$(nproc)" "$@"
