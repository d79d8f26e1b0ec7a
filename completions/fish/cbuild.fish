# fish completion for cbuild(1).
#
# The verbs, aliases and options below are checked against `cbuild help-data`
# (the CLI11 tables) by tests/cli/test_docs.cpp: keep the "# verb:" blocks and
# the global options in step with them.  Options that take a value have -r or -x.

# The verb on the command line (first word that is neither an option nor an
# option's value), or nothing.
function __cbuild_verb
    set -l value_opts --home --store --output -b --buildspec -s --source --source-version -a --artifacts \
        --env --env-file --project --timeout --artifact-packaging --project-name --buildspec-override \
        --environment-variables-override --timeout-in-minutes-override --source-type-override \
        --source-location-override --artifacts-override --name --value --value-file --type \
        --ids --id --wait --report-group --report-arn --status --description --secondary-sources \
        --secondary-source-versions --secondary-artifacts --cache --environment --tags --vpc-config \
        --logs-config --service-role --timeout-in-minutes --queued-timeout-in-minutes --encryption-key \
        --concurrent-build-limit --cli-input-json --names --sort-by --sort-order
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

function __cbuild_needs_verb
    not __cbuild_verb >/dev/null
end

# True when the verb is one of the arguments ("" matches no verb: plain `cbuild`
# runs `run`, so run's options are offered there too).
function __cbuild_using_verb
    set -l verb (__cbuild_verb)
    contains -- "$verb" $argv
end

# Runs a cbuild query against the store of the command line; silent on any error.
function __cbuild_query
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
    command cbuild $store_args $argv 2>/dev/null
end

# Quoted "PROJECT:UUID" strings of a JSON list.
function __cbuild_json_ids
    __cbuild_query -q --output json $argv | string match -r -g '"([^"]+:[^"]+)"'
end

function __cbuild_build_ids
    __cbuild_json_ids list-builds
end

function __cbuild_report_arns
    __cbuild_json_ids list-reports
end

function __cbuild_parameter_names
    __cbuild_query -q list-parameters | string split -f 1 \t
end

function __cbuild_project_names
    __cbuild_query -q list-projects
end

function __cbuild_git_revs
    command git for-each-ref --format='%(refname:short)' refs/heads refs/tags 2>/dev/null
end

complete -c cbuild -f

# Verbs.
complete -c cbuild -n __cbuild_needs_verb -a run -d 'Run a buildspec in a source directory'
complete -c cbuild -n __cbuild_needs_verb -a start-build -d 'Run a buildspec (alias of run)'
complete -c cbuild -n __cbuild_needs_verb -a validate -d 'Check buildspec files'
complete -c cbuild -n __cbuild_needs_verb -a hash-files -d 'Print the SHA-256 of matching files'
complete -c cbuild -n __cbuild_needs_verb -a put-parameter -d 'Store a parameter'
complete -c cbuild -n __cbuild_needs_verb -a get-parameter -d 'Print a parameter value'
complete -c cbuild -n __cbuild_needs_verb -a delete-parameter -d 'Delete a parameter'
complete -c cbuild -n __cbuild_needs_verb -a list-parameters -d 'List parameter names and types'
complete -c cbuild -n __cbuild_needs_verb -a list-builds -d 'List build ids, newest first'
complete -c cbuild -n __cbuild_needs_verb -a batch-get-builds -d 'Print build records'
complete -c cbuild -n __cbuild_needs_verb -a logs -d 'Print the log of a build'
complete -c cbuild -n __cbuild_needs_verb -a stop-build -d 'Stop a running build'
complete -c cbuild -n __cbuild_needs_verb -a list-reports -d 'List report ARNs, newest first'
complete -c cbuild -n __cbuild_needs_verb -a describe-test-cases -d 'Print the cases of a test report'
complete -c cbuild -n __cbuild_needs_verb -a describe-code-coverages -d 'Print the per-file coverage of a report'
complete -c cbuild -n __cbuild_needs_verb -a create-project -d 'Create a build project'
complete -c cbuild -n __cbuild_needs_verb -a update-project -d 'Change a build project'
complete -c cbuild -n __cbuild_needs_verb -a batch-get-projects -d 'Print build projects'
complete -c cbuild -n __cbuild_needs_verb -a list-projects -d 'List build project names'
complete -c cbuild -n __cbuild_needs_verb -a delete-project -d 'Delete a build project'

