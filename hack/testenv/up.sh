#!/usr/bin/env bash
# Brings up hoist's test environment on loopback, idempotently: a Docker
# engine, a registry seeded with a busybox base image, a Kubernetes control
# plane (etcd, kube-apiserver, controller manager, scheduler) with two
# nodes, and a PostgreSQL server. The nodes:
#   - hoist-node-0 is real: a kubelet on a containerd of its own, whose pods
#     run (logs, exec, port-forward, real crashes). Ordinary workloads land
#     here.
#   - kwok-node-0 is kwok's fake node, tainted kwok.x-k8s.io/node=fake:NoSchedule,
#     so that only workloads that tolerate the taint go there: scale tests
#     with more replicas than one machine runs.
# Writes $HOIST_TESTENV_DIR/env for shells and tests. The first run builds
# the binaries (minutes); later ones start in seconds. An environment whose
# processes were killed is cleaned up (stale mounts, containers, network)
# and started again.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=hack/testenv/lib.sh
source "$here/lib.sh"
# shellcheck source=hack/testenv/node.sh
source "$here/node.sh"
start_time=$SECONDS

install_packages() {
	local missing=()
	for p in docker.io runc containerd containernetworking-plugins iptables busybox-static openssl iproute2 git curl ca-certificates \
		"postgresql-$POSTGRES_VERSION" chromium; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || die "missing packages ${missing[*]}: install them, or run as root"
	log "installing ${missing[*]}"
	apt-get update -qq
	# Installing docker.io must not start a system dockerd, nor postgresql
	# a system cluster: ours are private.
	local policy=""
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
	fi
	NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[[ -z $policy ]] || rm -f "$policy"
}

make_pki() {
	[[ -f $PKI/.complete ]] && return 0
	log "making certificates and tokens in $PKI"
	rm -rf "$PKI"; mkdir -p "$PKI"
	(
		cd "$PKI"
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=hoist-testenv-ca" \
			-keyout ca.key -out ca.crt 2>/dev/null
		cat >server.ext <<EOX
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth
EOX
		openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout server.key -out server.csr 2>/dev/null
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile server.ext -out server.crt 2>/dev/null
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
		token=$(openssl rand -hex 24)
		echo "$token,hoist-admin,hoist-admin,system:masters" >tokens.csv
		echo "$token" >admin.token
	)
	touch "$PKI/.complete"
}

write_kubeconfig() {
	kubeconfig hoist-admin "token: $(cat "$PKI/admin.token")" >"$STATE/kubeconfig"
}

start_kubernetes() {
	local k8s kwok
	k8s=$(k8s_bin_dir) kwok=$(kwok_bin_dir)
	start etcd "$(etcd_bin_dir)/etcd" --name testenv --data-dir "$STATE/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "testenv=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" \
		--unsafe-no-fsync --log-level warn
	wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
	start kube-apiserver "$k8s/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
		--tls-cert-file "$PKI/server.crt" --tls-private-key-file "$PKI/server.key" --client-ca-file "$PKI/ca.crt" \
		--token-auth-file "$PKI/tokens.csv" --authorization-mode Node,RBAC \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
		--disable-admission-plugins ServiceAccount --allow-privileged --profiling=false \
		--kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types Hostname,InternalIP
	wait_for kube-apiserver 60 "$(kubectl_bin)" --kubeconfig "$STATE/kubeconfig" get --raw /readyz
	start kube-controller-manager "$k8s/kube-controller-manager" --kubeconfig "$STATE/kubeconfig" \
		--controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route,-persistentvolume-binder,-attachdetach' \
		--leader-elect=false --bind-address 127.0.0.1 --secure-port 0 \
		--service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" --profiling=false
	start kube-scheduler "$k8s/kube-scheduler" --kubeconfig "$STATE/kubeconfig" \
		--leader-elect=false --bind-address 127.0.0.1 --secure-port 0 --profiling=false
	start kwok "$kwok/kwok" --kubeconfig "$STATE/kubeconfig" --config "$kwok/stages.yaml" \
		--manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
		--node-ip 127.0.0.1 --node-lease-duration-seconds 40
	"$(kubectl_bin)" --kubeconfig "$STATE/kubeconfig" apply -f - >/dev/null <<'EOF2'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
spec:
  taints:
  - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF2
	wait_for "node kwok-node-0 Ready" 90 "$(kubectl_bin)" --kubeconfig "$STATE/kubeconfig" wait --for=condition=Ready node/kwok-node-0 --timeout=1s
	# The default ServiceAccount, which the ServiceAccount admission plugin
	# would otherwise wait for, comes from the controller manager.
	wait_for "default service account" 60 "$(kubectl_bin)" --kubeconfig "$STATE/kubeconfig" get serviceaccount default
}

