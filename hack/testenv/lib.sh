# Shared settings of the test environment scripts; sourced, not run.
# The versions here key the binary cache: change one and the next `up`
# rebuilds only that binary.
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
# The pause image's version, compiled from the same Kubernetes module. The
# kubelet above pairs with Debian 12's containerd 1.6 and runc 1.1: containerd
# 1.x stops working with kubelet 1.37, so the three move together.
PAUSE_VERSION=3.10.2

HOIST_CACHE_DIR=${HOIST_CACHE_DIR:-$HOME/.cache/hoist}
HOIST_TESTENV_DIR=${HOIST_TESTENV_DIR:-$HOME/.cache/hoist/testenv}

k8s_bin_dir() { echo "$HOIST_CACHE_DIR/bin/kubernetes-$K8S_VERSION"; }
etcd_bin_dir() { echo "$HOIST_CACHE_DIR/bin/etcd-$ETCD_VERSION"; }
kwok_bin_dir() { echo "$HOIST_CACHE_DIR/bin/kwok-$KWOK_VERSION"; }
kubelet_bin_dir() { echo "$HOIST_CACHE_DIR/bin/kubelet-$K8S_VERSION"; }
pause_bin_dir() { echo "$HOIST_CACHE_DIR/bin/pause-$PAUSE_VERSION"; }

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: error: %s\n' "$*" >&2; exit 1; }

# Addresses, all on loopback. Override by exporting them before `up`.
ETCD_PORT=${HOIST_TESTENV_ETCD_PORT:-23790}
ETCD_PEER_PORT=${HOIST_TESTENV_ETCD_PEER_PORT:-23800}
APISERVER_PORT=${HOIST_TESTENV_APISERVER_PORT:-16443}
REGISTRY_PORT=${HOIST_TESTENV_REGISTRY_PORT:-15000}
POSTGRES_PORT=${HOIST_TESTENV_POSTGRES_PORT:-15432}
POSTGRES_VERSION=15
KUBELET_PORT=${HOIST_TESTENV_KUBELET_PORT:-10250}
KUBELET_HEALTHZ_PORT=${HOIST_TESTENV_KUBELET_HEALTHZ_PORT:-10248}

# The real node: its name resolves to loopback through a line in /etc/hosts,
# and its pods live on a bridge of their own with the first address of the
# pod network, which is also the node's InternalIP (the kubelet refuses a
# loopback one).
NODE_NAME=hoist-node-0
NODE_BRIDGE=hoist0
POD_CIDR=10.88.0.0/24
NODE_IP=10.88.0.1
HOSTS_MARK="# hoist-testenv node"

STATE=$HOIST_TESTENV_DIR
PIDS=$STATE/pids
LOGS=$STATE/logs
PKI=$STATE/pki
DOCKER_DIR=$STATE/docker
BIN=$STATE/bin
NODE_DIR=$STATE/node
CONTAINERD_SOCK=$NODE_DIR/containerd/containerd.sock

# The components in start order; down stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok dockerd registry containerd kubelet postgres)

# PostgreSQL refuses to run as root, so as root it runs as Debian's postgres
# user, with its data where that user can reach it; otherwise as the user,
# under $STATE.
postgres_dir() {
	if [[ $(id -u) == 0 ]]; then
		echo "/var/lib/postgresql/hoist-testenv-$POSTGRES_PORT"
	else
		echo "$STATE/postgres"
	fi
}
postgres_bin() { echo "/usr/lib/postgresql/$POSTGRES_VERSION/bin"; }
# as_postgres cmd...: runs cmd as the user that owns the database.
as_postgres() {
	if [[ $(id -u) == 0 ]]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}

# alive pid: the process runs (a zombie, waiting for whoever reaps the
# orphans of this machine, has ended).
alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

pid_of() { [[ -f $PIDS/$1.pid ]] && cat "$PIDS/$1.pid"; }

running() { # name
	local pid
	pid=$(pid_of "$1") || return 1
	[[ -n $pid ]] && alive "$pid"
}

# start name cmd...: starts a component in the background, in its own
# session, logging to $LOGS/name.log, and records its PID.
start() {
	local name=$1; shift
	if running "$name"; then
		log "$name already runs (pid $(pid_of "$name"))"
		return 0
	fi
	mkdir -p "$PIDS" "$LOGS"
	# Not holding lock_env's lock: the component outlives up.
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
	echo $! >"$PIDS/$name.pid"
	log "started $name (pid $!)"
}

# stop name: stops a component by its recorded PID, TERM first and KILL
# after 10 s.
stop() {
	local name=$1 pid sig=TERM
	# PostgreSQL's TERM waits for clients to leave; INT ends their sessions.
	[[ $name == postgres ]] && sig=INT
	pid=$(pid_of "$name") || return 0
	if [[ -n $pid ]] && alive "$pid"; then
		kill -"$sig" "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "$name (pid $pid) did not stop; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		log "stopped $name (pid $pid)"
	fi
	rm -f "$PIDS/$name.pid"
}

# docker_leftovers takes down what dockerd leaves when it was stopped or
# killed: its own containerd (by the PID it recorded) and its mounts.
docker_leftovers() {
	local pid mnt
	if [[ -f $DOCKER_DIR/exec/containerd/containerd.pid ]]; then
		pid=$(cat "$DOCKER_DIR/exec/containerd/containerd.pid")
		if [[ -n $pid ]] && alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		# dockerd takes a PID in this file that answers kill -0 (a zombie
		# does, until it is reaped) for a containerd to reuse, and waits for
		# it in vain.
		rm -f "$DOCKER_DIR/exec/containerd/containerd.pid"
	fi
	while read -r mnt; do
		umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	done < <(awk -v d="$DOCKER_DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
}

: retries cmd until it succeeds.
wait_for() {
	local what=$1 secs=$2; shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			die "$what not ready after ${secs}s; see $LOGS"
		fi
		sleep 0.2
	done
}

# lock_env waits until no other up or down works on this environment, and
# holds it until the script ends.
lock_env() {
	mkdir -p "$STATE"
	exec 9>"$STATE/.lock"
	if ! flock -n 9; then
		log "waiting for another up or down of $STATE"
		flock 9
	fi
}

# kubeconfig user credential...: a kubeconfig for the API server as user,
# whose credentials are the given "key: value" lines.
kubeconfig() {
	local user=$1 line; shift
	cat <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: hoist-testenv
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $user
  user:
EOF2
	for line in "$@"; do
		echo "    $line"
	done
	cat <<EOF2
contexts:
- name: hoist-testenv
  context:
    cluster: hoist-testenv
    user: $user
    namespace: default
current-context: hoist-testenv
EOF2
}

kubectl_bin() {
	if [[ -x $(k8s_bin_dir)/kubectl ]]; then
		echo "$(k8s_bin_dir)/kubectl"
	else
		command -v kubectl
	fi
}
