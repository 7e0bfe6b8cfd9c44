#!/usr/bin/env bash
# Benchmark: what a subscriber attached from the start costs a build,
# by how fast the build prints. A one-artifact custom-builder project
# prints LINES lines (default 1000000), one write a line, at each of
# RATES lines a second (default "250000 500000 max"; max is as fast as
# it can). For each rate it runs, RUNS times (default 5) and interleaved:
#   file  hoist build --event-log-file, stdout to a file
#   sub   the same with --rpc-port, --wait-for-connection and
#         --rpc-linger 0, and `hoist events --after 0 --follow --output json`
#         to a file, started first: the run's wall time includes the drain
#         of its subscriber, as in `make bench-anchor`
# and prints the median wall time of each, their ratio, and the median CPU
# (user + sys) of hoist with its build script and of the subscriber. Each
# sub run checks that the subscriber got the event log file's events,
# byte for byte. The build pushes to a registry started for it (crane registry
# serve, from hack/tools.sh) on 127.0.0.1; it needs no test environment.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/bench/lib.sh
source "$root/hack/bench/lib.sh"
cd "$root"
LINES=${LINES:-1000000}
RATES=${RATES:-250000 500000 max}
RUNS=${RUNS:-5}
PATH="$(bash hack/tools.sh):$PATH"
export PATH
# Copied into place as an installed binary is (see hack/bench/anchor.sh).
go build -o bin/hoist.new ./cmd/hoist
install -m 0755 bin/hoist.new bin/hoist
rm -f bin/hoist.new
hoist=$root/bin/hoist
work=$(mktemp -d)
trap lines_cleanup EXIT
go build -o "$work/lines" ./hack/bench/lines
lines_project "$work" "\"$work/lines\" $LINES \${BENCH_RATE:-}"

build=("$hoist" build -f "$work/app/skaffold.yaml" --default-repo "127.0.0.1:$port" --cache-artifacts=false)
results=$work/results
# run KIND RATE: one build, its times appended to $results as
# "KIND RATE wall cpu client_cpu".
run() {
	local kind=$1 rate=$2 rpc client=0 wall cpu
	rm -f "$work/events.jsonl" "$work/stream.jsonl"
	if [[ $kind == sub ]]; then
		rpc=$(free_port)
		(
			until (exec 3<>"/dev/tcp/127.0.0.1/$rpc") 2>/dev/null; do sleep 0.01; done
			exec /usr/bin/time -o "$work/client.time" -f "%U %S" "$hoist" events --address "127.0.0.1:$rpc" \
				--after 0 --follow --output json >"$work/stream.jsonl"
		) &
		client=$!
		set -- --rpc-port "$rpc" --wait-for-connection --rpc-linger 0
	else
		set --
	fi
	if ! BENCH_RATE=${rate#max} /usr/bin/time -o "$work/hoist.time" -f "%e %U %S" \
		"${build[@]}" --event-log-file "$work/events.jsonl" "$@" >"$work/stdout.jsonl" 2>"$work/stderr.log"; then
		cat "$work/stderr.log" >&2
		exit 1
	fi
	read -r wall u s <"$work/hoist.time"
	cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
	if [[ $kind == sub ]]; then
		wait "$client"
		client=$(awk '{printf "%.2f", $1 + $2}' "$work/client.time")
		# The event log file pads some lines with spaces, so that none
		# crosses a page (see internal/event/sink/file.go).
		if ! cmp -s <(tr -d ' ' <"$work/events.jsonl") <(tr -d ' ' <"$work/stream.jsonl"); then
			echo "subscriber: got $(wc -l <"$work/stream.jsonl") events, the event log file has $(wc -l <"$work/events.jsonl")" >&2
			exit 1
		fi
	fi
	echo "$kind $rate $wall $cpu $client" >>"$results"
}

for rate in $RATES; do
	for _ in $(seq "$RUNS"); do
		run file "$rate"
		run sub "$rate"
	done
done
echo "hoist build of $LINES lines with and without a subscriber, medians of $RUNS runs each (s)"
printf '%-8s %-5s %7s %7s %10s\n' rate run wall cpu client_cpu
awk '
	function median(list,    n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		if (!($2 in seen)) { seen[$2] = 1; rates[++n] = $2 }
		wall[$2, $1] = wall[$2, $1] " " $3; cpu[$2, $1] = cpu[$2, $1] " " $4; client[$2, $1] = client[$2, $1] " " $5
	}
	END {
		for (i = 1; i <= n; i++) {
			r = rates[i]
			for (k = 1; k <= 2; k++) {
				kind = k == 1 ? "file" : "sub"
				w[kind] = median(wall[r, kind])
				printf "%-8s %-5s %7.2f %7.2f %10s\n", r, kind, w[kind], median(cpu[r, kind]), kind == "sub" ? sprintf("%.2f", median(client[r, kind])) : "-"
			}
			printf "%-8s sub / file: %.2f\n", r, w["sub"] / w["file"]
		}
	}' "$results"