# global options
complete -c cbuild -s h -l help -d 'Print help and exit'
complete -c cbuild -l home -x -a '(__fish_complete_directories)' -d 'Home directory for definitions'
complete -c cbuild -l store -x -a '(__fish_complete_directories)' -d 'Store for records and blobs'
complete -c cbuild -l output -x -a 'text json' -d 'Output format on stdout'
complete -c cbuild -s q -l quiet -d 'Print only errors and the result'
complete -c cbuild -s v -l verbose -d 'Print more detail'
complete -c cbuild -l no-color -d 'Never color the output'
complete -c cbuild -l version -d 'Print the version and exit'
# end global options

# verb: run start-build
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -s b -l buildspec -r -F -d 'The buildspec'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -s s -l source -x -a '(__fish_complete_directories)' -d 'Source directory the build runs in'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l source-version -x -a '(__cbuild_git_revs)' -d 'Build this commit in a fresh workspace'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -s a -l artifacts -x -a '(__fish_complete_directories)' -d 'Directory for record, log, artifacts, reports'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l env -x -d 'Set a variable NAME=VALUE (repeatable)'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l env-file -r -F -d 'Read NAME=VALUE lines'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l project -x -d 'Project name'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l timeout -x -d 'Build timeout in minutes'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l dry-run -d 'Print the plan, run nothing'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l strict-runtimes -d 'Fail INSTALL when runtime-versions are not met'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l artifact-packaging -x -a 'zip none' -d 'Package artifacts as a zip, or copy them'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l keep-workspace -d 'Keep the exported workspace'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l project-name -x -a '(__cbuild_project_names)' -d 'Run this build project'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l buildspec-override -r -F -d 'Buildspec path in the source, or inline YAML'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l environment-variables-override -x -d 'Variables of this build: name=N,value=V,type=T'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l timeout-in-minutes-override -x -d 'Build timeout, 5 to 2160 minutes'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l source-type-override -x -a 'NO_SOURCE CODEPIPELINE S3 CODECOMMIT GITHUB GITHUB_ENTERPRISE GITLAB GITLAB_SELF_MANAGED BITBUCKET' -d 'Another source type'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l source-location-override -x -d 'Another source location'
complete -c cbuild -n '__cbuild_using_verb "" run start-build' -l artifacts-override -x -d 'Other artifacts settings (structure)'
# verb: validate
complete -c cbuild -n '__cbuild_using_verb validate' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb validate' -F
# verb: hash-files
complete -c cbuild -n '__cbuild_using_verb hash-files' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb hash-files' -F
# verb: put-parameter
complete -c cbuild -n '__cbuild_using_verb put-parameter' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb put-parameter' -l name -x -d 'Parameter name'
complete -c cbuild -n '__cbuild_using_verb put-parameter' -l value -x -d 'The value (visible in ps)'
complete -c cbuild -n '__cbuild_using_verb put-parameter' -l value-file -r -F -d 'Read the value from a file'
complete -c cbuild -n '__cbuild_using_verb put-parameter' -l type -x -a 'String StringList SecureString' -d 'Parameter type'
complete -c cbuild -n '__cbuild_using_verb put-parameter' -l overwrite -d 'Replace an existing parameter'
# verb: get-parameter
complete -c cbuild -n '__cbuild_using_verb get-parameter' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb get-parameter' -l name -x -a '(__cbuild_parameter_names)' -d 'Parameter name'
complete -c cbuild -n '__cbuild_using_verb get-parameter' -l with-decryption -d 'Print a SecureString value instead of ***'
# verb: delete-parameter
complete -c cbuild -n '__cbuild_using_verb delete-parameter' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb delete-parameter' -l name -x -a '(__cbuild_parameter_names)' -d 'Parameter name'
# verb: list-parameters
complete -c cbuild -n '__cbuild_using_verb list-parameters' -s h -l help -d 'Print help and exit'
# verb: list-builds
complete -c cbuild -n '__cbuild_using_verb list-builds' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb list-builds' -l project -x -d 'Only this project'
# verb: batch-get-builds
complete -c cbuild -n '__cbuild_using_verb batch-get-builds' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb batch-get-builds' -l ids -x -a '(__cbuild_build_ids)' -d 'Build ids'
complete -c cbuild -n '__cbuild_using_verb batch-get-builds' -a '(__cbuild_build_ids)'
# verb: logs
complete -c cbuild -n '__cbuild_using_verb logs' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb logs' -s f -l follow -d 'Keep printing while the build runs'
complete -c cbuild -n '__cbuild_using_verb logs' -a '(__cbuild_build_ids)'
# verb: stop-build
complete -c cbuild -n '__cbuild_using_verb stop-build' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb stop-build' -l id -x -a '(__cbuild_build_ids)' -d 'Build id'
complete -c cbuild -n '__cbuild_using_verb stop-build' -l wait -x -d 'Seconds to wait for the build to stop'
complete -c cbuild -n '__cbuild_using_verb stop-build' -a '(__cbuild_build_ids)'
# verb: list-reports
complete -c cbuild -n '__cbuild_using_verb list-reports' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb list-reports' -l report-group -x -d 'Only this report group'
# verb: describe-test-cases
complete -c cbuild -n '__cbuild_using_verb describe-test-cases' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb describe-test-cases' -l report-arn -x -a '(__cbuild_report_arns)' -d 'Report ARN'
complete -c cbuild -n '__cbuild_using_verb describe-test-cases' -l status -x -a 'SUCCEEDED FAILED ERROR SKIPPED UNKNOWN' -d 'Only cases with this status'
complete -c cbuild -n '__cbuild_using_verb describe-test-cases' -a '(__cbuild_report_arns)'
# verb: describe-code-coverages
complete -c cbuild -n '__cbuild_using_verb describe-code-coverages' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb describe-code-coverages' -l report-arn -x -a '(__cbuild_report_arns)' -d 'Report ARN'
complete -c cbuild -n '__cbuild_using_verb describe-code-coverages' -a '(__cbuild_report_arns)'
# verb: create-project
complete -c cbuild -n '__cbuild_using_verb create-project' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb create-project' -l name -x -d 'Project name'
complete -c cbuild -n '__cbuild_using_verb create-project' -l description -x -d 'A description'
complete -c cbuild -n '__cbuild_using_verb create-project' -l source -x -d 'type=...,location=...,buildspec=...'
complete -c cbuild -n '__cbuild_using_verb create-project' -l secondary-sources -x -d 'Secondary sources, one per argument'
complete -c cbuild -n '__cbuild_using_verb create-project' -l secondary-source-versions -x -d 'sourceIdentifier=...,sourceVersion=...'
complete -c cbuild -n '__cbuild_using_verb create-project' -l artifacts -x -d 'type=...,location=...,path=...,name=...,packaging=...'
complete -c cbuild -n '__cbuild_using_verb create-project' -l secondary-artifacts -x -d 'Secondary artifacts, one per argument'
complete -c cbuild -n '__cbuild_using_verb create-project' -l cache -x -d 'type=NO_CACHE|S3|LOCAL'
complete -c cbuild -n '__cbuild_using_verb create-project' -l environment -x -d 'type=...,image=...,computeType=...,environmentVariables=...'
complete -c cbuild -n '__cbuild_using_verb create-project' -l tags -x -d 'key=...,value=..., one per argument'
complete -c cbuild -n '__cbuild_using_verb create-project' -l vpc-config -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb create-project' -l logs-config -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb create-project' -l source-version -x -a '(__cbuild_git_revs)' -d 'Version built by default'
complete -c cbuild -n '__cbuild_using_verb create-project' -l service-role -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb create-project' -l timeout-in-minutes -x -d 'Build timeout, 5 to 2160 minutes'
complete -c cbuild -n '__cbuild_using_verb create-project' -l queued-timeout-in-minutes -x -d 'Recorded, 5 to 480'
complete -c cbuild -n '__cbuild_using_verb create-project' -l encryption-key -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb create-project' -l concurrent-build-limit -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb create-project' -l badge-enabled -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb create-project' -l no-badge-enabled -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb create-project' -l cli-input-json -x -d 'The whole input as JSON, or file://PATH'
# verb: update-project
complete -c cbuild -n '__cbuild_using_verb update-project' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb update-project' -l name -x -a '(__cbuild_project_names)' -d 'Project to change'
complete -c cbuild -n '__cbuild_using_verb update-project' -l description -x -d 'A description'
complete -c cbuild -n '__cbuild_using_verb update-project' -l source -x -d 'type=...,location=...,buildspec=...'
complete -c cbuild -n '__cbuild_using_verb update-project' -l secondary-sources -x -d 'Secondary sources, one per argument'
complete -c cbuild -n '__cbuild_using_verb update-project' -l secondary-source-versions -x -d 'sourceIdentifier=...,sourceVersion=...'
complete -c cbuild -n '__cbuild_using_verb update-project' -l artifacts -x -d 'type=...,location=...,path=...,name=...,packaging=...'
complete -c cbuild -n '__cbuild_using_verb update-project' -l secondary-artifacts -x -d 'Secondary artifacts, one per argument'
complete -c cbuild -n '__cbuild_using_verb update-project' -l cache -x -d 'type=NO_CACHE|S3|LOCAL'
complete -c cbuild -n '__cbuild_using_verb update-project' -l environment -x -d 'type=...,image=...,computeType=...,environmentVariables=...'
complete -c cbuild -n '__cbuild_using_verb update-project' -l tags -x -d 'key=...,value=..., one per argument'
complete -c cbuild -n '__cbuild_using_verb update-project' -l vpc-config -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb update-project' -l logs-config -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb update-project' -l source-version -x -a '(__cbuild_git_revs)' -d 'Version built by default'
complete -c cbuild -n '__cbuild_using_verb update-project' -l service-role -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb update-project' -l timeout-in-minutes -x -d 'Build timeout, 5 to 2160 minutes'
complete -c cbuild -n '__cbuild_using_verb update-project' -l queued-timeout-in-minutes -x -d 'Recorded, 5 to 480'
complete -c cbuild -n '__cbuild_using_verb update-project' -l encryption-key -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb update-project' -l concurrent-build-limit -x -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb update-project' -l badge-enabled -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb update-project' -l no-badge-enabled -d 'Recorded'
complete -c cbuild -n '__cbuild_using_verb update-project' -l cli-input-json -x -d 'The whole input as JSON, or file://PATH'
# verb: batch-get-projects
complete -c cbuild -n '__cbuild_using_verb batch-get-projects' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb batch-get-projects' -l names -x -a '(__cbuild_project_names)' -d 'Project names'
complete -c cbuild -n '__cbuild_using_verb batch-get-projects' -a '(__cbuild_project_names)'
# verb: list-projects
complete -c cbuild -n '__cbuild_using_verb list-projects' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb list-projects' -l sort-by -x -a 'NAME CREATED_TIME LAST_MODIFIED_TIME' -d 'Sort key'
complete -c cbuild -n '__cbuild_using_verb list-projects' -l sort-order -x -a 'ASCENDING DESCENDING' -d 'Sort order'
# verb: delete-project
complete -c cbuild -n '__cbuild_using_verb delete-project' -s h -l help -d 'Print help and exit'
complete -c cbuild -n '__cbuild_using_verb delete-project' -l name -x -a '(__cbuild_project_names)' -d 'Project name'
complete -c cbuild -n '__cbuild_using_verb delete-project' -a '(__cbuild_project_names)'
# end verbs
