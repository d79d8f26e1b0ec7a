#!/usr/bin/env bash
# Install throughput: a revision of 10,000 files / 200 MB deployed by cdeploy to one local
# instance, against `cp -a` and `rsync -a` of the same tree into an empty directory, in the same
# run. Three figures for cdeploy:
#   - the Install step (from the deployment's record): putting the unpacked revision into place,
#     what `cp -a` does;
#   - DownloadBundle + Install: getting the bundle onto the instance, unpacked, and into place;
#   - the whole create-deployment: also checking the revision, packing and hashing the bundle
#     kept in the store for rollbacks, the records.
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
# "DOWNLOAD INSTALL": the two events' durations in seconds, from the latest deployment's record.
event_times() {
  local id
  id=$("$cdeploy" list-deployments --application-name bench --deployment-group-name g | head -n 1 | cut -f1)
  "$cdeploy" get-deployment-instance --deployment-id "$id" --instance-id one --output json |
    LC_ALL=C awk -F'"' '
      function secs(t) { split(substr(t, 12, 12), p, ":"); return p[1] * 3600 + p[2] * 60 + p[3] }
      $2 == "lifecycleEventName" { name = $4 }
      $2 == "startTime" { start[name] = secs($4) }
      $2 == "endTime" { took[name] = secs($4) - start[name] }
      END { printf "%.3f %.3f\n", took["DownloadBundle"], took["Install"] }'
}

ours="" cp_time="" rsync_time="" download="" install=""
for ((i = 0; i < runs; ++i)); do  # interleaved, so that each sees the same disk
  aside "$work/host/srv"
  ours=$(min "$ours" "$(timed deploy)")
  read -r d t < <(event_times)
  download=$(min "$download" "$d")
  install=$(min "$install" "$t")
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
LC_ALL=C awk -v a="$ours" -v d="$download" -v i="$install" -v c="$cp_time" -v r="$rsync_time" \
  -v links="${NO_LINKS:+copies only (--no-hard-links)}" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  if (links == "") links = "hard links where nothing changes the file"
  printf "10,000 files, 200 MB, 1 local instance; Install: %s\n", links
  printf "  cp -a: %.2f s", c
  if (r != "") printf ", rsync -a: %.2f s", r
  printf "\n"
  printf "  cdeploy Install step: %.2f s (%.2fx cp -a)\n", i, i / c
  printf "  cdeploy DownloadBundle + Install: %.2f s (%.2fx cp -a)\n", d + i, (d + i) / c
  printf "  cdeploy create-deployment, all of it: %.2f s (%.2fx cp -a)\n", a, a / c
  printf "  best of each over the runs; load average %s\n", load
}'
