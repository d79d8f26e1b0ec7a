#!/usr/bin/env bash
# Install throughput: a revision of 10,000 files / 200 MB deployed by cdeploy to one local
# instance, against `cp -a` and `rsync -a` of the same tree into an empty directory, in the same
# run. cdeploy's time is the whole create-deployment: packing the bundle into the store,
# DownloadBundle, Install, the records.
#
#   bench/bench_install.sh            (RUNS=3: best of 3 for each)
#
# Install hard-links the files nothing changes (see cdeploy(1), --no-hard-links); NO_LINKS=1 times
# the all-copies path instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build_dir=${BUILD_DIR:-$here/../build}
cdeploy=$build_dir/tools/cdeploy
driver=$build_dir/bench/bench_packaging
for f in "$cdeploy" "$driver"; do [[ -x $f ]] || { echo "bench_install.sh: $f not built" >&2; exit 2; }; done
runs=${RUNS:-3}

work=$(mktemp -d "${TMPDIR:-/tmp}/cicd-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
rev=$work/rev
"$driver" generate "$rev/site" --files 10000 --bytes $((200 << 20)) --big 0 2>/dev/null
printf 'version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: /srv/app\n' >"$rev/appspec.yml"
find "$rev" -type f -exec cat {} + >/dev/null  # page cache warm for everyone

export CICD_HOME=$work/home
"$cdeploy" -q create-application --application-name bench
"$cdeploy" -q register-on-premises-instance --instance-name one --root "$work/host"
"$cdeploy" -q add-tags-to-on-premises-instances --instance-names one --tags Key=Bench,Value=1
"$cdeploy" -q create-deployment-group --application-name bench --deployment-group-name g \
  --on-premises-instance-tag-filters Key=Bench,Value=1 --deployment-config-name CodeDeployDefault.AllAtOnce

TIMEFORMAT='%R'
# Nothing is deleted while timing: ext4 steers new inodes away from recently freed ones (for up to
# five minutes), which makes file creation after a big rm -rf several times slower for whoever
# runs next. Each run writes to a fresh place; old trees move to a trash directory, removed at the end.
trash=$work/trash
mkdir -p "$trash"
n=0
aside() { [[ -e $1 ]] && mv "$1" "$trash/$((n++))" || true; }
timed() {  # wall time of one run of "$@"
  local t
  sync
  t=$({ time "$@" >/dev/null 2>&1; } 2>&1) || { echo "bench_install.sh: '$*' failed" >&2; exit 1; }
  echo "$t"
}
min() { if [[ -z $1 ]] || (($(echo "$2 < $1" | bc -l))); then echo "$2"; else echo "$1"; fi; }
deploy() {
  "$cdeploy" -q create-deployment --application-name bench --deployment-group-name g --revision "$rev" \
    --file-exists-behavior OVERWRITE ${NO_LINKS:+--no-hard-links}
}

ours="" cp_time="" rsync_time=""
for ((i = 0; i < runs; ++i)); do  # interleaved, so that each sees the same disk
  aside "$work/host/srv"
  ours=$(min "$ours" "$(timed deploy)")
  aside "$work/copy"
  cp_time=$(min "$cp_time" "$(timed cp -a "$rev/site" "$work/copy")")
  if command -v rsync >/dev/null; then
    aside "$work/copy"
    rsync_time=$(min "$rsync_time" "$(timed rsync -a "$rev/site/" "$work/copy/")")
  fi
done
cmp -s <(cd "$rev/site" && find . -type f -exec sha256sum {} + | sort) \
       <(cd "$work/host/srv/app" && find . -type f -exec sha256sum {} + | sort) ||
  { echo "bench_install.sh: the installed tree differs from the revision" >&2; exit 1; }
LC_ALL=C awk -v a="$ours" -v c="$cp_time" -v r="$rsync_time" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "cdeploy create-deployment (10,000 files, 200 MB, 1 local instance): %.2f s\n", a
  printf "  cp -a: %.2f s (ratio %.2fx)", c, a / c
  if (r != "") printf ", rsync -a: %.2f s (ratio %.2fx)", r, a / r
  printf "; best of runs, load average %s\n", load
}'
