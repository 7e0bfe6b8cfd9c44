#!/usr/bin/env bash
# Draws the README's pictures of the terminal view from a real run:
# TestTerminalViewOfARun runs `hoist run` of a project of two images under
# a pseudo-terminal (Docker builds in parallel, a kubectl deploy, a status
# check, a port forward, Ctrl-C), replays what hoist wrote through a
# terminal emulator, and writes docs/terminal-build.svg (both builds under
# way) and docs/terminal-run.svg (the end of the run). Needs the test
# environment (make testenv).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
go test -count=1 -timeout 10m -run '^TestTerminalViewOfARun$' ./internal/cli/ -args -screenshots "$root/docs"
ls -l docs/terminal-build.svg docs/terminal-run.svg
