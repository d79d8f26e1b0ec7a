# fish completion for cdeploy(1).
#
# The verbs, aliases and options below are checked against `cdeploy help-data`
# (the CLI11 tables) by tests/cli/test_docs.cpp: keep the "# verb:" blocks and
# the global options in step with them.  Options that take a value have -r or -x.

# The verb on the command line (first word that is neither an option nor an
# option's value), or nothing.
function __cdeploy_verb
    set -l value_opts --home --store --output --application-name --deployment-config-name \
        --minimum-healthy-hosts --instance-name --ssh --root --tag-filters --instance-names --tags \
        --deployment-group-name --on-premises-instance-tag-filters --on-premises-tag-set \
        --auto-rollback-configuration --current-deployment-group-name --new-deployment-group-name \
        --revision --file-exists-behavior --description --deployment-id --include-only-statuses \
        --instance-id --target-id --wait
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

function __cdeploy_needs_verb
    not __cdeploy_verb >/dev/null
end

# True when the verb is one of the arguments.
function __cdeploy_using_verb
    set -l verb (__cdeploy_verb)
    or return 1
    contains -- "$verb" $argv
end

# True when the last option on the line is the argument and the word being
# completed is not an option: one more value of an option that takes several
# (--instance-names web1 web2 ...).
function __cdeploy_last_option
    string match -q -- '-*' (commandline -ct); and return 1
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens) -1 2)
        if string match -q -- '-*' $tokens[$i]
            test "$tokens[$i]" = "$argv[1]"
            return
        end
    end
    return 1
end

# Runs a cdeploy query (JSON) against the home and store of the command line;
# silent on any error.
function __cdeploy_query
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
    command cdeploy $store_args -q --output json $argv 2>/dev/null
end

# The items of the JSON list a query prints ({"applications": ["web", ...]}).
function __cdeploy_json_items
    __cdeploy_query $argv | string match -r -g '^\s*"([^"]+)",?\s*$'
end

function __cdeploy_applications
    __cdeploy_json_items list-applications
end

# The deployment groups of the application on the line.
function __cdeploy_groups
    set -l tokens (commandline -opc)
    set -l app
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --application-name
                set -l next (math $i + 1)
                set -q tokens[$next]; and set app $tokens[$next]
            case '--application-name=*'
                set app (string replace -- '--application-name=' '' $tokens[$i])
        end
    end
    test -n "$app"; or return
    __cdeploy_json_items list-deployment-groups --application-name $app
end

function __cdeploy_configs
    __cdeploy_json_items list-deployment-configs
end

function __cdeploy_instances
    __cdeploy_json_items list-on-premises-instances
end

function __cdeploy_deployments
    __cdeploy_json_items list-deployments
end

complete -c cdeploy -f

