#!/usr/bin/env bash
# Benchmark: `hoist build` of examples/getting-started on the test
# environment's Docker engine, RUNS times each, interleaved:
#   cold: without the layer cache (noCache), every step runs and every
#         layer is stored again;
#   warm: with the layer cache, after one build that filled it.
# Both skip hoist's own artifact cache, so that each run builds. Prints the
# runs and medians, and the engine's storage driver. Needs the test
# environment (make testenv).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/bench/lib.sh
source "$root/hack/bench/lib.sh"
setup
trap 'rm -rf "$work"' EXIT
cp -r examples/getting-started "$work/warm"

build() { # dir tag
	bin/hoist build -f "$1/skaffold.yaml" --default-repo "$HOIST_TEST_REGISTRY" \
		--tag "$2" --cache-artifacts=false >/dev/null
}

build "$work/warm" bench-storage-prime
cold=() warm=()
for i in $(seq "$RUNS"); do
	t0=$(now)
	build "$work/app" "bench-storage-cold-$i"
	t1=$(now)
	build "$work/warm" "bench-storage-warm-$i"
	t2=$(now)
	cold+=($(((t1 - t0) / 1000000)))
	warm+=($(((t2 - t1) / 1000000)))
done
echo "storage driver: $(docker info --format '{{.Driver}}'); runs: $RUNS"
report "hoist build, cold" "${cold[*]}" "hoist build, warm" "${warm[*]}"
