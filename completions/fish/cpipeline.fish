# fish completion for cpipeline(1).
#
# The verbs, aliases and options below are checked against `cpipeline help-data`
# (the CLI11 tables) by tests/cli/test_docs.cpp: keep the "# verb:" blocks and
# the global options in step with them.  Options that take a value have -r or -x.

# The verb on the command line (first word that is neither an option nor an
# option's value), or nothing.
function __cpipeline_verb
    set -l value_opts --home --store --output --parameter-overrides --value --cli-input-json \
        --pipeline --pipeline-definition --pipeline-name --action-override --name --pipeline-version \
        --variables --client-request-token --max-parallel --token --stage-name --action-name --result \
        --summary --reason --pipeline-execution-id --max-items --filter \
        --execution --format --action --source-revisions --retry-mode --transition-type \
        --target-pipeline-execution-id --repository
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        if contains -- $t $value_opts
            set skip 1
        else if not string match -q -- '-*' $t
            echo $t
            return 0
        end
    end
    return 1
end

function __cpipeline_needs_verb
    not __cpipeline_verb >/dev/null
end

# True when the verb is one of the arguments.
function __cpipeline_using_verb
    set -l verb (__cpipeline_verb)
    or return 1
    contains -- "$verb" $argv
end

# Runs a cpipeline query (text output) against the home and store of the
# command line; silent on any error.
function __cpipeline_query
    set -l tokens (commandline -opc)
    set -l store_args
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --home --store
                set -l next (math $i + 1)
                set -q tokens[$next]; and set -a store_args $tokens[$i] $tokens[$next]
            case '--home=*' '--store=*'
                set -a store_args $tokens[$i]
        end
    end
    command cpipeline $store_args -q $argv 2>/dev/null
end

function __cpipeline_pipelines
    __cpipeline_query list-pipelines | string split -f 1 \t
end

# The pipeline on the line: --name, or --pipeline-name (which chooses a
# template's pipeline in create-pipeline and update-pipeline instead).
function __cpipeline_pipeline
    __cpipeline_using_verb create-pipeline update-pipeline; and return 1
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --name --pipeline-name
                set -l next (math $i + 1)
                set -q tokens[$next]; and echo $tokens[$next]; and return 0
            case '--name=*' '--pipeline-name=*'
                string replace -r -- '^--[a-z-]+=' '' $tokens[$i]
                return 0
        end
    end
    return 1
end

function __cpipeline_executions
    set -l pipeline (__cpipeline_pipeline); or return
    __cpipeline_query list-pipeline-executions --pipeline-name $pipeline | string split -f 1 \t
end

# get-pipeline's text: "  stage NAME" and "    1. ACTION  AWS/...".
function __cpipeline_stages
    set -l pipeline (__cpipeline_pipeline); or return
    __cpipeline_query get-pipeline --name $pipeline | string match -r -g '^  stage (\S+)$'
end

function __cpipeline_actions
    set -l pipeline (__cpipeline_pipeline); or return
    __cpipeline_query get-pipeline --name $pipeline | string match -r -g '^    \d+\. (\S+) '
end

# get-pipeline-state's text: "  ACTION  InProgress  token TOKEN".
function __cpipeline_tokens
    set -l pipeline (__cpipeline_pipeline); or return
    __cpipeline_query get-pipeline-state --name $pipeline | string match -r -g '  token (\S+)$'
end