# Verbs.
complete -c cdeploy -n __cdeploy_needs_verb -a validate -d 'Check appspec files'
complete -c cdeploy -n __cdeploy_needs_verb -a create-application -d 'Create an application'
complete -c cdeploy -n __cdeploy_needs_verb -a get-application -d 'Show an application'
complete -c cdeploy -n __cdeploy_needs_verb -a list-applications -d 'List applications'
complete -c cdeploy -n __cdeploy_needs_verb -a delete-application -d 'Delete an application and its groups'
complete -c cdeploy -n __cdeploy_needs_verb -a create-deployment-config -d 'Create a deployment config'
complete -c cdeploy -n __cdeploy_needs_verb -a get-deployment-config -d 'Show a deployment config'
complete -c cdeploy -n __cdeploy_needs_verb -a list-deployment-configs -d 'List deployment configs'
complete -c cdeploy -n __cdeploy_needs_verb -a delete-deployment-config -d 'Delete a deployment config'
complete -c cdeploy -n __cdeploy_needs_verb -a register-on-premises-instance -d 'Register an instance (local or ssh)'
complete -c cdeploy -n __cdeploy_needs_verb -a deregister-on-premises-instance -d 'Deregister an instance'
complete -c cdeploy -n __cdeploy_needs_verb -a get-on-premises-instance -d 'Show an instance'
complete -c cdeploy -n __cdeploy_needs_verb -a list-on-premises-instances -d 'List instances'
complete -c cdeploy -n __cdeploy_needs_verb -a add-tags-to-on-premises-instances -d 'Tag instances'
complete -c cdeploy -n __cdeploy_needs_verb -a remove-tags-from-on-premises-instances -d 'Remove tags from instances'
complete -c cdeploy -n __cdeploy_needs_verb -a create-deployment-group -d 'Create a deployment group'
complete -c cdeploy -n __cdeploy_needs_verb -a get-deployment-group -d 'Show a deployment group'
complete -c cdeploy -n __cdeploy_needs_verb -a list-deployment-groups -d 'List the deployment groups of an application'
complete -c cdeploy -n __cdeploy_needs_verb -a update-deployment-group -d 'Change a deployment group'
complete -c cdeploy -n __cdeploy_needs_verb -a delete-deployment-group -d 'Delete a deployment group'
complete -c cdeploy -n __cdeploy_needs_verb -a create-deployment -d 'Deploy a revision to a deployment group'
complete -c cdeploy -n __cdeploy_needs_verb -a deploy -d 'Deploy a revision (alias of create-deployment)'
complete -c cdeploy -n __cdeploy_needs_verb -a get-deployment -d 'Show a deployment'
complete -c cdeploy -n __cdeploy_needs_verb -a list-deployments -d 'List deployment ids, newest first'
complete -c cdeploy -n __cdeploy_needs_verb -a list-deployment-instances -d 'List the instances of a deployment'
complete -c cdeploy -n __cdeploy_needs_verb -a list-deployment-targets -d 'List the instances of a deployment (alias)'
complete -c cdeploy -n __cdeploy_needs_verb -a get-deployment-instance -d 'Show what happened on an instance'
complete -c cdeploy -n __cdeploy_needs_verb -a get-deployment-target -d 'Show what happened on an instance (alias)'
complete -c cdeploy -n __cdeploy_needs_verb -a stop-deployment -d 'Stop a deployment in progress'
complete -c cdeploy -n __cdeploy_needs_verb -a rollback -d 'Redeploy the last known good revision'

# global options
complete -c cdeploy -s h -l help -d 'Print help and exit'
complete -c cdeploy -l home -x -a '(__fish_complete_directories)' -d 'Home directory for definitions'
complete -c cdeploy -l store -x -a '(__fish_complete_directories)' -d 'Store for records and blobs'
complete -c cdeploy -l output -x -a 'text json' -d 'Output format on stdout'
complete -c cdeploy -s q -l quiet -d 'Print only errors and the result'
complete -c cdeploy -s v -l verbose -d 'Print more detail'
complete -c cdeploy -l no-color -d 'Never color the output'
complete -c cdeploy -l version -d 'Print the version and exit'
# end global options

