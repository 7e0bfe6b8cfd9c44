#!/usr/bin/env bash
# Builds the pinned developer tools of hack/tools/go.mod (buf, protoc-gen-go, protoc-gen-connect-go,
# staticcheck, crane, grpcurl from hack/tools/grpcurl and golangci-lint from hack/tools/golangci-lint) once into a
# cache keyed by the hash of those go.mod and go.sum files, and prints the folder that holds them. Callers put it
# first on PATH.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${HOIST_CACHE_DIR:-$HOME/.cache/hoist}
key=$(cat "$root"/hack/tools/go.{mod,sum} "$root"/hack/tools/grpcurl/go.{mod,sum} \
	"$root"/hack/tools/golangci-lint/go.{mod,sum} | sha256sum | cut -c1-16)
out=$cache/tools/$key
if [[ ! -f $out/.complete ]]; then
	echo "tools: building buf, protoc-gen-go, protoc-gen-connect-go, staticcheck, crane, grpcurl and golangci-lint into $out (cold: a few minutes)" >&2
	mkdir -p "$out"
	(cd "$root/hack/tools" && go build -trimpath -o "$out/" \
		github.com/bufbuild/buf/cmd/buf \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		connectrpc.com/connect/cmd/protoc-gen-connect-go \
		honnef.co/go/tools/cmd/staticcheck \
		github.com/google/go-containerregistry/cmd/crane)
	(cd "$root/hack/tools/grpcurl" && go build -trimpath -o "$out/" github.com/fullstorydev/grpcurl/cmd/grpcurl)
	(cd "$root/hack/tools/golangci-lint" && go build -trimpath -o "$out/" \
		github.com/golangci/golangci-lint/v2/cmd/golangci-lint)
	touch "$out/.complete"
fi
echo "$out"
