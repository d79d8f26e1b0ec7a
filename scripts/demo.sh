#!/usr/bin/env bash
# Quick start: install, build the three tools (only them: the test suite is scripts/test.sh's), and
# run the whole chain on the example project (examples/hello): a repository, a build project, an
# application with two local instances, a pipeline Source -> Build -> Approval -> Deploy; a push
# starts it, the approval is answered, the deployment runs. Everything lives under out/demo (made
# afresh on each run); nothing is written outside it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh cbuild cdeploy cpipeline

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

root="$PWD"
demo="$root/out/demo"
rm -rf "$demo"
mkdir -p "$demo"
export CICD_HOME="$demo/home"
unset CICD_STORE  # the store is the home's: out/demo/home/store
export NO_COLOR=1  # readable in a log too
tools="$root/build/tools"
cbuild() { "$tools/cbuild" "$@"; }
cdeploy() { "$tools/cdeploy" "$@"; }
cpipeline() { "$tools/cpipeline" "$@"; }

# ---- a. The example project in a repository of the home (the layout ccommit uses) ----
step "a. repository: $CICD_HOME/repos/hello.git, a clone in out/demo/work holding examples/hello"
repo="$CICD_HOME/repos/hello.git"
work="$demo/work"
git init -q --bare -b main "$repo"
git clone -q "$repo" "$work" 2>/dev/null  # "you appear to have cloned an empty repository"
cp -R examples/hello/. "$work/"
rm -rf "$work/build" "$work/reports"  # outputs of an earlier `cbuild run` there, if any
git -C "$work" config user.name "cicd demo"
git -C "$work" config user.email "demo@example.invalid"
git -C "$work" add -A
git -C "$work" commit -q -m "hello: the example project"
echo "committed $(git -C "$work" rev-parse --short HEAD) in out/demo/work (not pushed yet)" >&2

# ---- b. A build project as AWS sets one up for a pipeline ----
step "b. build project hello-build (source and artifacts from the pipeline: type CODEPIPELINE)"
cbuild -q create-project --name hello-build --description "builds hello for the pipeline" \
  --source type=CODEPIPELINE --artifacts type=CODEPIPELINE \
  --environment type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL >/dev/null

# ---- c. An application, two local instances (each under its own root), a deployment group ----
step "c. application hello, instances web1 and web2 (roots out/demo/hosts/web1, web2), group prod"
cdeploy -q create-application --application-name hello >/dev/null
for name in web1 web2; do
  cdeploy -q register-on-premises-instance --instance-name "$name" --root "$demo/hosts/$name" >/dev/null
done
cdeploy -q add-tags-to-on-premises-instances --instance-names web1 web2 --tags Key=Env,Value=Prod >/dev/null
cdeploy -q create-deployment-group --application-name hello --deployment-group-name prod \
  --on-premises-instance-tag-filters Key=Env,Value=Prod,Type=KEY_AND_VALUE \
  --deployment-config-name CodeDeployDefault.OneAtATime >/dev/null

# ---- d. The pipeline ----
step "d. pipeline hello: Source -> Build -> Approval -> Deploy (out/demo/pipeline.yml)"
cat >"$demo/pipeline.yml" <<'EOF'
# get-pipeline's shape, in YAML (man 5 pipeline).
name: hello
stages:
  - name: Source
    actions:
      - name: Source
        actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
        configuration: {RepositoryName: hello, BranchName: main}
        outputArtifacts: [{name: SourceOutput}]
        namespace: SourceVariables
  - name: Build
    actions:
      - name: Build
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
        configuration: {ProjectName: hello-build}
        inputArtifacts: [{name: SourceOutput}]
        outputArtifacts: [{name: BuildOutput}]
        namespace: BuildVariables
  - name: Approval
    actions:
      - name: Approval
        actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
        configuration:
          CustomData: "Deploy hello #{BuildVariables.APP_VERSION} (commit #{SourceVariables.CommitId}) to prod?"
  - name: Deploy
    actions:
      - name: Deploy
        actionTypeId: {category: Deploy, owner: AWS, provider: CodeDeploy, version: "1"}
        configuration: {ApplicationName: hello, DeploymentGroupName: prod}
        inputArtifacts: [{name: BuildOutput}]
EOF
cpipeline -q create-pipeline --pipeline-definition "$demo/pipeline.yml" >/dev/null

# ---- e. A push starts the pipeline ----
step "e. post-receive hook in hello.git (cpipeline install-hook), then git push"
cpipeline install-hook hello >&2
git -C "$work" push -q origin main 2>&1 | sed 's/^/  push: /' >&2

# ---- f. Wait for the approval, then approve: the deployment runs here ----
step "f. waiting for the build and the approval (at most 120 s)"
token=""
state=""
deadline=$((SECONDS + 120))
while ((SECONDS < deadline)); do
  state=$(cpipeline get-pipeline-state --name hello --output json 2>/dev/null) || state='{}' 
  token=$(jq -r '.stageStates[]? | select(.stageName == "Approval") | .actionStates[0].latestExecution
                 | select(.status == "InProgress") | .token // empty' <<<"$state")
  [ -n "$token" ] && break
  failed=$(jq -r '[.stageStates[]?.actionStates[]?.latestExecution | select(.status == "Failed")] | length' <<<"$state")
  if [ "${failed:-0}" != 0 ]; then
    cpipeline show hello >&2 || true
    die "the pipeline failed before the approval (cpipeline logs on its execution says why)"
  fi
  sleep 0.5
done
if [ -z "$token" ]; then
  cpipeline show hello >&2 || true
  die "no approval waiting after 120 s"
fi
question=$(cpipeline list-action-executions --pipeline-name hello --output json |
  jq -r '[.actionExecutionDetails[] | select(.actionName == "Approval")][0].input.resolvedConfiguration.CustomData // empty')
echo "the build succeeded; the approval waits: \"$question\" (token $token)" >&2
step "f. cpipeline approve (the deployment runs in this process)"
rc=0
cpipeline approve --pipeline-name hello --token "$token" --summary "demo: looks good" || rc=$?

# ---- g. The result ----
step "g. the result: cpipeline show hello"
cpipeline show hello
step "g. what the deployment wrote on each instance"
for name in web1 web2; do
  echo "out/demo/hosts/$name/opt/hello:"
  (cd "$demo/hosts/$name/opt/hello" 2>/dev/null && find . -type f -printf '    %P\n' | sort) || echo "    (nothing)"
  [ -f "$demo/hosts/$name/opt/hello/greeting.txt" ] && echo "    greeting.txt: $(cat "$demo/hosts/$name/opt/hello/greeting.txt")"
done
step "g. cpipeline list-pipeline-executions --pipeline-name hello"
cpipeline list-pipeline-executions --pipeline-name hello

status=$(cpipeline list-pipeline-executions --pipeline-name hello --output json |
  jq -r '.pipelineExecutionSummaries[0].status')
[ "$rc" -eq 0 ] && [ "$status" = Succeeded ] || die "the execution ended $status (approve exited $rc)"
for name in web1 web2; do
  [ -s "$demo/hosts/$name/opt/hello/greeting.txt" ] || die "instance $name has no greeting.txt"
done
step "done: pushed, built, approved and deployed to web1 and web2 (everything is under out/demo)"
