#!/usr/bin/env bash
# with-node-lock.sh LABEL SCRIPT.py [ARGS...]: runs e2e/cluster/SCRIPT.py holding /tmp/gpupt-node.lock,
# for run.sh (the cluster e2e) and in-cluster.sh (the images in a cluster). The kubelet and containerd are
# one per machine (fixed /var/lib/kubelet, /run/containerd, ports), so the whole run holds the lock: a second
# run (another checkout, a developer, CI) waits for it instead of colliding. Installs python3 when missing.
set -euo pipefail
lock=/tmp/gpupt-node.lock
label=$1 script=$2
shift 2
if [ "${GPUPT_NODE_LOCK_HELD:-}" != "$lock" ]; then
    flock -n "$lock" true || echo "$label: waiting for $lock (another kubelet/containerd run holds it)" >&2
    exec env GPUPT_NODE_LOCK_HELD="$lock" flock -w 3600 "$lock" "$0" "$label" "$script" "$@"
fi
if ! command -v python3 >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 >/dev/null
fi
"$(dirname "$0")/clear-stale-run.sh"  # a killed run's pids file would make up.sh skip the start
exec python3 "$(dirname "$0")/$script" "$@"
