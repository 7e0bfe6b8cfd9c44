#!/usr/bin/env bash
# The README's first command: builds hoist and runs `hoist build` on the
# bundled custom-builder example, pushing to a registry on loopback that this
# script starts (and stops again). Stdout shows the event stream as JSON
# lines; the same events land in out/demo-events.jsonl, and a readable
# timeline of them follows.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
PATH="$(bash hack/tools.sh):$PATH"
export PATH
mkdir -p out bin
go build -o bin/hoist ./cmd/hoist
go build -o bin/registry ./hack/testenv/registry

state=$(mktemp -d)
bin/registry --addr 127.0.0.1:0 --dir "$state/blobs" --addr-file "$state/addr" 2>"$state/registry.log" &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 100); do [[ -s $state/addr ]] && break; sleep 0.05; done
[[ -s $state/addr ]] || { cat "$state/registry.log" >&2; echo "demo: the registry did not start" >&2; exit 1; }
registry=$(cat "$state/addr")

rm -f out/demo-events.jsonl
echo "== hoist build (events on stdout, registry $registry)" >&2
bin/hoist build -f examples/custom-builder/skaffold.yaml --default-repo "$registry" \
	--event-log-file out/demo-events.jsonl
echo >&2
echo "== the same run from out/demo-events.jsonl, as text" >&2
bin/hoist events --file out/demo-events.jsonl --output text
