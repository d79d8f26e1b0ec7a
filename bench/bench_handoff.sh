#!/usr/bin/env bash
# Hand-off: a 1 GB, 10,000-file artifact made by a build action and read by the next action, against
# `cp -a` of the same tree, in the same run. The pipeline: an S3 source (a 1-file tree), a Commands
# build that writes the artifact (files: **/*), then a deploy action that only reads it (a Lambda
# invoke run by its local command, `find "$CPIPELINE_INPUT_DIR" -type f | wc -l`).
# The hand-off is what the engine spends between the two: from the build action's end (its output
# renamed into the execution's artifacts) to the reader's start (its input located where the build
# left it), read from list-action-executions' times. The reader's own run is shown too: it reads the
# files in place, so it copies nothing either.
#
#   bench/bench_handoff.sh            (SIZE_MB=1024 FILES=10000 RUNS=3: best of 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build_dir=${BUILD_DIR:-$here/../build}
cpipeline=$build_dir/tools/cpipeline
driver=$build_dir/bench/bench_packaging
for f in "$cpipeline" "$driver"; do [[ -x $f ]] || { echo "bench_handoff.sh: $f not built" >&2; exit 2; }; done
size_mb=${SIZE_MB:-1024}
files=${FILES:-10000}
runs=${RUNS:-3}

work=$(mktemp -d "${TMPDIR:-/tmp}/cicd-handoff.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CICD_HOME=$work/home
mkdir -p "$CICD_HOME/store/buckets/src/app"
echo source >"$CICD_HOME/store/buckets/src/app/README"
"$driver" generate "$work/tree" --files "$files" --bytes $((size_mb << 20)) --big 0 2>/dev/null
find "$work/tree" -type f -exec cat {} + >/dev/null  # page cache warm for everyone

cat >"$work/pipeline.yml" <<YAML
name: handoff
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: src, S3ObjectKey: app}
        outputArtifacts: [{name: Code}]
  - name: Build
    actions:
      - name: Make
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["mkdir -p out && cp -al $work/tree/. out/"]
        inputArtifacts: [{name: Code}]
        outputArtifacts: [{name: Site, files: ["out/**/*"]}]
  - name: Deploy
    actions:
      - name: Read
        actionTypeId: {category: Invoke, owner: AWS, provider: Lambda, version: "1"}
        configuration: {FunctionName: count}
        inputArtifacts: [{name: Site}]
YAML
"$cpipeline" create-pipeline -q --pipeline-definition "$work/pipeline.yml" \
  --action-override 'Read=find "$CPIPELINE_INPUT_DIR" -type f | wc -l > /dev/null'

ms_between() { echo "($(date -d "$2" +%s%N) - $(date -d "$1" +%s%N)) / 1000000" | bc; }
best_handoff="" best_read="" best_total=""
for ((i = 0; i < runs; ++i)); do
  start=$(date +%s%N)
  "$cpipeline" -q start --name handoff >/dev/null
  total=$((($(date +%s%N) - start) / 1000000))
  actions=$("$cpipeline" list-action-executions --pipeline-name handoff --output json)
  id=$("$cpipeline" list-pipeline-executions --pipeline-name handoff --max-items 1 | cut -f1)
  pick() {
    jq -r --arg id "$id" --arg a "$1" --arg f "$2" \
      '.actionExecutionDetails[] | select(.pipelineExecutionId == $id and .actionName == $a) | .[$f]' <<<"$actions"
  }
  handoff=$(ms_between "$(pick Make lastUpdateTime)" "$(pick Read startTime)")
  read_ms=$(ms_between "$(pick Read startTime)" "$(pick Read lastUpdateTime)")
  [[ -z $best_handoff || $handoff -lt $best_handoff ]] && best_handoff=$handoff
  [[ -z $best_read || $read_ms -lt $best_read ]] && best_read=$read_ms
  [[ -z $best_total || $total -lt $best_total ]] && best_total=$total
done

TIMEFORMAT='%R'
best_cp=""
for ((i = 0; i < runs; ++i)); do
  t=$({ time cp -a "$work/tree" "$work/copy$i"; } 2>&1)
  ms=$(echo "$t * 1000 / 1" | bc)
  [[ -z $best_cp || $ms -lt $best_cp ]] && best_cp=$ms
done

printf 'artifact: %d files, %d MB\n' "$files" "$size_mb"
printf 'hand-off (build end -> reader start): %6d ms\n' "$best_handoff"
printf 'reader (finds every file, in place):  %6d ms\n' "$best_read"
printf 'whole execution:                      %6d ms\n' "$best_total"
printf 'cp -a of the same tree:               %6d ms\n' "$best_cp"
printf 'hand-off / cp -a: %.3f (goal: well under 1)\n' "$(echo "($best_handoff + 0.0001) / $best_cp" | bc -l)"
