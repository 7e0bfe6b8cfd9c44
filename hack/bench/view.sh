#!/usr/bin/env bash
# Benchmark: what the live terminal view costs a build that prints LINES
# lines (default 1000000) as fast as it can. It runs `hoist build` of a
# one-artifact custom-builder project RUNS times (default 5), interleaved:
#   json-file  --event-format json, stdout to a file (what a pipe or a CI
#              job gets)
#   view-pty   no flag, stdout a pseudo-terminal (util-linux `script`):
#              the live view, at most ten frames a second
#   json-pty   --event-format json on the pseudo-terminal: every line
#              drawn, as hoist did on a terminal before the view
# and prints each run's wall time and peak RSS, and their medians. The
# build pushes to a registry started for it (crane registry serve, from
# hack/tools.sh) on 127.0.0.1; it needs no test environment.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=hack/bench/lib.sh
source "$root/hack/bench/lib.sh"
cd "$root"
LINES=${LINES:-1000000}
RUNS=${RUNS:-5}
PATH="$(bash hack/tools.sh):$PATH"
export PATH
go build -o bin/hoist ./cmd/hoist
work=$(mktemp -d)
trap lines_cleanup EXIT
lines_project "$work" "seq -f \"line %.0f of the build output, printed as fast as the build can\" 1 $LINES"

build="$root/bin/hoist build -f $work/app/skaffold.yaml --default-repo 127.0.0.1:$port --cache-artifacts=false"
results="$work/results"
for _ in $(seq "$RUNS"); do
	/usr/bin/time -a -o "$results" -f "json-file %e %M" $build --event-format json >"$work/events.jsonl"
	TERM=xterm-256color script -qfc "/usr/bin/time -a -o $results -f 'view-pty %e %M' $build" /dev/null >/dev/null
	TERM=xterm-256color script -qfc "/usr/bin/time -a -o $results -f 'json-pty %e %M' $build --event-format json" /dev/null >/dev/null
done
echo "hoist build of $LINES lines, $RUNS runs each: wall time (s), peak RSS (MiB)"
for kind in json-file view-pty json-pty; do
	times=$(awk -v k="$kind" '$1 == k {print $2}' "$results" | sort -n | tr '\n' ' ')
	rss=$(awk -v k="$kind" '$1 == k {printf "%.1f\n", $3 / 1024}' "$results" | sort -n | tr '\n' ' ')
	mt=$(printf '%s\n' $times | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
	mr=$(printf '%s\n' $rss | awk '{a[NR]=$1} END {print a[NR]}')
	printf '%-10s time %s median %s   RSS %s max %s\n' "$kind" "$times" "$mt" "$rss" "$mr"
done
