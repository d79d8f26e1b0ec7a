#!/bin/sh
# ApplicationStart: run the installed program once and keep what it said. A hook runs in the
# deployment's archive, under the instance's root prefix (empty on a real host, a directory for a
# local instance registered with --root): that prefix is what comes before /opt/cdeploy/.
set -e
root="$(pwd)"
root="${root%%/opt/cdeploy/deployment-root/*}"
"$root/opt/hello/bin/hello" "deployment $DEPLOYMENT_ID" > "$root/opt/hello/greeting.txt"
echo "started: $(cat "$root/opt/hello/greeting.txt")"
