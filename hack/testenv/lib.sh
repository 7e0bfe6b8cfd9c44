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
