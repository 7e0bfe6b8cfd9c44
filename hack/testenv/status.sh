#!/usr/bin/env bash
# Says which components of the test environment run, with their PIDs and
# addresses.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/testenv/lib.sh
source "$here/lib.sh"
declare -A where=(
	[etcd]="http://127.0.0.1:$ETCD_PORT"
	[kube-apiserver]="https://127.0.0.1:$APISERVER_PORT"
	[kube-controller-manager]="-"
	[kube-scheduler]="-"
	[kwok]="node kwok-node-0 (tainted kwok.x-k8s.io/node=fake:NoSchedule)"
	[containerd]="unix://$CONTAINERD_SOCK"
	[kubelet]="node $NODE_NAME, https://127.0.0.1:$KUBELET_PORT"
	[dockerd]="unix://$DOCKER_DIR/docker.sock"
	[registry]="127.0.0.1:$REGISTRY_PORT"
	[postgres]="postgres://hoist@127.0.0.1:$POSTGRES_PORT/hoist ($(postgres_dir))"
)
all=0
printf '%-24s %-8s %-8s %s\n' COMPONENT STATE PID ADDRESS
for c in "${COMPONENTS[@]}"; do
	if running "$c"; then
		printf '%-24s %-8s %-8s %s\n' "$c" running "$(pid_of "$c")" "${where[$c]}"
	else
		printf '%-24s %-8s %-8s %s\n' "$c" stopped - "${where[$c]}"
		all=1
	fi
done
echo "state: $STATE"
[[ -f $STATE/env ]] && echo "env:   $STATE/env"
exit $all
