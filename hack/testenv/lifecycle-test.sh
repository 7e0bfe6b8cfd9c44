#!/usr/bin/env bash
# Tests the test environment's own lifecycle against this host; make test
# runs it after the Go tests, which need the environment up throughout.
#   1. down, then notes the host: processes, mounts, links, cgroups,
#      iptables chains, /etc/hosts, sysctls and the paths the kubelet makes;
#   2. up: a pod runs on the real node, and logs and exec reach it;
#   3. kills every process of the environment with SIGKILL, as a killed CI
#      job or a lost shell would, then up again: it cleans what the killed
#      one left and a pod runs;
#   4. down: the host is as noted in 1.
# An environment that was up before is up again afterwards.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/testenv/lib.sh
source "$here/lib.sh"
# shellcheck source=hack/testenv/node.sh
source "$here/node.sh"

was_up=false
bash "$here/status.sh" >/dev/null 2>&1 && was_up=true
fail() { printf 'lifecycle-test: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf 'lifecycle-test: %s\n' "$*" >&2; }
output=$(mktemp)
trap 'rm -f "$output"' EXIT
# quietly script: runs up or down, showing its output only when it fails.
quietly() {
	bash "$here/$1" >"$output" 2>&1 || {
		cat "$output" >&2
		fail "$1 failed"
	}
}

# host_state prints what the environment may change on the host, in a form
# that two calls can compare.
host_state() {
	echo "## processes"
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		[[ $cmd == *"$STATE/"* || $cmd == *"$(postgres_dir)"* ]] && echo "$cmd"
	done
	[[ -d /sys/fs/cgroup/pids/kubepods ]] && find /sys/fs/cgroup/pids/kubepods -name cgroup.procs -exec cat {} +
	echo "## mounts"
	awk '{print $2, $3}' /proc/mounts | sort
	echo "## links"
	ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort
	echo "## cgroups"
	find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d | sort
	echo "## iptables chains"
	local cmd t
	for cmd in iptables ip6tables; do
		for t in filter nat mangle; do
			"$cmd" -w -t "$t" -S 2>/dev/null | grep -- '^-N' | sed "s/^/$cmd $t /"
		done
	done
	echo "## /etc/hosts"
	cat /etc/hosts
	echo "## sysctls"
	sysctl "${NODE_SYSCTLS[@]}"
	echo "## paths"
	for p in "${NODE_HOST_PATHS[@]}"; do
		[[ -e $p ]] && echo "$p"
	done
	if [[ -d $SHIM_SOCKET_DIR ]]; then
		ls -A "$SHIM_SOCKET_DIR"
	fi
}

k() { "$(kubectl_bin)" --kubeconfig "$STATE/kubeconfig" -n default "$@"; }

# pod_runs starts a pod on the real node and reads its log and an exec.
pod_runs() {
	k delete pod hoist-lifecycle-probe --ignore-not-found --wait=true >/dev/null
	k run hoist-lifecycle-probe --image "127.0.0.1:$REGISTRY_PORT/busybox:latest" --restart Never \
		--overrides "{\"spec\":{\"nodeName\":\"$NODE_NAME\"}}" -- sh -c 'echo probe started; exec sleep 3600' >/dev/null
	k wait --for=condition=Ready pod/hoist-lifecycle-probe --timeout 60s >/dev/null || {
		k describe pod hoist-lifecycle-probe >&2
		fail "the probe pod is not Ready on $NODE_NAME"
	}
	[[ $(k logs hoist-lifecycle-probe) == "probe started" ]] || fail "kubectl logs does not show the probe's output"
	[[ $(k exec hoist-lifecycle-probe -- echo exec works) == "exec works" ]] || fail "kubectl exec does not reach the probe"
	k delete pod hoist-lifecycle-probe --wait=false >/dev/null
}

say "1. down, noting the host"
quietly down.sh
before=$(host_state)

say "2. up: a pod runs on the real node"
quietly up.sh
pod_runs
# A container runs for the kill below to leave behind.
k delete pod hoist-lifecycle-victim --ignore-not-found --wait=true >/dev/null
k run hoist-lifecycle-victim --image "127.0.0.1:$REGISTRY_PORT/busybox:latest" --restart Never \
	--overrides "{\"spec\":{\"nodeName\":\"$NODE_NAME\"}}" -- sleep 3600 >/dev/null
k wait --for=condition=Ready pod/hoist-lifecycle-victim --timeout 60s >/dev/null

say "3. SIGKILL every process of the environment, then up"
pids=()
for c in "${COMPONENTS[@]}"; do
	running "$c" && pids+=("$(pid_of "$c")")
done
[[ -f $DOCKER_DIR/exec/containerd/containerd.pid ]] && pids+=("$(cat "$DOCKER_DIR/exec/containerd/containerd.pid")")
mapfile -t -O "${#pids[@]}" pids < <(node_runtime_pids)
((${#pids[@]} > 10)) || fail "found only ${#pids[@]} processes to kill"
kill -KILL "${pids[@]}" 2>/dev/null || true
sleep 1
grep -q " $NODE_DIR/" /proc/mounts || fail "the kill left no mounts behind: the test would prove nothing"
quietly up.sh
pod_runs
k delete pod hoist-lifecycle-victim --wait=false >/dev/null

say "4. down: the host is as it was"
quietly down.sh
after=$(host_state)
if [[ $before != "$after" ]]; then
	diff <(echo "$before") <(echo "$after") >&2 || true
	fail "down left the host changed (< before up, > after down)"
fi
if $was_up; then
	quietly up.sh
fi
say "ok"