start_docker() {
	mkdir -p "$DOCKER_DIR"
	if ! running dockerd; then
		docker_leftovers
		rm -f "$DOCKER_DIR/dockerd.pid"
	fi
	if [[ -d $DOCKER_DIR/data ]]; then
		# Environments before overlay2 kept vfs copies of every layer here.
		log "removing the vfs storage of an older environment"
		rm -rf "$DOCKER_DIR/data"
	fi
	start dockerd dockerd --data-root "$DOCKER_DIR/data-overlay2" --exec-root "$DOCKER_DIR/exec" \
		-H "unix://$DOCKER_DIR/docker.sock" --pidfile "$DOCKER_DIR/dockerd.pid" \
		--storage-driver overlay2 --iptables=false --ip6tables=false --bridge none \
		--insecure-registry "127.0.0.1:$REGISTRY_PORT"
	wait_for dockerd 60 env DOCKER_HOST="unix://$DOCKER_DIR/docker.sock" docker version
}

start_registry() {
	start registry "$BIN/registry" --addr "127.0.0.1:$REGISTRY_PORT" --dir "$STATE/registry"
	wait_for registry 30 curl -sf "http://127.0.0.1:$REGISTRY_PORT/v2/"
	if [[ ! -f $STATE/base-image ]] || ! curl -sf -o /dev/null "http://127.0.0.1:$REGISTRY_PORT/v2/busybox/manifests/latest"; then
		"$BIN/baseimage" --busybox /bin/busybox --ref "127.0.0.1:$REGISTRY_PORT/busybox:latest" >"$STATE/base-image"
		log "seeded base image $(cat "$STATE/base-image")"
	fi
}

start_postgres() {
	local dir bin
	dir=$(postgres_dir) bin=$(postgres_bin)
	if [[ ! -f $dir/PG_VERSION ]]; then
		log "creating a PostgreSQL cluster in $dir"
		rm -rf "$dir"; mkdir -p "$dir"
		[[ $(id -u) == 0 ]] && chown postgres:postgres "$dir"
		as_postgres "$bin/initdb" -D "$dir" -U hoist --auth=trust -E UTF8 --no-instructions >/dev/null
	fi
	# Loopback only, its socket beside its data.
	local run=()
	[[ $(id -u) == 0 ]] && run=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	start postgres "${run[@]}" "$bin/postgres" -D "$dir" -h 127.0.0.1 -p "$POSTGRES_PORT" -k "$dir" \
		-c max_connections=200 -c shared_buffers=128MB
	wait_for postgres 60 as_postgres "$bin/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U hoist
	if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U hoist -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'hoist'" | grep -q 1; then
		as_postgres "$bin/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U hoist hoist
	fi
}

write_env() {
	local path_dirs
	path_dirs=$(k8s_bin_dir)
	cat >"$STATE/env" <<EOF2
# hoist test environment; source this file.
export HOIST_TESTENV_DIR="$STATE"
export DOCKER_HOST="unix://$DOCKER_DIR/docker.sock"
export KUBECONFIG="$STATE/kubeconfig"
export HOIST_TEST_REGISTRY="127.0.0.1:$REGISTRY_PORT"
export HOIST_TEST_BASE_IMAGE="127.0.0.1:$REGISTRY_PORT/busybox:latest"
export HOIST_TEST_POSTGRES="postgres://hoist@127.0.0.1:$POSTGRES_PORT/hoist?sslmode=disable"
export HOIST_TEST_CHROMIUM="$(command -v chromium)"
export PATH="$path_dirs:\$PATH"
EOF2
}

lock_env
mkdir -p "$STATE" "$BIN"
install_packages
bash "$here/build-bins.sh"
(cd "$root" && go build -trimpath -o "$BIN/" ./hack/testenv/registry ./hack/testenv/baseimage)
make_pki
make_node_pki
write_kubeconfig
node_record_host
start_docker
start_registry
start_kubernetes
start_node
start_postgres
write_env
log "up in $((SECONDS - start_time))s; source $STATE/env"
