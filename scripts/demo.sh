#!/usr/bin/env bash
# Quick start: install, build cbuild (only it: the test suite is scripts/test.sh's), and run it on
# the example project (examples/hello).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh cbuild
export CICD_HOME="${CICD_HOME:-$PWD/out/home}"
exec build/tools/cbuild run --source examples/hello --artifacts out/hello "$@"
