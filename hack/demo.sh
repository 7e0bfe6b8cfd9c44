#!/usr/bin/env bash
# The README's first command (make demo): brings up the test environment
# (a private dockerd, a registry and a Kubernetes cluster on loopback,
# installing what is missing), builds hoist, and runs
#   1. `hoist build` on examples/custom-builder (a custom buildCommand that
#      packs and pushes an image with crane), and
#   2. `hoist run` on examples/getting-started (a Docker build, a push, a
#      kubectl deploy and a status check), pushing its events to a
#      `hoist collector` started for the demo,
# each printing its event stream as JSON lines on stdout. The application
# then answers: its pods run on the environment's real node, and the demo
# fetches its page through hoist's own port forward (hoist run
# --port-forward=user stays up forwarding the example's portForward entry
# until it is interrupted; its portEvent tells the local port), then
# interrupts it. The events of the
# run also land in out/demo-events.jsonl, replayed at the end as text, and
# the collector's copy is listed and read back. With DEMO_KEEP=1 the
# collector stays up afterwards, its dashboard at http://127.0.0.1:$DEMO_COLLECTOR_PORT/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
PATH="$(bash hack/tools.sh):$PATH"
export PATH
bash hack/testenv/up.sh
# shellcheck disable=SC1091
source "${HOIST_TESTENV_DIR:-$HOME/.cache/hoist/testenv}/env"
mkdir -p out bin
go build -o bin/hoist ./cmd/hoist && CGO_ENABLED=0 go build -o bin/hoist-render ./cmd/hoist-render

echo "== hoist build: examples/custom-builder (registry $HOIST_TEST_REGISTRY)" >&2
bin/hoist build -f examples/custom-builder/skaffold.yaml --default-repo "$HOIST_TEST_REGISTRY"

port=${DEMO_COLLECTOR_PORT:-15051}
collector="127.0.0.1:$port"
echo "== hoist collector on $collector, storing in out/demo-collector.db" >&2
bin/hoist collector --listen "$collector" --store out/demo-collector.db 2>out/demo-collector.log &
collector_pid=$!
if [[ -z ${DEMO_KEEP:-} ]]; then
	trap 'kill "$collector_pid" 2>/dev/null; wait "$collector_pid" 2>/dev/null || true' EXIT
fi
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://$collector/v1alpha2/runs" && break
	sleep 0.1
done

echo "== hoist run --port-forward=user: examples/getting-started (build, push, deploy, status check, then forward)" >&2
rm -f out/demo-events.jsonl
bin/hoist run -f examples/getting-started/skaffold.yaml --default-repo "$HOIST_TEST_REGISTRY" \
	--event-log-file out/demo-events.jsonl --event-rpc-address "$collector" --port-forward=user &
run_pid=$!
# The run's portEvent says where the page is: address and local port (9000
# unless it was taken). A run that ends before forwarding has failed.
local_addr=""
while kill -0 "$run_pid" 2>/dev/null; do
	local_addr=$(grep -m1 '"portEvent"' out/demo-events.jsonl 2>/dev/null |
		sed -nE 's/.*"localPort":([0-9]+).*"address":"([^"]+)".*/\2:\1/p' || true)
	[[ -n $local_addr ]] && break
	sleep 0.1
done
if [[ -z $local_addr ]]; then
	status=0
	wait "$run_pid" || status=$?
	echo "hoist run ended (exit $status) without forwarding a port" >&2
	exit 1
fi