# verb: validate
complete -c cdeploy -n '__cdeploy_using_verb validate' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb validate' -F
# verb: create-application
complete -c cdeploy -n '__cdeploy_using_verb create-application' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb create-application' -l application-name -x -d 'Application name'
# verb: get-application
complete -c cdeploy -n '__cdeploy_using_verb get-application' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb get-application' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
# verb: list-applications
complete -c cdeploy -n '__cdeploy_using_verb list-applications' -s h -l help -d 'Print help and exit'
# verb: delete-application
complete -c cdeploy -n '__cdeploy_using_verb delete-application' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb delete-application' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
# verb: create-deployment-config
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-config' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-config' -l deployment-config-name -x -d 'Config name'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-config' -l minimum-healthy-hosts -x -a 'type=HOST_COUNT,value= type=FLEET_PERCENT,value=' -d 'type=TYPE,value=N'
# verb: get-deployment-config
complete -c cdeploy -n '__cdeploy_using_verb get-deployment-config' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb get-deployment-config' -l deployment-config-name -x -a '(__cdeploy_configs)' -d 'Config name'
# verb: list-deployment-configs
complete -c cdeploy -n '__cdeploy_using_verb list-deployment-configs' -s h -l help -d 'Print help and exit'
# verb: delete-deployment-config
complete -c cdeploy -n '__cdeploy_using_verb delete-deployment-config' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb delete-deployment-config' -l deployment-config-name -x -a '(__cdeploy_configs)' -d 'Config name'
# verb: register-on-premises-instance
complete -c cdeploy -n '__cdeploy_using_verb register-on-premises-instance' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb register-on-premises-instance' -l instance-name -x -d 'Instance name'
complete -c cdeploy -n '__cdeploy_using_verb register-on-premises-instance' -l ssh -x -a '(__fish_print_hostnames)' -d 'Reach it over ssh: [USER@]HOST[:PORT]'
complete -c cdeploy -n '__cdeploy_using_verb register-on-premises-instance' -l root -x -a '(__fish_complete_directories)' -d 'Root prefix on the instance'
# verb: deregister-on-premises-instance
complete -c cdeploy -n '__cdeploy_using_verb deregister-on-premises-instance' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb deregister-on-premises-instance' -l instance-name -x -a '(__cdeploy_instances)' -d 'Instance name'
# verb: get-on-premises-instance
complete -c cdeploy -n '__cdeploy_using_verb get-on-premises-instance' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb get-on-premises-instance' -l instance-name -x -a '(__cdeploy_instances)' -d 'Instance name'
# verb: list-on-premises-instances
complete -c cdeploy -n '__cdeploy_using_verb list-on-premises-instances' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb list-on-premises-instances' -l tag-filters -x -d 'Key=K,Value=V,Type=T (any matches)'
# verb: add-tags-to-on-premises-instances
complete -c cdeploy -n '__cdeploy_using_verb add-tags-to-on-premises-instances' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb add-tags-to-on-premises-instances' -l instance-names -x -a '(__cdeploy_instances)' -d 'Instance names'
complete -c cdeploy -n '__cdeploy_using_verb add-tags-to-on-premises-instances; and __cdeploy_last_option --instance-names' -a '(__cdeploy_instances)'
complete -c cdeploy -n '__cdeploy_using_verb add-tags-to-on-premises-instances' -l tags -x -d 'Key=K,Value=V'
# verb: remove-tags-from-on-premises-instances
complete -c cdeploy -n '__cdeploy_using_verb remove-tags-from-on-premises-instances' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb remove-tags-from-on-premises-instances' -l instance-names -x -a '(__cdeploy_instances)' -d 'Instance names'
complete -c cdeploy -n '__cdeploy_using_verb remove-tags-from-on-premises-instances; and __cdeploy_last_option --instance-names' -a '(__cdeploy_instances)'
complete -c cdeploy -n '__cdeploy_using_verb remove-tags-from-on-premises-instances' -l tags -x -d 'Key=K[,Value=V]'
# verb: create-deployment-group
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-group' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-group' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-group' -l deployment-group-name -x -d 'Deployment group name'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-group' -l on-premises-instance-tag-filters -x -d 'Instances with any of these tags'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-group' -l on-premises-tag-set -x -d 'Up to 3 tag groups, all to match'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-group' -l deployment-config-name -x -a '(__cdeploy_configs)' -d 'Deployment config'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment-group' -l auto-rollback-configuration -x -a 'enabled=true,events=DEPLOYMENT_FAILURE enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST enabled=false' -d 'Automatic rollback'
# verb: get-deployment-group
complete -c cdeploy -n '__cdeploy_using_verb get-deployment-group' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb get-deployment-group' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
complete -c cdeploy -n '__cdeploy_using_verb get-deployment-group' -l deployment-group-name -x -a '(__cdeploy_groups)' -d 'Deployment group name'
# verb: list-deployment-groups
complete -c cdeploy -n '__cdeploy_using_verb list-deployment-groups' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb list-deployment-groups' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
# verb: update-deployment-group
complete -c cdeploy -n '__cdeploy_using_verb update-deployment-group' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb update-deployment-group' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
complete -c cdeploy -n '__cdeploy_using_verb update-deployment-group' -l current-deployment-group-name -x -a '(__cdeploy_groups)' -d 'The group name now'
complete -c cdeploy -n '__cdeploy_using_verb update-deployment-group' -l new-deployment-group-name -x -d 'Rename it'
complete -c cdeploy -n '__cdeploy_using_verb update-deployment-group' -l on-premises-instance-tag-filters -x -d 'Instances with any of these tags'
complete -c cdeploy -n '__cdeploy_using_verb update-deployment-group' -l on-premises-tag-set -x -d 'Up to 3 tag groups, all to match'
complete -c cdeploy -n '__cdeploy_using_verb update-deployment-group' -l deployment-config-name -x -a '(__cdeploy_configs)' -d 'Deployment config'
complete -c cdeploy -n '__cdeploy_using_verb update-deployment-group' -l auto-rollback-configuration -x -a 'enabled=true,events=DEPLOYMENT_FAILURE enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST enabled=false' -d 'Automatic rollback'
# verb: delete-deployment-group
complete -c cdeploy -n '__cdeploy_using_verb delete-deployment-group' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb delete-deployment-group' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
complete -c cdeploy -n '__cdeploy_using_verb delete-deployment-group' -l deployment-group-name -x -a '(__cdeploy_groups)' -d 'Deployment group name'
# verb: create-deployment deploy
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l deployment-group-name -x -a '(__cdeploy_groups)' -d 'Deployment group name'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l revision -r -F -d 'Directory, zip, tar or cbuild artifact directory'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l deployment-config-name -x -a '(__cdeploy_configs)' -d 'Override the group deployment config'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l file-exists-behavior -x -a 'DISALLOW OVERWRITE RETAIN' -d 'What Install does with a file in the way'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l ignore-application-stop-failures -d 'Go on when ApplicationStop scripts fail'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l no-hard-links -d 'Copy every file, never hard-link from the deployment archive'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l description -x -d 'A note kept with the deployment'
complete -c cdeploy -n '__cdeploy_using_verb create-deployment deploy' -l no-wait -d 'Print the id and return at once'
# verb: get-deployment
complete -c cdeploy -n '__cdeploy_using_verb get-deployment' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb get-deployment' -l deployment-id -x -a '(__cdeploy_deployments)' -d 'Deployment id'
# verb: list-deployments
complete -c cdeploy -n '__cdeploy_using_verb list-deployments' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb list-deployments' -l application-name -x -a '(__cdeploy_applications)' -d 'Only this application'
complete -c cdeploy -n '__cdeploy_using_verb list-deployments' -l deployment-group-name -x -a '(__cdeploy_groups)' -d 'Only this deployment group'
complete -c cdeploy -n '__cdeploy_using_verb list-deployments' -l include-only-statuses -x -a 'Created Queued InProgress Succeeded Failed Stopped' -d 'Only these statuses'
complete -c cdeploy -n '__cdeploy_using_verb list-deployments; and __cdeploy_last_option --include-only-statuses' -a 'Created Queued InProgress Succeeded Failed Stopped'
# verb: list-deployment-instances list-deployment-targets
complete -c cdeploy -n '__cdeploy_using_verb list-deployment-instances list-deployment-targets' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb list-deployment-instances list-deployment-targets' -l deployment-id -x -a '(__cdeploy_deployments)' -d 'Deployment id'
# verb: get-deployment-instance get-deployment-target
complete -c cdeploy -n '__cdeploy_using_verb get-deployment-instance get-deployment-target' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb get-deployment-instance get-deployment-target' -l deployment-id -x -a '(__cdeploy_deployments)' -d 'Deployment id'
complete -c cdeploy -n '__cdeploy_using_verb get-deployment-instance get-deployment-target' -l instance-id -l target-id -x -a '(__cdeploy_instances)' -d 'Instance name'
# verb: stop-deployment
complete -c cdeploy -n '__cdeploy_using_verb stop-deployment' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb stop-deployment' -l deployment-id -x -a '(__cdeploy_deployments)' -d 'Deployment id'
complete -c cdeploy -n '__cdeploy_using_verb stop-deployment' -l wait -x -d 'Seconds to wait for it to stop'
# verb: rollback
complete -c cdeploy -n '__cdeploy_using_verb rollback' -s h -l help -d 'Print help and exit'
complete -c cdeploy -n '__cdeploy_using_verb rollback' -l application-name -x -a '(__cdeploy_applications)' -d 'Application name'
complete -c cdeploy -n '__cdeploy_using_verb rollback' -l deployment-group-name -x -a '(__cdeploy_groups)' -d 'Deployment group name'
# end verbs
