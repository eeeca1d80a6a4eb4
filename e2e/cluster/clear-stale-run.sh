#!/usr/bin/env bash
# clear-stale-run.sh: forgets a control plane or node of ../shared/k8s that no longer runs. up.sh answers
# "already up" whenever $K8S_RUN/pids exists, so a run that was killed (a CI timeout, a reboot, a machine
# image taken while one ran) leaves a pids file that makes the next up.sh skip the start and every kubectl
# after it fail with "connection refused". Run under the node lock, before up.sh. A pids file with any of
# its processes still alive (and one of the control plane's or node's programs) is left alone.
set -euo pipefail
run=${K8S_RUN:-/tmp/gpupt-k8s}
ours='^(etcd|kube-apiserver|kube-controller|kube-scheduler|kubelet|containerd|kube-proxy)'
for f in pids node-pids; do
    [ -f "$run/$f" ] || continue
    alive=
    for pid in $(cat "$run/$f"); do
        comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
        if [[ $comm =~ $ours ]]; then alive="$alive $pid($comm)"; fi
    done
    if [ -n "$alive" ]; then
        echo "$run/$f: still running:$alive (stop it with K8S_RUN=$run ../shared/k8s/down.sh)" >&2
    else
        echo "$run/$f: none of its processes runs (left by a run that was killed): removed" >&2
        rm -f "$run/$f"
    fi
done
