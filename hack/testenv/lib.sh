# Shared settings of the test environment scripts; sourced, not run.
# The versions here key the binary cache: change one and the next `up`
# rebuilds only that binary.
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0

HOIST_CACHE_DIR=${HOIST_CACHE_DIR:-$HOME/.cache/hoist}
HOIST_TESTENV_DIR=${HOIST_TESTENV_DIR:-$HOME/.cache/hoist/testenv}

k8s_bin_dir() { echo "$HOIST_CACHE_DIR/bin/kubernetes-$K8S_VERSION"; }
etcd_bin_dir() { echo "$HOIST_CACHE_DIR/bin/etcd-$ETCD_VERSION"; }
kwok_bin_dir() { echo "$HOIST_CACHE_DIR/bin/kwok-$KWOK_VERSION"; }

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: error: %s\n' "$*" >&2; exit 1; }

# Addresses, all on loopback. Override by exporting them before `up`.
ETCD_PORT=${HOIST_TESTENV_ETCD_PORT:-23790}
ETCD_PEER_PORT=${HOIST_TESTENV_ETCD_PEER_PORT:-23800}
APISERVER_PORT=${HOIST_TESTENV_APISERVER_PORT:-16443}
REGISTRY_PORT=${HOIST_TESTENV_REGISTRY_PORT:-15000}
POSTGRES_PORT=${HOIST_TESTENV_POSTGRES_PORT:-15432}
POSTGRES_VERSION=15

STATE=$HOIST_TESTENV_DIR
PIDS=$STATE/pids
LOGS=$STATE/logs
PKI=$STATE/pki
DOCKER_DIR=$STATE/docker
BIN=$STATE/bin

# The components in start order; down stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok dockerd registry postgres)

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

pid_of() { [[ -f $PIDS/$1.pid ]] && cat "$PIDS/$1.pid"; }

running() { # name
	local pid
	pid=$(pid_of "$1") || return 1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
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
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$PIDS/$name.pid"
	log "started $name (pid $!)"
}

# wait_for what seconds cmd...: retries cmd until it succeeds.
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

kubectl_bin() {
	if [[ -x $(k8s_bin_dir)/kubectl ]]; then
		echo "$(k8s_bin_dir)/kubectl"
	else
		command -v kubectl
	fi
}
