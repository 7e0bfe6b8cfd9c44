#!/usr/bin/env bash
# Builds the test environment's binaries from the Go module proxy, once, into a
# cache outside the work tree keyed by version: kube-apiserver,
# kube-controller-manager, kube-scheduler and kubectl (one go build of the
# wrapper module in hack/k8sbin/kubernetes), the kubelet (from the same
# module, cached apart so that adding it rebuilt nothing), the pause
# program of the real node's pod sandboxes (C, from the same module), etcd
# and kwok. A second run with the same versions returns in well under a
# second.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=hack/testenv/lib.sh
source "$here/lib.sh"

build_once() { # name dir outdir cmd...
	local name=$1 out=$2; shift 2
	if [[ -f "$out/.complete" ]]; then
		return 0
	fi
	log "building $name into $out (cold: minutes; cached afterwards)"
	rm -rf "$out.tmp"; mkdir -p "$out.tmp"
	local start=$SECONDS
	"$@" "$out.tmp"
	touch "$out.tmp/.complete"
	rm -rf "$out"; mv "$out.tmp" "$out"
	log "built $name in $((SECONDS - start))s"
}

# k8s_ldflags: the version the binaries report (kubectl version, the
# node's kubeletVersion).
k8s_ldflags() {
	local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
	local ld="-s -w"
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
		ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
	done
	echo "$ld"
}

build_kubernetes() {
	(cd "$root/hack/k8sbin/kubernetes" && go build -mod=mod -trimpath -ldflags "$(k8s_ldflags)" -o "$1/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
}

build_kubelet() {
	(cd "$root/hack/k8sbin/kubernetes" && go build -mod=mod -trimpath -ldflags "$(k8s_ldflags)" -o "$1/" \
		k8s.io/kubernetes/cmd/kubelet)
}

# build_pause compiles the pause program as Kubernetes' own image build does
# (build/pause/Makefile): static, so that its image needs nothing else.
build_pause() {
	local mod
	mod=$(cd "$root/hack/k8sbin/kubernetes" && go list -mod=mod -m -f '{{.Dir}}' k8s.io/kubernetes)
	gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-hoist" -o "$1/pause" "$mod/build/pause/linux/pause.c"
}

build_etcd() {
	(cd "$root/hack/k8sbin/etcd" && go build -mod=mod -trimpath -ldflags "-s -w" -o "$1/etcd" .)
}

build_kwok() {
	local out=$1
	(cd "$root/hack/k8sbin/kwok" && go build -mod=mod -trimpath -ldflags "-s -w" -o "$out/" sigs.k8s.io/kwok/cmd/kwok)
	# kwok refuses to start without stages; take them from the same module.
	local mod
	mod=$(cd "$root/hack/k8sbin/kwok" && go list -mod=mod -m -f '{{.Dir}}' sigs.k8s.io/kwok)
	local s=$mod/kustomize/stage
	{
		cat "$s/node/fast/node-initialize.yaml"; echo "---"
		cat "$s/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"; echo "---"
		cat "$s/pod/fast/pod-ready.yaml"; echo "---"
		cat "$s/pod/fast/pod-complete.yaml"; echo "---"
		cat "$s/pod/fast/pod-delete.yaml"
	} >"$out/stages.yaml"
}

build_once "kubernetes $K8S_VERSION" "$(k8s_bin_dir)" build_kubernetes
build_once "kubelet $K8S_VERSION" "$(kubelet_bin_dir)" build_kubelet
build_once "pause $PAUSE_VERSION" "$(pause_bin_dir)" build_pause
build_once "etcd $ETCD_VERSION" "$(etcd_bin_dir)" build_etcd
build_once "kwok $KWOK_VERSION" "$(kwok_bin_dir)" build_kwok
