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

now() { date +%s.%N; }

ours=$("$driver" zip "$tree" "$work/ours.zip" --level 6)

start=$(now)
(cd "$tree" && zip -r -q -6 "$work/theirs.zip" .)
theirs=$(echo "$(now) - $start" | bc -l)

if ! unzip -t -qq "$work/ours.zip"; then
  echo "bench_packaging.sh: unzip -t failed on our archive" >&2
  exit 1
fi

size_ours=$(stat -c %s "$work/ours.zip")
size_theirs=$(stat -c %s "$work/theirs.zip")
LC_ALL=C awk -v a="$ours" -v b="$theirs" -v sa="$size_ours" -v sb="$size_theirs" 'BEGIN {
  printf "cicd zip: %.2f s, zip -r -q -6: %.2f s, ratio %.1fx (archives: %.1f MB vs %.1f MB)\n",
         a, b, b / a, sa / 1e6, sb / 1e6
}'
