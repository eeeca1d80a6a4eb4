#!/usr/bin/env bash
# Cluster end-to-end test (README, "Cluster end-to-end test"): a real control plane and kubelet from
# ../shared/k8s, the operator and the node agent as processes, a GpuPassthrough from deploy/samples, a pod
# that gets the GPUs, who holds them, deletion with restore. Needs root. Holds /tmp/gpupt-node.lock for the
# whole run (with-node-lock.sh: one kubelet and containerd per machine).
exec "$(dirname "$0")/with-node-lock.sh" "cluster e2e" cluster.py "$@"
