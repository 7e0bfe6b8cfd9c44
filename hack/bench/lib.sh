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
