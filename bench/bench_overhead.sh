#!/usr/bin/env bash
# Orchestration overhead: a buildspec of 4 phases x 5 trivial commands run by `cbuild run`,
# against one bash script running the same 20 commands, in the same run.
#
#   bench/bench_overhead.sh            (RUNS=30 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cbuild=${CBUILD:-$here/../build/tools/cbuild}
[[ -x $cbuild ]] || { echo "bench_overhead.sh: $cbuild not built" >&2; exit 2; }
runs=${RUNS:-30}

work=$(mktemp -d "${TMPDIR:-/tmp}/cicd-overhead.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
{
  echo "version: 0.2"
  echo "phases:"
  for phase in install pre_build build post_build; do
    echo "  $phase:"
    echo "    commands:"
    for i in 1 2 3 4 5; do echo "      - echo $phase $i > /dev/null"; done
  done
} >"$work/src/buildspec.yml"
{
  echo "#!/bin/bash"
  for phase in install pre_build build post_build; do
    for i in 1 2 3 4 5; do echo "echo $phase $i > /dev/null"; done
  done
} >"$work/script.sh"
export CICD_HOME=$work/home

# Mean wall time in ms over $runs runs (after 3 warm-up runs).
mean_ms() {
  local start end total=0
  for ((i = 0; i < 3; ++i)); do "$@" >/dev/null 2>&1; done
  for ((i = 0; i < runs; ++i)); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "bench_overhead.sh: '$*' failed" >&2; exit 1; }
    end=$(date +%s%N)
    total=$((total + end - start))
  done
  echo $((total / runs / 1000))  # microseconds
}
bash_us=$(mean_ms bash "$work/script.sh")
cbuild_us=$(mean_ms "$cbuild" run -q -s "$work/src" -a "$work/out")
LC_ALL=C awk -v a="$cbuild_us" -v b="$bash_us" -v runs="$runs" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "cbuild run (4 phases x 5 commands): %.1f ms, bash script (20 commands): %.1f ms\n", a / 1000, b / 1000
  printf "  overhead above bash: %.1f ms (goal: under 15 ms), ratio %.1fx; mean of %d runs, load average %s\n",
         (a - b) / 1000, a / b, runs, load
}'
