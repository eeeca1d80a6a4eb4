#!/usr/bin/env bash
# Cluster end-to-end test (README, "Cluster end-to-end test"): a real control plane and kubelet from
# ../shared/k8s, the operator and the node agent as processes, a GpuPassthrough from deploy/samples, a pod
# that gets the GPUs, deletion with restore. Needs root. The kubelet and containerd are one per machine
# (fixed /var/lib/kubelet, /run/containerd, ports), so the whole run holds /tmp/gpupt-node.lock: a second run
# (another checkout, a developer, CI) waits for it instead of colliding.
set -euo pipefail
lock=/tmp/gpupt-node.lock
if [ "${GPUPT_NODE_LOCK_HELD:-}" != "$lock" ]; then
    flock -n "$lock" true || echo "cluster e2e: waiting for $lock (another kubelet/containerd run holds it)" >&2
    exec env GPUPT_NODE_LOCK_HELD="$lock" flock -w 3600 "$lock" "$0" "$@"
fi
if ! command -v python3 >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 >/dev/null
fi
exec python3 "$(dirname "$0")/cluster.py" "$@"