# The repositories of the home (<home>/repos/NAME.git): the line's --home, else
# $CICD_HOME, else $XDG_DATA_HOME/cicd, else ~/.local/share/cicd.
function __cpipeline_repos
    set -l home $HOME/.local/share/cicd
    if test -n "$CICD_HOME"
        set home $CICD_HOME
    else if test -n "$XDG_DATA_HOME"
        set home $XDG_DATA_HOME/cicd
    end
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --home
                set -l next (math $i + 1)
                set -q tokens[$next]; and set home $tokens[$next]
            case '--home=*'
                set home (string replace -- '--home=' '' $tokens[$i])
        end
    end
    for r in $home/repos/*.git
        test -d $r; and basename $r .git
    end
end

complete -c cpipeline -f

# Verbs.
complete -c cpipeline -n __cpipeline_needs_verb -a validate -d 'Check pipeline definitions'
complete -c cpipeline -n __cpipeline_needs_verb -a create-pipeline -d 'Keep a new pipeline in the home'
complete -c cpipeline -n __cpipeline_needs_verb -a update-pipeline -d 'Replace a pipeline declaration'
complete -c cpipeline -n __cpipeline_needs_verb -a get-pipeline -d 'Show a pipeline'
complete -c cpipeline -n __cpipeline_needs_verb -a list-pipelines -d 'List the pipelines of the home'
complete -c cpipeline -n __cpipeline_needs_verb -a delete-pipeline -d 'Delete a pipeline definition'
complete -c cpipeline -n __cpipeline_needs_verb -a start-pipeline-execution -d 'Run a pipeline until it ends or waits for an approval'
complete -c cpipeline -n __cpipeline_needs_verb -a start -d 'Run a pipeline (alias of start-pipeline-execution)'
complete -c cpipeline -n __cpipeline_needs_verb -a put-approval-result -d 'Answer a waiting approval'
complete -c cpipeline -n __cpipeline_needs_verb -a approve -d 'Approve a waiting approval and carry the execution on'
complete -c cpipeline -n __cpipeline_needs_verb -a reject -d 'Reject a waiting approval'
complete -c cpipeline -n __cpipeline_needs_verb -a stop-pipeline-execution -d 'Stop an execution'
complete -c cpipeline -n __cpipeline_needs_verb -a get-pipeline-execution -d 'Show an execution'
complete -c cpipeline -n __cpipeline_needs_verb -a list-pipeline-executions -d 'List executions, newest first'
complete -c cpipeline -n __cpipeline_needs_verb -a list-action-executions -d 'List the action executions of a pipeline'
complete -c cpipeline -n __cpipeline_needs_verb -a get-pipeline-state -d 'Latest status of each stage and action'
complete -c cpipeline -n __cpipeline_needs_verb -a retry-stage-execution -d 'Run a failed stage of the latest execution again'
complete -c cpipeline -n __cpipeline_needs_verb -a disable-stage-transition -d 'Hold executions before a stage'
complete -c cpipeline -n __cpipeline_needs_verb -a enable-stage-transition -d 'Let executions into a stage again'
complete -c cpipeline -n __cpipeline_needs_verb -a rollback-stage -d 'Run a stage again with an earlier execution artifacts (V2)'
complete -c cpipeline -n __cpipeline_needs_verb -a poll -d 'For cron: repair, time out, continue, start changed pipelines'
complete -c cpipeline -n __cpipeline_needs_verb -a install-hook -d 'Install a post-receive hook that starts pipelines on push'
complete -c cpipeline -n __cpipeline_needs_verb -a notify-push -d 'What the hook runs: start the pipelines a push starts'
complete -c cpipeline -n __cpipeline_needs_verb -a show -d 'Draw a pipeline with its latest status'
complete -c cpipeline -n __cpipeline_needs_verb -a plan -d 'What a start would run; nothing runs'
complete -c cpipeline -n __cpipeline_needs_verb -a logs -d 'Print the logs of an execution'

# global options
complete -c cpipeline -s h -l help -d 'Print help and exit'
complete -c cpipeline -l home -x -a '(__fish_complete_directories)' -d 'Home directory for definitions'
complete -c cpipeline -l store -x -a '(__fish_complete_directories)' -d 'Store for records and blobs'
complete -c cpipeline -l output -x -a 'text json' -d 'Output format on stdout'
complete -c cpipeline -s q -l quiet -d 'Print only errors and the result'
complete -c cpipeline -s v -l verbose -d 'Print more detail'
complete -c cpipeline -l no-color -d 'Never color the output'
complete -c cpipeline -l version -d 'Print the version and exit'
# end global options

# verb: validate
complete -c cpipeline -n '__cpipeline_using_verb validate' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb validate' -l parameter-overrides -x -d 'Template parameters: KEY=VALUE'
complete -c cpipeline -n '__cpipeline_using_verb validate' -l value -x -d 'A value only AWS knows: NAME=VALUE'
complete -c cpipeline -n '__cpipeline_using_verb validate' -F
# verb: create-pipeline
complete -c cpipeline -n '__cpipeline_using_verb create-pipeline' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb create-pipeline' -l cli-input-json -x -d 'create-pipeline input: JSON or file://PATH'
complete -c cpipeline -n '__cpipeline_using_verb create-pipeline' -l pipeline -x -d 'The declaration: JSON or file://PATH'
complete -c cpipeline -n '__cpipeline_using_verb create-pipeline' -l pipeline-definition -r -F -d 'A definition file (YAML, JSON, template)'
complete -c cpipeline -n '__cpipeline_using_verb create-pipeline' -l pipeline-name -x -d 'Which pipeline of a template'
complete -c cpipeline -n '__cpipeline_using_verb create-pipeline' -l action-override -x -d 'A local command: ACTION=COMMAND'
complete -c cpipeline -n '__cpipeline_using_verb create-pipeline' -l parameter-overrides -x -d 'Template parameters: KEY=VALUE'
complete -c cpipeline -n '__cpipeline_using_verb create-pipeline' -l value -x -d 'A value only AWS knows: NAME=VALUE'
# verb: update-pipeline
complete -c cpipeline -n '__cpipeline_using_verb update-pipeline' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb update-pipeline' -l cli-input-json -x -d 'create-pipeline input: JSON or file://PATH'
complete -c cpipeline -n '__cpipeline_using_verb update-pipeline' -l pipeline -x -d 'The declaration: JSON or file://PATH'
complete -c cpipeline -n '__cpipeline_using_verb update-pipeline' -l pipeline-definition -r -F -d 'A definition file (YAML, JSON, template)'
complete -c cpipeline -n '__cpipeline_using_verb update-pipeline' -l pipeline-name -x -d 'Which pipeline of a template'
complete -c cpipeline -n '__cpipeline_using_verb update-pipeline' -l action-override -x -d 'A local command: ACTION=COMMAND'
complete -c cpipeline -n '__cpipeline_using_verb update-pipeline' -l parameter-overrides -x -d 'Template parameters: KEY=VALUE'
complete -c cpipeline -n '__cpipeline_using_verb update-pipeline' -l value -x -d 'A value only AWS knows: NAME=VALUE'
# verb: get-pipeline
complete -c cpipeline -n '__cpipeline_using_verb get-pipeline' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb get-pipeline' -l name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb get-pipeline' -l pipeline-version -x -d 'Only if it is at this version'
# verb: list-pipelines
complete -c cpipeline -n '__cpipeline_using_verb list-pipelines' -s h -l help -d 'Print help and exit'
# verb: delete-pipeline
complete -c cpipeline -n '__cpipeline_using_verb delete-pipeline' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb delete-pipeline' -l name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
# verb: start-pipeline-execution start
complete -c cpipeline -n '__cpipeline_using_verb start-pipeline-execution start' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb start-pipeline-execution start' -l name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb start-pipeline-execution start' -l variables -x -d 'Pipeline variables: name=N,value=V'
complete -c cpipeline -n '__cpipeline_using_verb start-pipeline-execution start' -l client-request-token -x -d 'Accepted'
complete -c cpipeline -n '__cpipeline_using_verb start-pipeline-execution start' -l max-parallel -x -d 'Actions of one runOrder group at once (1-64)'
complete -c cpipeline -n '__cpipeline_using_verb start-pipeline-execution start' -l source-revisions -x -a 'actionName=' -d 'actionName=A,revisionType=COMMIT_ID,revisionValue=SHA'
complete -c cpipeline -n '__cpipeline_using_verb start-pipeline-execution start' -l no-wait -d 'Go on in the background; exit 0'
# verb: put-approval-result
complete -c cpipeline -n '__cpipeline_using_verb put-approval-result' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb put-approval-result' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb put-approval-result' -l token -x -a '(__cpipeline_tokens)' -d 'The waiting approval token'
complete -c cpipeline -n '__cpipeline_using_verb put-approval-result' -l stage-name -x -a '(__cpipeline_stages)' -d 'The approval stage'
complete -c cpipeline -n '__cpipeline_using_verb put-approval-result' -l action-name -x -a '(__cpipeline_actions)' -d 'The approval action'
complete -c cpipeline -n '__cpipeline_using_verb put-approval-result' -l result -x -a 'status=Approved status=Rejected' -d 'summary=TEXT,status=Approved|Rejected'
complete -c cpipeline -n '__cpipeline_using_verb put-approval-result' -l max-parallel -x -d 'Actions of one runOrder group at once (1-64)'
complete -c cpipeline -n '__cpipeline_using_verb put-approval-result' -l no-wait -d 'Approved: the execution goes on in the background; exit 0'
# verb: approve
complete -c cpipeline -n '__cpipeline_using_verb approve' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb approve' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb approve' -l token -x -a '(__cpipeline_tokens)' -d 'The waiting approval token'
complete -c cpipeline -n '__cpipeline_using_verb approve' -l stage-name -x -a '(__cpipeline_stages)' -d 'The approval stage'
complete -c cpipeline -n '__cpipeline_using_verb approve' -l action-name -x -a '(__cpipeline_actions)' -d 'The approval action'
complete -c cpipeline -n '__cpipeline_using_verb approve' -l summary -x -d 'Why'
complete -c cpipeline -n '__cpipeline_using_verb approve' -l max-parallel -x -d 'Actions of one runOrder group at once (1-64)'
complete -c cpipeline -n '__cpipeline_using_verb approve' -l no-wait -d 'Approved: the execution goes on in the background; exit 0'
# verb: reject
complete -c cpipeline -n '__cpipeline_using_verb reject' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb reject' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb reject' -l token -x -a '(__cpipeline_tokens)' -d 'The waiting approval token'
complete -c cpipeline -n '__cpipeline_using_verb reject' -l stage-name -x -a '(__cpipeline_stages)' -d 'The approval stage'
complete -c cpipeline -n '__cpipeline_using_verb reject' -l action-name -x -a '(__cpipeline_actions)' -d 'The approval action'
complete -c cpipeline -n '__cpipeline_using_verb reject' -l summary -x -d 'Why'
complete -c cpipeline -n '__cpipeline_using_verb reject' -l max-parallel -x -d 'Actions of one runOrder group at once (1-64)'
complete -c cpipeline -n '__cpipeline_using_verb reject' -l no-wait -d 'Approved: the execution goes on in the background; exit 0'
# verb: stop-pipeline-execution
complete -c cpipeline -n '__cpipeline_using_verb stop-pipeline-execution' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb stop-pipeline-execution' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb stop-pipeline-execution' -l pipeline-execution-id -x -a '(__cpipeline_executions)' -d 'Execution id'
complete -c cpipeline -n '__cpipeline_using_verb stop-pipeline-execution' -l abandon -d 'Stop the running actions too'
complete -c cpipeline -n '__cpipeline_using_verb stop-pipeline-execution' -l reason -x -d 'Why'
# verb: get-pipeline-execution
complete -c cpipeline -n '__cpipeline_using_verb get-pipeline-execution' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb get-pipeline-execution' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb get-pipeline-execution' -l pipeline-execution-id -x -a '(__cpipeline_executions)' -d 'Execution id'
# verb: list-pipeline-executions
complete -c cpipeline -n '__cpipeline_using_verb list-pipeline-executions' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb list-pipeline-executions' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb list-pipeline-executions' -l max-items -x -d 'At most this many'
# verb: list-action-executions
complete -c cpipeline -n '__cpipeline_using_verb list-action-executions' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb list-action-executions' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb list-action-executions' -l filter -x -a 'pipelineExecutionId=' -d 'pipelineExecutionId=ID'
# verb: get-pipeline-state
complete -c cpipeline -n '__cpipeline_using_verb get-pipeline-state' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb get-pipeline-state' -l name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
# verb: retry-stage-execution
complete -c cpipeline -n '__cpipeline_using_verb retry-stage-execution' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb retry-stage-execution' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb retry-stage-execution' -l stage-name -x -a '(__cpipeline_stages)' -d 'The stage that failed'
complete -c cpipeline -n '__cpipeline_using_verb retry-stage-execution' -l pipeline-execution-id -x -a '(__cpipeline_executions)' -d 'The latest execution to reach the stage'
complete -c cpipeline -n '__cpipeline_using_verb retry-stage-execution' -l retry-mode -x -a 'FAILED_ACTIONS ALL_ACTIONS' -d 'Which actions run again'
complete -c cpipeline -n '__cpipeline_using_verb retry-stage-execution' -l max-parallel -x -d 'Actions of one runOrder group at once (1-64)'
complete -c cpipeline -n '__cpipeline_using_verb retry-stage-execution' -l no-wait -d 'Go on in the background; exit 0'
# verb: disable-stage-transition
complete -c cpipeline -n '__cpipeline_using_verb disable-stage-transition' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb disable-stage-transition' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb disable-stage-transition' -l stage-name -x -a '(__cpipeline_stages)' -d 'Stage'
complete -c cpipeline -n '__cpipeline_using_verb disable-stage-transition' -l transition-type -x -a 'Inbound Outbound' -d 'Into the stage (default) or out of it'
complete -c cpipeline -n '__cpipeline_using_verb disable-stage-transition' -l reason -x -d 'Why'
# verb: enable-stage-transition
complete -c cpipeline -n '__cpipeline_using_verb enable-stage-transition' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb enable-stage-transition' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb enable-stage-transition' -l stage-name -x -a '(__cpipeline_stages)' -d 'Stage'
complete -c cpipeline -n '__cpipeline_using_verb enable-stage-transition' -l transition-type -x -a 'Inbound Outbound' -d 'Into the stage (default) or out of it'
complete -c cpipeline -n '__cpipeline_using_verb enable-stage-transition' -l max-parallel -x -d 'Actions of one runOrder group at once (1-64)'
complete -c cpipeline -n '__cpipeline_using_verb enable-stage-transition' -l no-wait -d 'Go on in the background; exit 0'
# verb: rollback-stage
complete -c cpipeline -n '__cpipeline_using_verb rollback-stage' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb rollback-stage' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb rollback-stage' -l stage-name -x -a '(__cpipeline_stages)' -d 'The stage to roll back'
complete -c cpipeline -n '__cpipeline_using_verb rollback-stage' -l target-pipeline-execution-id -x -a '(__cpipeline_executions)' -d 'An execution that succeeded in the stage'
complete -c cpipeline -n '__cpipeline_using_verb rollback-stage' -l max-parallel -x -d 'Actions of one runOrder group at once (1-64)'
complete -c cpipeline -n '__cpipeline_using_verb rollback-stage' -l no-wait -d 'Go on in the background; exit 0'
# verb: poll
complete -c cpipeline -n '__cpipeline_using_verb poll' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb poll' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Only this pipeline'
# verb: install-hook
complete -c cpipeline -n '__cpipeline_using_verb install-hook' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb install-hook' -a '(__cpipeline_repos)'
# verb: notify-push
complete -c cpipeline -n '__cpipeline_using_verb notify-push' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb notify-push' -l repository -x -a '(__cpipeline_repos)' -d 'The repository pushed to'
# verb: show
complete -c cpipeline -n '__cpipeline_using_verb show' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb show' -l execution -x -d 'This execution instead of the latest'
complete -c cpipeline -n '__cpipeline_using_verb show' -l format -x -a 'text dot' -d 'Drawing format'
complete -c cpipeline -n '__cpipeline_using_verb show' -a '(__cpipeline_pipelines)'
# verb: plan
complete -c cpipeline -n '__cpipeline_using_verb plan' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb plan' -l variables -x -d 'name=N,value=V'
complete -c cpipeline -n '__cpipeline_using_verb plan' -a '(__cpipeline_pipelines)'
# verb: logs
complete -c cpipeline -n '__cpipeline_using_verb logs' -s h -l help -d 'Print help and exit'
complete -c cpipeline -n '__cpipeline_using_verb logs' -l pipeline-name -x -a '(__cpipeline_pipelines)' -d 'Pipeline'
complete -c cpipeline -n '__cpipeline_using_verb logs' -l action -x -a '(__cpipeline_actions)' -d 'Only this action'
complete -c cpipeline -n '__cpipeline_using_verb logs' -s f -l follow -d 'Keep printing until the execution ends'
# end verbs
