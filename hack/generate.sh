#!/usr/bin/env bash
# Regenerates the Go code of the .proto files under proto/ with the pinned
# buf and protoc-gen-go. With --check it generates into a scratch copy and
# fails when the committed code differs (CI runs that).
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
	echo "generated code is up to date"
	exit 0
fi
buf lint
buf generate
