#!/bin/sh
# Builds $IMAGE from the files in app/ and pushes it with crane. hoist runs
# this with IMAGE, PUSH_IMAGE, BUILD_CONTEXT and PLATFORMS set; every line
# it prints becomes a buildEvent.
set -eu
if [ "$PUSH_IMAGE" != "true" ]; then
	echo "this example pushes its image: set build.local.push or pass --push" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "packing $(find app -type f | wc -l) files of app/ into a layer"
tar -C app --owner=0 --group=0 --mtime=@0 --sort=name -cf "$tmp/layer.tar" .
echo "appending the layer and pushing $IMAGE"
crane append --platform linux/amd64 --new_layer "$tmp/layer.tar" --new_tag "$IMAGE" 2>&1
echo "pushed $IMAGE"
