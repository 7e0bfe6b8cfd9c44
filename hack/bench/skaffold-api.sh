#!/usr/bin/env bash
# Benchmark: Skaffold's /v2/events on --rpc-http-port during a build that
# prints N lines (1000000 unless told otherwise), served by hoist and, when
# its binary is at hand, by Skaffold itself, each with a `curl -N
# /v2/events` subscriber connected before the build starts
# (--wait-for-connection). For each it prints the wall time of the run, the
# lines of build output the subscriber received in skaffoldLogEvents, the
# events a second it received, and how curl ended: 0 when the server ended
# the stream, 18 when it closed the connection with the stream unfinished.
#
# The project has one custom-builder artifact whose script prints the
# lines and pushes a one-layer image with crane to a loopback `crane
# registry serve`; no Docker engine or cluster is needed. crane comes from
# $ANCHOR_CACHE/crane-v0.22.1 (the anchor benchmark's), else is installed
# there from the Go module proxy. Skaffold is
# $ANCHOR_CACHE/skaffold-v2.13.2/skaffold, as hack/bench/anchor.sh builds
# it; without it only hoist runs. KEEP=1 keeps the work folder.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=${1:-1000000}
cache=${ANCHOR_CACHE:-$HOME/.cache/hoist-anchors}
crane=$cache/crane-v0.22.1/crane
skaffold=$cache/skaffold-v2.13.2/skaffold

for tool in curl perl jq; do
	command -v "$tool" >/dev/null || { echo "skaffold-api: missing $tool" >&2; exit 1; }
done
cd "$root"
go build -o bin/hoist ./cmd/hoist
if [[ ! -x $crane ]]; then
	GOBIN=$(dirname "$crane") go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
fi

work=$(mktemp -d -t skaffold-api.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]:-}"; do
		[[ -n $p ]] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 1 3000); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}
now() { date +%s.%N; }

reg=127.0.0.1:$(free_port)
"$crane" registry serve --address "$reg" >"$work/registry.log" 2>&1 &
pids+=($!)
wait_port "${reg#*:}"

mkdir -p "$work/proj" "$work/layer" "$work/home/.skaffold"
echo hello >"$work/layer/hello.txt"
tar -C "$work/layer" -cf "$work/layer.tar" hello.txt
cat >"$work/proj/skaffold.yaml" <<'EOF'
apiVersion: skaffold/v4beta11
kind: Config
metadata:
  name: skaffold-api-bench
build:
  tagPolicy:
    sha256: {}
  local:
    push: true
    concurrency: 1
  artifacts:
  - image: bench
    context: .
    custom:
      buildCommand: ./build.sh
      dependencies:
        paths: ["build.sh"]
EOF
cat >"$work/proj/build.sh" <<'EOF'
#!/bin/sh
set -eu
perl -e '$| = 1; my $n = shift; printf("bench-line %d/%d: lorem ipsum dolor sit amet\n", $_, $n) for 1 .. $n' "$BENCH_LINES"
"$BENCH_CRANE" append --insecure -f "$BENCH_LAYER" -t "$IMAGE" >/dev/null
EOF
chmod +x "$work/proj/build.sh"
cat >"$work/home/.skaffold/config" <<'EOF'
global:
  collect-metrics: false
  update-check: false
  survey:
    disable-prompt: true
kubeContexts: []
EOF
export BENCH_LINES=$n BENCH_CRANE=$crane BENCH_LAYER=$work/layer.tar

rows=()
# bench label command...: runs the command, in which the word HTTP_PORT
# becomes the port it is to serve /v2/events on, with a curl -N
# subscriber, and adds a row.
bench() {
	local label=$1 http arg
	shift
	http=$(free_port)
	local cmd=()
	for arg in "$@"; do cmd+=("${arg/#HTTP_PORT/$http}"); done
	(
		wait_port "$http" || exit 7
		exec curl -sS -N -o "$work/$label.stream" -w '%{exitcode}' "http://127.0.0.1:$http/v2/events" \
			>"$work/$label.curl" 2>"$work/$label.curl.err"
	) &
	local sub=$!
	local t0 t1
	t0=$(now)
	(cd "$work/proj" && env HOME="$work/home" KUBECONFIG="$work/home/none" "${cmd[@]}" >"$work/$label.out" 2>&1) ||
		echo "$label: exited $? (see $work/$label.out)" >&2
	t1=$(now)
	for _ in $(seq 1 600); do kill -0 "$sub" 2>/dev/null || break; sleep 0.1; done
	kill "$sub" 2>/dev/null || true
	wait "$sub" 2>/dev/null || true
	local got events curl_exit wall
	got=$(jq -r '.result.skaffoldLogEvent.message // empty' "$work/$label.stream" 2>/dev/null | grep -c '^bench-line' || true)
	events=$(wc -l <"$work/$label.stream" 2>/dev/null || echo 0)
	curl_exit=$(cat "$work/$label.curl" 2>/dev/null || echo '?')
	wall=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
	rows+=("$(printf '%-9s %9s %8s %12s %10s %9s  %s' "$label" "$n" "$wall" "$got" "$events" \
		"$(awk -v e="$events" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? e / w : 0) }')" \
		"$curl_exit $(tr '\n' ' ' <"$work/$label.curl.err")")")
}

bench hoist "$root/bin/hoist" build --default-repo "$reg" --push --cache-artifacts=false \
	--rpc-http-port HTTP_PORT --wait-for-connection --rpc-linger 0 --event-format text --event-level error
if [[ -x $skaffold ]]; then
	bench skaffold env SKAFFOLD_UPDATE_CHECK=false "$skaffold" build --config "$work/home/.skaffold/config" \
		--interactive=false --update-check=false --default-repo "$reg" --insecure-registry "$reg" --push \
		--cache-artifacts=false --rpc-port "$(free_port)" --rpc-http-port HTTP_PORT --wait-for-connection
else
	echo "skaffold-api: no $skaffold (hack/bench/anchor.sh builds it); hoist only" >&2
fi

printf '%-9s %9s %8s %12s %10s %9s  %s\n' run lines wall_s lines_recv events events/s "curl exit"
printf '%s\n' "${rows[@]}"
