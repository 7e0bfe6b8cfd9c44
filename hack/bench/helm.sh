#!/usr/bin/env bash
# Benchmark: `hoist run` of examples/helm against the same steps done by
# hand (docker build, docker push, helm upgrade --install --wait), without
# the layer cache, RUNS times each, interleaved, each pair in a fresh
# namespace. Prints each median and their ratio. The helm command is built
# from the same Helm SDK module hoist-render uses, once, into the cache.
# Needs the test environment (make testenv).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/bench/lib.sh
source "$root/hack/bench/lib.sh"
setup helm
helm_version=$(go list -m -f '{{.Version}}' helm.sh/helm/v4)
cache=${HOIST_CACHE:-$HOME/.cache/hoist}/bin
helm="$cache/helm-$helm_version"
if [[ ! -x $helm ]]; then
	echo "building helm $helm_version (once)" >&2
	tmp=$(mktemp -d)
	(cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp" go install "helm.sh/helm/v4/cmd/helm@$helm_version")
	mkdir -p "$cache" && mv "$tmp/helm" "$helm" && rm -rf "$tmp"
fi
trap cleanup_bench EXIT

hoist_times=() hand_times=()
for i in $(seq "$RUNS"); do
	for who in hoist hand; do fresh_namespace "bench-helm-$who-$i-$$"; done
	t0=$(now)
	bin/hoist run -f "$work/app/skaffold.yaml" --default-repo "$HOIST_TEST_REGISTRY" -n "bench-helm-hoist-$i-$$" \
		--tag "bench-helm-hoist-$i" --cache-artifacts=false >/dev/null
	t1=$(now)
	repo="$HOIST_TEST_REGISTRY/helm-app"
	docker build -q --no-cache --network host --build-arg "BASE_IMAGE=$HOIST_TEST_BASE_IMAGE" -t "$repo:bench-helm-hand-$i" "$work/app" >/dev/null
	docker push -q "$repo:bench-helm-hand-$i" >/dev/null
	"$helm" upgrade --install helm-app "$work/app/charts/web" -n "bench-helm-hand-$i-$$" \
		-f "$work/app/charts/web/values.yaml" --set greeting=hello \
		--set "image.repository=$repo" --set "image.tag=bench-helm-hand-$i" --wait --timeout 2m >/dev/null
	t2=$(now)
	hoist_times+=($(((t1 - t0) / 1000000)))
	hand_times+=($(((t2 - t1) / 1000000)))
done
echo "runs: $RUNS"
report "hoist run (helm)" "${hoist_times[*]}" "by hand (helm)" "${hand_times[*]}"
