#!/usr/bin/env bash
# Regenerates what is generated: the Go code of the .proto files under proto/
# (with the pinned buf and protoc-gen-go), the event JSON encoder (from the
# proto descriptor, internal/event/jsonenc_gen.go) and docs/errors.md (from
# the error catalog in internal/fault). With --check it generates into a scratch copy
# and fails when the committed files differ (CI and make lint run that); it
# also checks the dashboard's vendored chart library (hack/webdeps.sh --check).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PATH="$(bash "$root/hack/tools.sh"):$PATH"
cd "$root"
if [[ ${1:-} == --check ]]; then
	tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
	cp -r buf.yaml buf.gen.yaml proto "$tmp/"
	(cd "$tmp" && buf generate)
	if ! diff -r "$tmp/api" api; then
		echo "generated code is stale: run hack/generate.sh and commit the result" >&2
		exit 1
	fi
	go run ./internal/fault/gendoc -check -o docs/errors.md
	go run ./internal/event/internal/jsongen -check -o internal/event/jsonenc_gen.go
	bash hack/webdeps.sh --check
	echo "generated code is up to date"
	exit 0
fi
buf lint
buf generate
go generate ./internal/fault ./internal/event
