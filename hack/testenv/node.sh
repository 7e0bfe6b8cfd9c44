# The test environment's real node, sourced by up.sh and down.sh after
# lib.sh: a containerd of its own (CRI, overlayfs, runc) and a kubelet
# registered as $NODE_NAME, with pods on the bridge $NODE_BRIDGE.
#
# Everything it writes lives under $NODE_DIR, except what the kubelet and
# the CNI plugins change on the host whatever they are told: sysctls,
# /kubepods cgroups, iptables chains, a few fixed paths, the bridge, and the
# /etc/hosts line that makes the node's name resolve without a resolver.
# node_record_host notes the host as it was before the first of those
# changes; node_cleanup undoes them all, from a clean stop or from an
# environment whose processes were all killed.

# What the kubelet sets on start (kernel defaults it wants), and the paths it
# creates wherever its root directory is.
NODE_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
NODE_HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /usr/libexec/kubernetes /run/containerd)
# The cgroups the kubelet and dockerd make in every hierarchy.
NODE_CGROUPS=(kubepods docker)
NODE_IPTABLES_CHAINS=(KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT KUBE-MARK-DROP)
# containerd 1.6 puts its shims' sockets here, whatever its state directory.
SHIM_SOCKET_DIR=/run/containerd/s

PAUSE_IMAGE="127.0.0.1:$REGISTRY_PORT/pause:$PAUSE_VERSION"

