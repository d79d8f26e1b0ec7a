#!/usr/bin/env bash
# Fleet overhead: a 10-file revision with `true` hooks deployed by cdeploy to 20 local instances
# (AllAtOnce, then OneAtATime), against a bash loop doing the same copies and hook runs, in the
# same run.
#
#   bench/bench_fleet.sh            (RUNS=3: best of 3 for each)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cdeploy=${CDEPLOY:-$here/../build/tools/cdeploy}
[[ -x $cdeploy ]] || { echo "bench_fleet.sh: $cdeploy not built" >&2; exit 2; }
runs=${RUNS:-3}
instances=20

work=$(mktemp -d "${TMPDIR:-/tmp}/cicd-fleet.XXXXXX")
trap 'rm -rf "$work"' EXIT
rev=$work/rev
mkdir -p "$rev/site" "$rev/hooks"
for i in $(seq 10); do head -c 4096 /dev/urandom | base64 >"$rev/site/file$i.txt"; done
for h in stop before after start validate; do printf '#!/bin/sh\ntrue\n' >"$rev/hooks/$h.sh"; done
chmod +x "$rev"/hooks/*.sh
cat >"$rev/appspec.yml" <<'YML'
version: 0.0
os: linux
files:
  - source: site
    destination: /srv/app
hooks:
  ApplicationStop:
    - location: hooks/stop.sh
  BeforeInstall:
    - location: hooks/before.sh
  AfterInstall:
    - location: hooks/after.sh
  ApplicationStart:
    - location: hooks/start.sh
  ValidateService:
    - location: hooks/validate.sh
YML

export CICD_HOME=$work/home
"$cdeploy" -q create-application --application-name bench
names=()
for i in $(seq $instances); do
  "$cdeploy" -q register-on-premises-instance --instance-name "i$i" --root "$work/hosts/i$i"
  names+=("i$i")
done
"$cdeploy" -q add-tags-to-on-premises-instances --instance-names "${names[@]}" --tags Key=Bench,Value=1
for config in AllAtOnce OneAtATime; do
  "$cdeploy" -q create-deployment-group --application-name bench --deployment-group-name "$config" \
    --on-premises-instance-tag-filters Key=Bench,Value=1 --deployment-config-name "CodeDeployDefault.$config"
done
# The baseline: for each instance, the hooks of the previous revision (stop), copy the files, run
# the four other hooks.
cat >"$work/loop.sh" <<'SH'
#!/bin/bash
rev=$1; hosts=$2
for i in $(seq 20); do
  root=$hosts/i$i
  "$rev/hooks/stop.sh"
  mkdir -p "$root/srv/app"
  "$rev/hooks/before.sh"
  cp -a "$rev/site/." "$root/srv/app/"
  "$rev/hooks/after.sh"; "$rev/hooks/start.sh"; "$rev/hooks/validate.sh"
done
SH
chmod +x "$work/loop.sh"

TIMEFORMAT='%R'
best() {
  local best="" t
  for ((i = 0; i < runs; ++i)); do
    t=$({ time "$@" >/dev/null 2>&1; } 2>&1) || { echo "bench_fleet.sh: '$*' failed" >&2; exit 1; }
    if [[ -z $best ]] || (($(echo "$t < $best" | bc -l))); then best=$t; fi
  done
  echo "$best"
}
# Both groups hold the same instances: the other group's files are there, so OVERWRITE.
deploy() { "$cdeploy" -q create-deployment --application-name bench --deployment-group-name "$1" --revision "$rev" --file-exists-behavior OVERWRITE; }
loop=$(best "$work/loop.sh" "$rev" "$work/loop-hosts")
all=$(best deploy AllAtOnce)
one=$(best deploy OneAtATime)
LC_ALL=C awk -v l="$loop" -v a="$all" -v o="$one" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "bash loop (20 instances, copies and 5 hooks each): %.2f s\n", l
  printf "cdeploy AllAtOnce: %.2f s (ratio %.2fx), OneAtATime: %.2f s (ratio %.2fx); goal within 1.5x; load average %s\n",
         a, a / l, o, o / l, load
}'
