#!/usr/bin/env bash
# Anchor: hoist's event pipeline side by side with Skaffold v2.13.2's, on the
# same one-artifact custom-builder project that prints N lines, with
# ../shared/bench/anchor-skaffold.sh (ANCHOR_SCRIPT to use another copy).
# It builds bin/hoist and runs Skaffold with an event log file (file), hoist
# with one (hoist-file), and hoist with one and a `hoist events --follow`
# subscriber (hoist-sub), for each N given, 200000 and 1000000 lines unless
# told otherwise, and prints the script's table. RUNS overrides the kinds.
# hoist-sub waits for its subscriber before starting, as Skaffold's sub run
# does (--wait-for-connection), and so does not linger for late ones
# (--rpc-linger 0): its wall time is the run and the drain of the
# subscriber. HOIST_SUB_FLAGS overrides those flags.
#
# REPEAT=k (default 1) runs the kinds k times, interleaved, and then prints
# for each N and kind the median wall and CPU time, the largest peak RSS
# and the fewest events a subscriber got, with the ratios that hoist's
# targets are stated in: hoist-file against Skaffold's file run and the
# script alone, hoist-sub against hoist-file. (The script appends the
# event log files of repeated runs, so its v2_ev column counts them all.)
#
# The first run builds Skaffold from the Go module proxy (minutes) into
# ~/.cache/hoist-anchors; later runs only use 127.0.0.1. Needs no test
# environment.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
anchor=${ANCHOR_SCRIPT:-$root/../shared/bench/anchor-skaffold.sh}
if [[ ! -f $anchor ]]; then
	echo "anchor: $anchor not found; set ANCHOR_SCRIPT to anchor-skaffold.sh" >&2
	exit 1
fi
if (($# == 0)); then
	set -- 200000 1000000
fi
cd "$root"
# The binary is copied into place, as an installed one is: fresh from the
# linker, which writes its output through a memory map, the same binary
# keeps 12-14 MiB more of its own file resident (peak RSS of a 1M-line
# hoist-file run: 77.9-79.4 MiB against 64.8-67.2 for a copy of it).
go build -o bin/hoist.new ./cmd/hoist
install -m 0755 bin/hoist.new bin/hoist
rm -f bin/hoist.new
kinds=${RUNS:-file,hoist-file,hoist-sub}
repeat=${REPEAT:-1}
runs=$kinds
for ((i = 1; i < repeat; i++)); do
	runs+=",$kinds"
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The anchor script runs each build from its project folder: HOIST is absolute.
HOIST="$root/bin/hoist" RUNS=$runs \
	HOIST_SUB_FLAGS=${HOIST_SUB_FLAGS:---wait-for-connection --rpc-linger 0} bash "$anchor" "$@" | tee "$out"
((repeat > 1)) || exit 0
echo
echo "medians of $repeat interleaved runs (wall and CPU in s; the largest peak RSS in MiB; the fewest events a subscriber got)"
awk '
	function median(list,    n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$1 ~ /^[0-9]+$/ && NF >= 13 {
		key = $1 " " $2
		if (!(key in wall)) order[++keys] = key
		wall[key] = wall[key] " " $3; cpu[key] = cpu[key] " " $4
		if ($5 > rss[key]) rss[key] = $5
		if ($10 != "-" && (!(key in subev) || $10 < subev[key])) subev[key] = $10
	}
	END {
		printf "%-8s %-11s %7s %7s %8s %9s\n", "N", "run", "wall_s", "cpu_s", "rss_MiB", "sub_ev"
		for (k = 1; k <= keys; k++) {
			key = order[k]; split(key, p, " ")
			w[key] = median(wall[key]); c[key] = median(cpu[key])
			printf "%-8s %-11s %7.2f %7.2f %8.1f %9s\n", p[1], p[2], w[key], c[key], rss[key], (key in subev) ? subev[key] : "-"
		}
		for (k = 1; k <= keys; k++) {
			key = order[k]; split(key, p, " "); n = p[1]
			if (p[2] != "hoist-file") continue
			if ((n " file") in w) printf "N=%s  hoist-file / Skaffold file: %.2f\n", n, w[key] / w[n " file"]
			if ((n " script") in w) printf "N=%s  hoist-file - script alone: %+.2f s\n", n, w[key] - w[n " script"]
			if ((n " hoist-sub") in w) printf "N=%s  hoist-sub / hoist-file: %.2f\n", n, w[n " hoist-sub"] / w[key]
		}
	}' "$out"
