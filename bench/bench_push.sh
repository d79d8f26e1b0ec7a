#!/usr/bin/env bash
# Push to recorded execution: what the post-receive hook `cpipeline install-hook` installs adds to
# a `git push` (it records the execution and hands it to a background process before it returns).
# Baseline: the same pushes to a twin repository without the hook, in the same run. Goal: under
# 50 ms added per push.
#
#   bench/bench_push.sh            (RUNS=10 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cpipeline=${CPIPELINE:-$here/../build/tools/cpipeline}
[[ -x $cpipeline ]] || { echo "bench_push.sh: $cpipeline not built" >&2; exit 2; }
runs=${RUNS:-10}

work=$(mktemp -d "${TMPDIR:-/tmp}/cicd-push-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CICD_HOME=$work/home
for repo in hooked plain; do
  git init -q --bare -b main "$CICD_HOME/repos/$repo.git"
  git clone -q "$CICD_HOME/repos/$repo.git" "$work/$repo" 2>/dev/null
  git -C "$work/$repo" config user.name bench
  git -C "$work/$repo" config user.email bench@example.invalid
done
# The pipeline the hook starts: its one action is `true`, so the background executions end fast.
cat >"$work/pipeline.yml" <<'YAML'
name: pushed
stages:
  - name: Source
    actions:
      - name: Checkout
        actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
        configuration: {RepositoryName: hooked, BranchName: main}
        outputArtifacts: [{name: Code}]
  - name: Check
    actions:
      - name: Nothing
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["true"]
        inputArtifacts: [{name: Code}]
YAML
"$cpipeline" create-pipeline -q --pipeline-definition "$work/pipeline.yml"
"$cpipeline" install-hook -q hooked

# Mean wall time of a commit + push, in microseconds, over $runs pushes (after one warm-up).
push_us() {
  local repo=$1 start end total=0
  for ((i = 0; i <= runs; ++i)); do
    echo "$i" >"$work/$repo/n.txt"
    git -C "$work/$repo" add n.txt
    git -C "$work/$repo" commit -qm "push $i"
    start=$(date +%s%N)
    git -C "$work/$repo" push -q origin main 2>/dev/null
    end=$(date +%s%N)
    ((i == 0)) || total=$((total + (end - start) / 1000))
    sleep 0.3  # let the background execution finish: measure the push, not contention
  done
  echo $((total / runs))
}

plain=$(push_us plain)
hooked=$(push_us hooked)
recorded=$("$cpipeline" list-pipeline-executions --pipeline-name pushed | wc -l)
added=$(( (hooked - plain) ))
printf 'git push without the hook:   %6.1f ms\n' "$(echo "$plain / 1000" | bc -l)"
printf 'git push with the hook:      %6.1f ms\n' "$(echo "$hooked / 1000" | bc -l)"
printf 'added by the hook:           %6.1f ms per push (goal: under 50 ms); ratio %.2f\n' \
  "$(echo "$added / 1000" | bc -l)" "$(echo "$hooked / $plain" | bc -l)"
printf 'executions recorded:         %d of %d pushes\n' "$recorded" "$((runs + 1))"
