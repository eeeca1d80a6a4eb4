#!/usr/bin/env bash
# In-cluster agent benchmark (DESIGN §11): `serve` as its own process with the image's JVM flags and
# AppCDS archive (made as the image build makes it), against a real kube-apiserver through the
# agent's ServiceAccount kubeconfig, on a simulated host with 8 GPUs already on vfio-pci. Reports
# start -> every device advertised, RSS idle / after activity / peak (VmHWM), status writes while idle.
#
#   ../shared/k8s/up.sh                                  # control plane (K8S_RUN, API_PORT, ETCD_PORT)
#   device-plugin/bench/agent-bench.sh                   # kubelet stand-in in a temp directory
#   # with a real kubelet (node.sh; it is a singleton on a machine: hold /tmp/gpupt-node.lock):
#   ../shared/k8s/node.sh bench-node
#   device-plugin/bench/agent-bench.sh --device-plugin-dir /var/lib/kubelet/device-plugins
#
# K8S_RUN (default /tmp/gpupt-k8s) is up.sh's directory; NO_CDS=1 measures without the archive.
# Extra arguments go to InClusterAgentBenchmark (--gpus N --idle-seconds N --allocations N
# --spec-changes N --soak-seconds N --sample-seconds N --node-name NAME --device-plugin-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
K8S_RUN=${K8S_RUN:-/tmp/gpupt-k8s}
for f in admin agent; do
  [ -f "$K8S_RUN/$f.kubeconfig" ] || { echo "no $K8S_RUN/$f.kubeconfig: run ../shared/k8s/up.sh first (same K8S_RUN)" >&2; exit 1; }
done
JAR=device-plugin/target/gpupt-node.jar
CP_FILE=device-plugin/target/agent-bench.classpath
# One reactor run (with -am) so the crds module resolves from this checkout, not from ~/.m2, on a
# fresh machine too; each module writes the file, device-plugin (built last) wins.
./mvnw -B -q -pl device-plugin -am package -DskipTests dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$PWD/$CP_FILE" > /dev/null
# The agent's part of deploy/base as shipped: CRDs, namespace, ServiceAccount and RBAC (the operator's
# Deployment is left out: nothing here runs it).
kubectl --kubeconfig "$K8S_RUN/admin.kubeconfig" apply -f deploy/base/crds/ -f deploy/base/namespace.yaml \
  -f deploy/base/agent/rbac.yaml > /dev/null
kubectl --kubeconfig "$K8S_RUN/admin.kubeconfig" wait --for condition=established --timeout=60s \
  crd/gpupassthroughnodes.gpupassthrough.io > /dev/null
. device-plugin/bench/image-jvm.sh
exec java -cp "device-plugin/target/test-classes:device-plugin/target/classes:$(cat "$CP_FILE")" \
  io.gpupassthrough.node.agent.InClusterAgentBenchmark --jar "$JAR" --child-flags "$FLAGS" \
  --admin-kubeconfig "$K8S_RUN/admin.kubeconfig" --agent-kubeconfig "$K8S_RUN/agent.kubeconfig" "$@"
