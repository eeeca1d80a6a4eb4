#!/usr/bin/env bash
# in-cluster-classlist.sh: records the classes `serve` loads in a cluster (the agent's identity as a pod has it,
# a real kube-apiserver, status writes, claim changes) into the jar's resource
# io/gpupassthrough/node/demo/in-cluster.classlist, which AppCdsTraining adds to the image's AppCDS class list
# (the image build has no API server to record it against). Refresh it after changing the agent's cluster code
# and commit the file; a stale list only costs start time (README, "Footprint").
#
#   ../shared/k8s/up.sh && device-plugin/bench/in-cluster-classlist.sh     # K8S_RUN as for up.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=device-plugin/src/main/resources/io/gpupassthrough/node/demo/in-cluster.classlist
recorded=$(mktemp /tmp/gpupt-in-cluster.XXXXXX)
trap 'rm -f "$recorded"' EXIT
NO_CDS=1 . device-plugin/bench/image-jvm.sh   # the image's flags; no archive, so every class is recorded
NO_CDS=1 device-plugin/bench/agent-bench.sh --idle-seconds 2 --allocations 2000 --spec-changes 2 \
  --child-flags "$FLAGS -XX:DumpLoadedClassList=$recorded" > /dev/null
{
  echo "# Classes the in-cluster node agent loaded ($(java -version 2>&1 | head -1)); written by"
  echo "# device-plugin/bench/in-cluster-classlist.sh, read by AppCdsTraining. Do not edit."
  grep -v '^#' "$recorded" | LC_ALL=C sort -u
} > "$out"
echo "$out: $(grep -vc '^#' "$out") entries"
