#!/usr/bin/env bash
# In-cluster end-to-end run (README, "Images"): the two images of this build imported into the node's containerd
# and run as a cluster runs them, on the control plane and kubelet of ../shared/k8s with pod networking
# (e2e/cluster/podnet.py), then the user story from deploy/samples to restore. Needs root; builds the images first
# when target/ has none. Holds /tmp/gpupt-node.lock for the whole run (with-node-lock.sh: one kubelet and
# containerd per machine).
exec "$(dirname "$0")/with-node-lock.sh" "in-cluster" in_cluster.py "$@"
