#!/usr/bin/env bash
# Stops exactly the processes `up` started, by their recorded PIDs, in
# reverse order (the apiserver before etcd), with the real node's containers
# and shims, and puts the host back as it was: no mount, bridge, cgroup,
# iptables chain, /etc/hosts line or sysctl change of the environment stays.
# State (certificates, etcd data, images) stays for the next `up`; delete
# $HOIST_TESTENV_DIR to start from scratch.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/testenv/lib.sh
source "$here/lib.sh"
# shellcheck source=hack/testenv/node.sh
source "$here/node.sh"

lock_env
for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
	stop "${COMPONENTS[i]}"
done
docker_leftovers
node_cleanup
log "down"
