#!/usr/bin/env bash
# The README's first command (make demo): brings up the test environment
# (a private dockerd, a registry and a Kubernetes cluster on loopback,
# installing what is missing), builds hoist, and runs
#   1. `hoist build` on examples/custom-builder (a custom buildCommand that
#      packs and pushes an image with crane), and
#   2. `hoist run` on examples/getting-started (a Docker build, a push, a
#      kubectl deploy and a status check),
# each printing its event stream as JSON lines on stdout. The events of the
# run also land in out/demo-events.jsonl, replayed at the end as text.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
PATH="$(bash hack/tools.sh):$PATH"
export PATH
bash hack/testenv/up.sh
# shellcheck disable=SC1091
source "${HOIST_TESTENV_DIR:-$HOME/.cache/hoist/testenv}/env"
mkdir -p out bin
go build -o bin/hoist ./cmd/hoist

echo "== hoist build: examples/custom-builder (registry $HOIST_TEST_REGISTRY)" >&2
bin/hoist build -f examples/custom-builder/skaffold.yaml --default-repo "$HOIST_TEST_REGISTRY"

echo "== hoist run: examples/getting-started (build, push, deploy, status check)" >&2
rm -f out/demo-events.jsonl
bin/hoist run -f examples/getting-started/skaffold.yaml --default-repo "$HOIST_TEST_REGISTRY" \
	--event-log-file out/demo-events.jsonl

echo "== in the cluster" >&2
kubectl get deployments,pods -l app=getting-started -o wide >&2
echo "== the run again, from out/demo-events.jsonl, as text" >&2
bin/hoist events --file out/demo-events.jsonl --output text >&2