# node_record_host writes $NODE_DIR/host-before once, before dockerd or the
# node start: the sysctl values, the paths and cgroups that did not exist
# and the shim sockets that did. It stays until node_cleanup has put the
# host back.
node_record_host() {
	local f=$NODE_DIR/host-before
	[[ -f $f ]] && return 0
	mkdir -p "$NODE_DIR"
	{
		for s in "${NODE_SYSCTLS[@]}"; do
			echo "sysctl $s $(sysctl -n "$s")"
		done
		for p in "${NODE_HOST_PATHS[@]}"; do
			[[ -e $p ]] || echo "absent $p"
		done
		for c in "${NODE_CGROUPS[@]}"; do
			compgen -G "/sys/fs/cgroup/*/$c" >/dev/null || echo "cgroup $c"
		done
		if [[ -d $SHIM_SOCKET_DIR ]]; then
			for s in "$SHIM_SOCKET_DIR"/*; do
				[[ -e $s ]] && echo "socket $s"
			done
		fi
	} >"$f.tmp"
	mv "$f.tmp" "$f"
}

# node_hosts_line makes $NODE_NAME resolve to loopback, where the kubelet
# listens, before the kubelet or the API server look it up.
node_hosts_line() {
	grep -qF "$HOSTS_MARK" /etc/hosts && return 0
	# Appending in place keeps /etc/hosts the same file (it may be a mount).
	printf '127.0.0.1 %s %s\n' "$NODE_NAME" "$HOSTS_MARK" >>/etc/hosts
}

node_bridge() {
	ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && return 0
	ip link add "$NODE_BRIDGE" type bridge
	ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$NODE_BRIDGE"
	ip link set "$NODE_BRIDGE" up
}

make_node_pki() {
	[[ -f $PKI/.node-complete ]] && return 0
	log "making the node's certificates in $PKI"
	(
		cd "$PKI"
		# The kubelet's identity, which the Node authorizer knows by its name.
		openssl req -newkey rsa:2048 -nodes -subj "/O=system:nodes/CN=system:node:$NODE_NAME" \
			-keyout kubelet-client.key -out kubelet-client.csr 2>/dev/null
		openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
			-out kubelet-client.crt 2>/dev/null
		# The API server's identity towards the kubelet (logs, exec, port-forward).
		openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
			-keyout apiserver-kubelet-client.key -out apiserver-kubelet-client.csr 2>/dev/null
		openssl x509 -req -in apiserver-kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
			-out apiserver-kubelet-client.crt 2>/dev/null
	)
	touch "$PKI/.node-complete"
}

write_node_config() {
	local c=$NODE_DIR/containerd
	mkdir -p "$c/certs.d/127.0.0.1:$REGISTRY_PORT" "$NODE_DIR/cni/net.d" "$NODE_DIR/kubelet"
	cat >"$c/certs.d/127.0.0.1:$REGISTRY_PORT/hosts.toml" <<EOF2
server = "http://127.0.0.1:$REGISTRY_PORT"

[host."http://127.0.0.1:$REGISTRY_PORT"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
EOF2
	cat >"$c/config.toml" <<EOF2
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$c/containerd.ttrpc.sock"

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # Root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj would fail
  # every container's start.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$c/certs.d"
EOF2
	# No gateway and no masquerade: pods reach each other and the host's
	# bridge address, nothing beyond.
	cat >"$NODE_DIR/cni/net.d/10-hoist-testenv.conflist" <<EOF2
{
  "cniVersion": "1.0.0",
  "name": "hoist-testenv",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "dataDir": "$NODE_DIR/cni/ipam"
      }
    }
  ]
}
EOF2
	# Pods resolve names on their own loopback only: nothing leaves the
	# machine.
	echo "nameserver 127.0.0.1" >"$NODE_DIR/kubelet/resolv.conf"
	cat >"$NODE_DIR/kubelet/config.yaml" <<EOF2
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
# This machine's cgroups are v1, which kubelet 1.36 refuses unless told.
failCgroupV1: false
failSwapOn: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
resolvConf: $NODE_DIR/kubelet/resolv.conf
hairpinMode: none
makeIPTablesUtilChains: false
podLogsDir: $NODE_DIR/pod-logs
volumePluginDir: $NODE_DIR/volume-plugins
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
maxPods: 110
EOF2
	kubeconfig "$NODE_NAME" "client-certificate: $PKI/kubelet-client.crt" \
		"client-key: $PKI/kubelet-client.key" >"$NODE_DIR/kubelet/kubeconfig"
}

# start_node starts containerd and the kubelet, and waits for the node to be
# Ready. The registry must answer: the pause image is pushed to it here.
start_node() {
	if ! running containerd || ! running kubelet; then
		# A node that was stopped or killed, whole or in part, leaves
		# containers, mounts and network behind: start both from a clean host.
		stop kubelet
		stop containerd
		node_stop_runtime
	fi
	write_node_config
	node_hosts_line
	node_bridge
	if ! curl -sf -o /dev/null "http://127.0.0.1:$REGISTRY_PORT/v2/pause/manifests/$PAUSE_VERSION"; then
		"$BIN/baseimage" --pause "$(pause_bin_dir)/pause" --ref "$PAUSE_IMAGE" >/dev/null
		log "pushed the pause image $PAUSE_IMAGE"
	fi
	start containerd containerd --config "$NODE_DIR/containerd/config.toml"
	wait_for containerd 30 ctr --address "$CONTAINERD_SOCK" version
	local t0=$SECONDS restarts=0
	node_start_kubelet
	# containerd answers before its CRI plugin has recovered its state, and
	# a kubelet started in between exits ("server is not initialized
	# yet"): start it again, a few times, until this kubelet answers its
	# health check and the node is Ready (a Ready left by the kubelet
	# before it would not prove anything).
	until curl -sf -o /dev/null "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" &&
		"$(kubectl_bin)" --kubeconfig "$STATE/kubeconfig" wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s >/dev/null 2>&1; do
		if ((SECONDS - t0 >= 90)); then
			die "node $NODE_NAME not ready after 90s; see $LOGS"
		fi
		if ! running kubelet; then
			((restarts++ < 5)) || die "the kubelet keeps exiting; see $LOGS/kubelet.log"
			log "the kubelet exited before the node was Ready; starting it again"
			sleep 1
			node_start_kubelet
		fi
		sleep 0.2
	done
	log "node $NODE_NAME Ready $((SECONDS - t0))s after the kubelet started"
}

node_start_kubelet() {
	start kubelet "$(kubelet_bin_dir)/kubelet" --config "$NODE_DIR/kubelet/config.yaml" \
		--kubeconfig "$NODE_DIR/kubelet/kubeconfig" --root-dir "$NODE_DIR/kubelet/root" \
		--cert-dir "$NODE_DIR/kubelet/pki" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
		--node-labels "hoist.dev/testenv-node=real"
}

# node_runtime_pids lists the processes the node runs beside containerd and
# the kubelet: the shims of our containerd (by the socket they name) and
# every process in the kubelet's pod cgroups.
node_runtime_pids() {
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		if [[ $cmd == *containerd-shim* && $cmd == *"$CONTAINERD_SOCK"* ]]; then
			echo "${p#/proc/}"
		fi
	done
	if [[ -d /sys/fs/cgroup/pids/kubepods ]]; then
		find /sys/fs/cgroup/pids/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null
	fi
}

# node_stop_runtime ends the containers and shims of the node and takes
# down what they leave: mounts under $NODE_DIR, network namespaces, the
# bridge and its veths, and the kubelet's cgroups. containerd and the
# kubelet themselves are stopped (or already dead) by then.
node_stop_runtime() {
	local pids tries=0
	while pids=$(node_runtime_pids) && [[ -n $pids ]]; do
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null || true
		if ((++tries > 50)); then
			log "processes of the node survive SIGKILL: $(echo $pids)"
			break
		fi
		sleep 0.1
	done
	local mnt
	while read -r mnt; do
		umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "cannot unmount $mnt"
	done < <(awk -v d="$NODE_DIR/" 'index($2, d) == 1 || $2 == substr(d, 1, length(d) - 1) {print $2}' /proc/mounts | sort -r)
	if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
		local veth
		for veth in $(ip -o link show master "$NODE_BRIDGE" | awk -F': ' '{print $2}' | cut -d@ -f1); do
			ip link del "$veth" 2>/dev/null || true
		done
	fi
	remove_cgroup kubepods
	# The IP addresses host-local handed out belong to pods that are gone,
	# and so do the runtime's bundles; its images (root) stay.
	rm -rf "$NODE_DIR/cni/ipam"
	if ! grep -q " $NODE_DIR/" /proc/mounts; then
		rm -rf "$NODE_DIR/containerd/state"
	fi
	return 0
}

# remove_cgroup name removes /name, and all below it, from every cgroup
# hierarchy. The processes in it must have ended.
remove_cgroup() {
	local h
	for h in /sys/fs/cgroup/*/"$1"; do
		[[ -d $h ]] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

node_remove_iptables() {
	local cmd t chain rule
	for cmd in iptables ip6tables; do
		command -v "$cmd" >/dev/null || continue
		for t in filter nat mangle; do
			for chain in "${NODE_IPTABLES_CHAINS[@]}"; do
				"$cmd" -w -t "$t" -S "$chain" >/dev/null 2>&1 || continue
				while read -r rule; do
					eval "$cmd -w -t $t ${rule/#-A/-D}" || true
				done < <("$cmd" -w -t "$t" -S | grep -E -- "-j $chain( |\$)" | grep -- '^-A')
				"$cmd" -w -t "$t" -F "$chain" && "$cmd" -w -t "$t" -X "$chain" || log "cannot remove $cmd -t $t chain $chain"
			done
		done
	done
}

# node_cleanup puts the host back as node_record_host found it. containerd
# and the kubelet must be stopped.
node_cleanup() {
	node_stop_runtime
	if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
		ip link del "$NODE_BRIDGE"
	fi
	node_remove_iptables
	if grep -qF "$HOSTS_MARK" /etc/hosts; then
		local kept
		kept=$(grep -vF "$HOSTS_MARK" /etc/hosts)
		printf '%s\n' "$kept" >/etc/hosts
	fi
	local f=$NODE_DIR/host-before kind what value s
	[[ -f $f ]] || return 0
	while read -r kind what value; do
		case $kind in
		sysctl) [[ $(sysctl -n "$what") == "$value" ]] || sysctl -qw "$what=$value" ;;
		absent) rm -rf "$what" ;;
		cgroup) remove_cgroup "$what" ;;
		esac
	done <"$f"
	if [[ -d $SHIM_SOCKET_DIR ]]; then
		for s in "$SHIM_SOCKET_DIR"/*; do
			[[ -S $s ]] && ! grep -qxF "socket $s" "$f" && rm -f "$s"
		done
	fi
	rm -f "$f"
}
