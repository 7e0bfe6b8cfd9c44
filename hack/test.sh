#!/usr/bin/env bash
# The README's test command (make test), and what CI runs: checks that the
# generated code is fresh, gofmt, go vet, staticcheck and golangci-lint
# (.golangci.yml), brings up the test environment (installing what it needs),
# runs every Go test with -race against it, runs the demo, and tests the
# environment's own lifecycle (down, killed, up again). An environment
# this script started is stopped again at the end; one that was already up
# stays up.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
step() { printf '\n== %s\n' "$*" >&2; }

step "tools"
tools=$(bash hack/tools.sh)
PATH="$tools:$PATH"
export PATH

step "generated code"
bash hack/generate.sh --check

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [[ -n $unformatted ]]; then
	echo "not gofmt-ed:" >&2; echo "$unformatted" >&2; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
staticcheck ./...

step "golangci-lint"
golangci-lint run ./...

step "test environment"
# shellcheck source=hack/testenv/lib.sh
source hack/testenv/lib.sh
if ! bash hack/testenv/status.sh >/dev/null 2>&1; then
	trap 'bash hack/testenv/down.sh' EXIT
fi
bash hack/testenv/up.sh
# shellcheck disable=SC1091
source "$HOIST_TESTENV_DIR/env"

step "go test -race"
go test -race -count=1 -timeout 20m ./...

step "demo"
bash hack/demo.sh >/dev/null
echo "demo ok" >&2

step "test environment lifecycle"
# Last: it takes the environment down and kills it on purpose.
bash hack/testenv/lifecycle-test.sh
