#!/usr/bin/env bash
# Benchmark: `hoist run` of examples/getting-started against the same steps
# done by hand (docker build, docker push, kubectl apply, kubectl rollout
# status), without the layer cache, RUNS times each, interleaved, each pair
# in a fresh namespace. Prints each median and their ratio. Needs the test
# environment (make testenv).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/bench/lib.sh
source "$root/hack/bench/lib.sh"
setup
trap cleanup_bench EXIT

hoist_times=() hand_times=()
for i in $(seq "$RUNS"); do
	for who in hoist hand; do fresh_namespace "bench-$who-$i-$$"; done
	t0=$(now)
	bin/hoist run -f "$work/app/skaffold.yaml" --default-repo "$HOIST_TEST_REGISTRY" -n "bench-hoist-$i-$$" \
		--tag "bench-run-hoist-$i" --cache-artifacts=false >/dev/null
	t1=$(now)
	ref="$HOIST_TEST_REGISTRY/getting-started:bench-run-hand-$i"
	docker build -q --no-cache --network host --build-arg "BASE_IMAGE=$HOIST_TEST_BASE_IMAGE" -t "$ref" "$work/app" >/dev/null
	docker push -q "$ref" >/dev/null
	sed "s|image: getting-started|image: $ref|" "$work/app/k8s/deployment.yaml" |
		kubectl apply -n "bench-hand-$i-$$" -f - -f "$work/app/k8s/service.yaml" >/dev/null
	kubectl rollout status -n "bench-hand-$i-$$" deployment/getting-started --timeout=120s >/dev/null
	t2=$(now)
	hoist_times+=($(((t1 - t0) / 1000000)))
	hand_times+=($(((t2 - t1) / 1000000)))
done
echo "runs: $RUNS"
report "hoist run" "${hoist_times[*]}" "by hand" "${hand_times[*]}"
