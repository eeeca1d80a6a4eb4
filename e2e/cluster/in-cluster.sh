#!/usr/bin/env bash
# In-cluster end-to-end run (README, "Images"): the two images of this build imported into the node's containerd
# and run as a cluster runs them, on the control plane and kubelet of ../shared/k8s with pod networking
# (e2e/cluster/podnet.py), then the user story from deploy/samples to restore. Needs root; builds the images first
# when target/ has none. The kubelet and containerd are one per machine (fixed /var/lib/kubelet, /run/containerd,
# ports), so the whole run holds /tmp/gpupt-node.lock: another run (a developer, CI) waits for it.
set -euo pipefail
lock=/tmp/gpupt-node.lock
if [ "${GPUPT_NODE_LOCK_HELD:-}" != "$lock" ]; then
    flock -n "$lock" true || echo "in-cluster: waiting for $lock (another kubelet/containerd run holds it)" >&2
    exec env GPUPT_NODE_LOCK_HELD="$lock" flock -w 3600 "$lock" "$0" "$@"
fi
if ! command -v python3 >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 >/dev/null
fi
exec python3 "$(dirname "$0")/in_cluster.py" "$@"
