#!/usr/bin/env bash
# Pipeline orchestration overhead: a 3-stage pipeline (an S3 source, then two Compute/Commands
# actions running `true`) run by `cpipeline start`, against a bash script running `true` three
# times, in the same run. What it measures: the execution record, stage holders, variables,
# artifact hand-offs and a build of the build engine per Commands action.
#
#   bench/bench_pipeline.sh            (RUNS=10 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cpipeline=${CPIPELINE:-$here/../build/tools/cpipeline}
[[ -x $cpipeline ]] || { echo "bench_pipeline.sh: $cpipeline not built" >&2; exit 2; }
runs=${RUNS:-10}

work=$(mktemp -d "${TMPDIR:-/tmp}/cicd-pipeline-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CICD_HOME=$work/home
mkdir -p "$CICD_HOME/store/buckets/src/app"
echo "hello" >"$CICD_HOME/store/buckets/src/app/index.html"
cat >"$work/pipeline.yml" <<'YAML'
name: bench
pipelineType: V2
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: src, S3ObjectKey: app}
        outputArtifacts: [{name: Code}]
  - name: One
    actions:
      - name: A
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["true"]
        inputArtifacts: [{name: Code}]
  - name: Two
    actions:
      - name: B
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["true"]
        inputArtifacts: [{name: Code}]
YAML
"$cpipeline" create-pipeline -q --pipeline-definition "$work/pipeline.yml"
printf '#!/bin/bash\ntrue\ntrue\ntrue\n' >"$work/script.sh"

# Mean wall time in microseconds over $runs runs (after 2 warm-up runs).
mean_us() {
  local start end total=0
  for ((i = 0; i < 2; ++i)); do "$@" >/dev/null 2>&1; done
  for ((i = 0; i < runs; ++i)); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "bench_pipeline.sh: '$*' failed" >&2; exit 1; }
    end=$(date +%s%N)
    total=$((total + end - start))
  done
  echo $((total / runs / 1000))
}
bash_us=$(mean_us bash "$work/script.sh")
pipeline_us=$(mean_us "$cpipeline" start -q --name bench)
LC_ALL=C awk -v a="$pipeline_us" -v b="$bash_us" -v runs="$runs" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "cpipeline start (3 stages: S3 source, 2 Commands actions): %.1f ms, bash script (3 commands): %.1f ms\n", a / 1000, b / 1000
  printf "  overhead above bash: %.1f ms (goal: under 100 ms), ratio %.1fx; mean of %d runs, load average %s\n",
         (a - b) / 1000, a / b, runs, load
}'
