#!/usr/bin/env bash
# Benchmark: `hoist build` of examples/getting-started against `docker build`
# + `docker push` of the same context on the same daemon, both without the
# layer cache, RUNS times each, interleaved. Prints each median and their
# ratio. Needs the test environment (make testenv).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/bench/lib.sh
source "$root/hack/bench/lib.sh"
setup
trap 'rm -rf "$work"' EXIT

hoist_times=() docker_times=()
for i in $(seq "$RUNS"); do
	t0=$(now)
	bin/hoist build -f "$work/app/skaffold.yaml" --default-repo "$HOIST_TEST_REGISTRY" \
		--tag "bench-hoist-$i" --cache-artifacts=false >/dev/null
	t1=$(now)
	ref="$HOIST_TEST_REGISTRY/getting-started:bench-docker-$i"
	docker build -q --no-cache --network host --build-arg "BASE_IMAGE=$HOIST_TEST_BASE_IMAGE" -t "$ref" "$work/app" >/dev/null
	docker push -q "$ref" >/dev/null
	t2=$(now)
	hoist_times+=($(((t1 - t0) / 1000000)))
	docker_times+=($(((t2 - t1) / 1000000)))
done
echo "runs: $RUNS"
report "hoist build" "${hoist_times[*]}" "docker build + push" "${docker_times[*]}"
