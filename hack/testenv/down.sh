#!/usr/bin/env bash
# Stops exactly the processes `up` started, by their recorded PIDs, in
# reverse order (the apiserver before etcd), and unmounts what dockerd
# leaves behind. State (certificates, etcd data, images) stays for the next
# `up`; delete $HOIST_TESTENV_DIR to start from scratch.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/testenv/lib.sh
source "$here/lib.sh"

stop() {
	local name=$1 pid sig=TERM
	# PostgreSQL's TERM waits for clients to leave; INT ends their sessions.
	[[ $name == postgres ]] && sig=INT
	pid=$(pid_of "$name") || return 0
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -"$sig" "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name (pid $pid) did not stop; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		log "stopped $name (pid $pid)"
	fi
	rm -f "$PIDS/$name.pid"
}

for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
	stop "${COMPONENTS[i]}"
done
# dockerd's own containerd exits with it; make sure, by its recorded pid.
if [[ -f $DOCKER_DIR/exec/containerd/containerd.pid ]]; then
	pid=$(cat "$DOCKER_DIR/exec/containerd/containerd.pid")
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
	fi
fi
if [[ -d $DOCKER_DIR/exec ]]; then
	while read -r mnt; do
		umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	done < <(awk -v d="$DOCKER_DIR" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
fi
log "down"
