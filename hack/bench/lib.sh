# Helpers of the benchmark scripts; sourced, not run. They set root first.

# setup moves to the repository root, reads the test environment's
# variables, builds hoist, and copies the example $1 (default
# getting-started) to $work/app with the layer cache off, so that every
# run does the same work. The caller removes $work.
setup() {
	local example=${1:-getting-started}
	cd "$root"
	RUNS=${RUNS:-7}
	# shellcheck disable=SC1091
	source "${HOIST_TESTENV_DIR:-$HOME/.cache/hoist/testenv}/env"
	go build -o bin/hoist ./cmd/hoist && CGO_ENABLED=0 go build -o bin/hoist-render ./cmd/hoist-render
	work=$(mktemp -d)
	cp -r "examples/$example" "$work/app"
	sed -i 's|      network: host|      network: host\n      noCache: true|' "$work/app/skaffold.yaml"
}

now() { date +%s%N; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# report LABEL_A "times..." LABEL_B "times...": prints each run, each median
# and the ratio of the medians, A / B.
report() {
	local a=$1 at=$2 b=$3 bt=$4 am bm
	am=$(printf '%s\n' $at | median)
	bm=$(printf '%s\n' $bt | median)
	printf '%-28s %s  median %s\n' "$a (ms):" "$at" "$am"
	printf '%-28s %s  median %s\n' "$b (ms):" "$bt" "$bm"
	awk -v a="$am" -v b="$bm" -v l="ratio $a / $b:" 'BEGIN {printf "%-28s %.3f\n", l, a / b}'
}

# fresh_namespace NAME creates a namespace for one run and waits for its
# default service account; cleanup_bench deletes them all, and $work.
namespaces=()
fresh_namespace() {
	namespaces+=("$1")
	kubectl create namespace "$1" >/dev/null
	until kubectl -n "$1" get serviceaccount default >/dev/null 2>&1; do sleep 0.1; done
}
cleanup_bench() {
	for ns in "${namespaces[@]}"; do kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; done
	rm -rf "$work"
}

# free_port prints a TCP port free on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# lines_project WORK STEP: serves a registry on 127.0.0.1 (crane registry
# serve, from hack/tools.sh, on PATH) and writes WORK/app, a one-artifact
# project whose custom build runs the shell command STEP, which prints the
# build's output, then packs and pushes a small image with crane. It sets
# port (the registry's) and registry (its PID); the caller's EXIT trap
# stops it (lines_cleanup) and removes WORK.
lines_project() {
	local work=$1 step=$2
	port=$(free_port)
	crane registry serve --address "127.0.0.1:$port" >"$work/registry.log" 2>&1 &
	registry=$!
	until curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"; do sleep 0.1; done
	mkdir -p "$work/app/files"
	echo hello >"$work/app/files/index.html"
	cat >"$work/app/build.sh" <<SCRIPT
#!/bin/sh
set -eu
$step
tmp=\$(mktemp -d)
tar -C files -cf "\$tmp/layer.tar" .
crane append --platform linux/amd64 --new_layer "\$tmp/layer.tar" --new_tag "\$IMAGE" >/dev/null 2>&1
rm -rf "\$tmp"
SCRIPT
	chmod +x "$work/app/build.sh"
	cat >"$work/app/skaffold.yaml" <<'YAML'
apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {sha256: {}}
  local: {push: true}
  artifacts:
  - image: lines
    custom: {buildCommand: ./build.sh}
YAML
}

# lines_cleanup stops the registry of lines_project and removes $work.
lines_cleanup() {
	if [[ -n ${registry:-} ]]; then
		kill "$registry" 2>/dev/null
		wait "$registry" 2>/dev/null || true
	fi
	rm -rf "$work"
}
