#!/usr/bin/env bash
# Quick start: install, build, and run cbuild on the example project (examples/hello).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
export CICD_HOME="${CICD_HOME:-$PWD/out/home}"
exec build/tools/cbuild run --source examples/hello --artifacts out/hello "$@"
