#!/usr/bin/env bash
# Packaging benchmark: our write_zip against `zip -r -q -6` on the same tree, in the same run.
#
#   bench/bench_packaging.sh [TREE_DIR]
#
# TREE_DIR is generated (20,000 files, ~300 MB, half text-like, half random) unless it already
# holds files; without it a temporary tree is made and removed afterwards. BUILD_DIR points at
# the CMake build (default: build/ beside bench/). Both tools read the tree from the page cache:
# the tree is read once before timing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir=${BUILD_DIR:-$here/../build}
driver=$build_dir/bench/bench_packaging
if [[ ! -x $driver ]]; then
  echo "bench_packaging.sh: $driver not built (ninja -C $build_dir bench_packaging)" >&2
  exit 2
fi
for tool in zip unzip; do
  command -v "$tool" >/dev/null || { echo "bench_packaging.sh: '$tool' is not installed" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/cicd-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=${1:-$work/tree}
if [[ ! -d $tree ]] || [[ -z $(ls -A "$tree") ]]; then
  "$driver" generate "$tree"
fi
# Warm the page cache so neither side pays for the first read.
find "$tree" -type f -exec cat {} + >/dev/null

# Best of RUNS (default 3) for each side: the machine may be shared, and the fastest run is the
# one least disturbed by others. CPU time (user + sys) is printed too; it is steadier than wall time.
runs=${RUNS:-3}
TIMEFORMAT='%R %U %S'
# Prints "wall cpu" for one run of the command.
measure() {
  local t
  t=$({ time "$@" >/dev/null 2>&1; } 2>&1) || { echo "bench_packaging.sh: '$*' failed" >&2; exit 1; }
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' <<<"$t"
}
best() {  # best wall time (and its cpu) over $runs runs of the command
  local best_wall="" best_cpu="" wall cpu
  for ((i = 0; i < runs; ++i)); do
    rm -f "$work"/*.zip
    read -r wall cpu < <(measure "$@")
    if [[ -z $best_wall ]] || (($(echo "$wall < $best_wall" | bc -l))); then best_wall=$wall best_cpu=$cpu; fi
  done
  echo "$best_wall $best_cpu"
}
zip_tree() { cd "$tree" && zip -r -q -6 "$work/theirs.zip" .; }

read -r theirs theirs_cpu < <(best zip_tree)
size_theirs=$(stat -c %s "$work/theirs.zip")
read -r ours ours_cpu < <(best "$driver" zip "$tree" "$work/ours.zip" --level 6)
size_ours=$(stat -c %s "$work/ours.zip")

if ! unzip -t -qq "$work/ours.zip"; then
  echo "bench_packaging.sh: unzip -t failed on our archive" >&2
  exit 1
fi

LC_ALL=C awk -v a="$ours" -v b="$theirs" -v ca="$ours_cpu" -v cb="$theirs_cpu" -v sa="$size_ours" -v sb="$size_theirs" \
  -v cores="$(nproc)" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "cicd zip: %.2f s, zip -r -q -6: %.2f s, ratio %.1fx\n", a, b, b / a
  printf "  cpu time: %.2f s vs %.2f s; archives: %.1f MB vs %.1f MB; %d cores, load average %s\n",
         ca, cb, sa / 1e6, sb / 1e6, cores, load
}'

# The same through the whole tool: `cbuild run` with artifacts '**/*' of the tree (globbing,
# manifest with sha256 of every file, the zip, the record), against the same zip baseline.
cbuild=$build_dir/tools/cbuild
if [[ -x $cbuild ]]; then
  spec=$work/buildspec.yml
  printf 'version: 0.2\nphases:\n  build:\n    commands:\n      - "true"\nartifacts:\n  files:\n    - "**/*"\n  name: tree\n' >"$spec"
  export CICD_HOME=$work/home
  cbuild_run() { "$cbuild" run -q -s "$tree" -b "$spec" -a "$work/out" --project bench; }
  read -r e2e e2e_cpu < <(best cbuild_run)
  if ! unzip -t -qq "$work/out/artifacts/tree.zip"; then
    echo "bench_packaging.sh: unzip -t failed on cbuild's artifact" >&2
    exit 1
  fi
  LC_ALL=C awk -v a="$e2e" -v b="$theirs" -v ca="$e2e_cpu" 'BEGIN {
    printf "cbuild run (artifacts **/*): %.2f s (cpu %.2f s), zip -r -q -6: %.2f s, ratio %.1fx\n", a, ca, b, b / a
  }'
fi
