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
go build -o bin/hoist ./cmd/hoist
# The anchor script runs each build from its project folder: HOIST is absolute.
HOIST="$root/bin/hoist" RUNS=${RUNS:-file,hoist-file,hoist-sub} \
	HOIST_SUB_FLAGS=${HOIST_SUB_FLAGS:---wait-for-connection --rpc-linger 0} exec bash "$anchor" "$@"