echo "== in the cluster" >&2
kubectl get deployments,pods -l app=getting-started -o wide >&2
echo "== the application answers through hoist's forward (curl http://$local_addr/)" >&2
curl -sSf "http://$local_addr/" >&2
echo "== interrupting hoist run (pid $run_pid), as Ctrl-C would" >&2
kill -INT "$run_pid"
status=0
wait "$run_pid" || status=$?
[[ $status == 0 ]] || { echo "hoist run exited $status after the interrupt" >&2; exit 1; }
echo "== the server's log (kubectl logs deployment/getting-started)" >&2
kubectl logs deployment/getting-started >&2
echo "== the run again, from out/demo-events.jsonl, as text" >&2
bin/hoist events --file out/demo-events.jsonl --output text >&2
run_id=$(head -1 out/demo-events.jsonl | sed -E 's/.*"event_id":"([^"]+)".*/\1/')
echo "== the collector's runs (GET /v1alpha2/runs)" >&2
curl -sf "http://$collector/v1alpha2/runs?limit=3" >&2
echo "== the collector's copy of run $run_id, compared with the event log file" >&2
bin/hoist events --address "$collector" --run "$run_id" >out/demo-collected.jsonl
# The file pads a line with spaces where it would cross a 4 KiB page (so
# that kill -9 cannot tear it); the events themselves must be identical.
if cmp -s <(sed 's/ *$//' out/demo-events.jsonl) out/demo-collected.jsonl; then
	echo "identical: $(wc -l <out/demo-collected.jsonl) events" >&2
else
	echo "the collector's copy differs from the event log file" >&2
	diff <(sed 's/ *$//' out/demo-events.jsonl) out/demo-collected.jsonl >&2 || true
	exit 1
fi

# wait_for_event FILE PATTERN PID: waits until an event line of FILE matches
# PATTERN, and fails if the hoist of PID ends first.
wait_for_event() {
	local file=$1 pattern=$2 pid=$3
	for _ in $(seq 1200); do
		grep -q "$pattern" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { echo "hoist ended before $pattern" >&2; exit 1; }
		sleep 0.1
	done
	echo "no $pattern after 2 minutes" >&2
	exit 1
}

echo "== hoist dev on a copy of examples/getting-started: edit its page, and the edit is synced" >&2
devdir=$(mktemp -d)
cp -r examples/getting-started/. "$devdir"
rm -f out/demo-dev.jsonl
bin/hoist dev -f "$devdir/skaffold.yaml" --default-repo "$HOIST_TEST_REGISTRY" \
	--event-log-file out/demo-dev.jsonl --event-format text --event-level warn &
dev_pid=$!
wait_for_event out/demo-dev.jsonl '"portEvent"' "$dev_pid"
wait_for_event out/demo-dev.jsonl '"devLoopEvent":{"iteration":1,"status":"SUCCEEDED"' "$dev_pid"
dev_addr=$(grep -m1 '"portEvent"' out/demo-dev.jsonl | sed -nE 's/.*"localPort":([0-9]+).*"address":"([^"]+)".*/\2:\1/p')
echo "== before the edit (curl http://$dev_addr/)" >&2
curl -sSf "http://$dev_addr/" >&2
echo '<h1>Edited while hoist dev runs: synced into the pods, no rebuild</h1>' >"$devdir/app/www/index.html"
wait_for_event out/demo-dev.jsonl '"fileSyncEvent":{"image":"getting-started","fileCount":1,"status":"SUCCEEDED"' "$dev_pid"
echo "== after the edit (curl http://$dev_addr/)" >&2
curl -sSf "http://$dev_addr/" >&2
echo "== the dev session's builds, syncs and iterations" >&2
bin/hoist events --file out/demo-dev.jsonl --output text --type buildEvent,fileSyncEvent,devLoopEvent,portEvent >&2
echo "== interrupting hoist dev (pid $dev_pid): it deletes what it deployed" >&2
kill -INT "$dev_pid"
status=0
wait "$dev_pid" || status=$?
rm -rf "$devdir"
[[ $status == 0 ]] || { echo "hoist dev exited $status after the interrupt" >&2; exit 1; }

if [[ -n ${DEMO_KEEP:-} ]]; then
	echo "== the dashboard: http://$collector/ (collector pid $collector_pid)" >&2
fi
