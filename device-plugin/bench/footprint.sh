#!/usr/bin/env bash
# footprint.sh: issue 11's table from one run, on the real control plane and kubelet of ../shared/k8s.
#
#   device-plugin/bench/footprint.sh                     # root; ~14 min, 10 of them the soak
#   device-plugin/bench/footprint.sh --soak-seconds 20   # a quick look (~4 min; a soak under 2 min has no verdict)
#
# 1. up.sh (control plane) and node.sh bench-node (containerd + kubelet v1.28.7), as one machine has them.
# 2. The in-cluster agent (agent-bench.sh: `serve` with the image's JVM flags and AppCDS archive, the agent's
#    ServiceAccount identity as a pod gets it, RBAC from deploy/base) on a simulated host with 8 GPUs on
#    vfio-pci, its plugins registered with the real kubelet: idle RSS, 10,000 Allocates over the plugin socket
#    and 100 claim changes (each one a status change and a re-registration under another resource name),
#    RSS after, then the soak (RSS every 10 s).
# 3. Standalone `serve` (no cluster identity) with the same kubelet: start -> registered, RSS once the kubelet
#    has listed the devices, Allocate p99 over the socket (RealKubeletServeBenchmark).
# 4. down.sh, then the operator's scale benchmark (1,000 nodes x 8 GPUs, its own real API server).
# Prints every benchmark's own output, then the table (the rows the benchmarks print as TABLE|...).
# Holds /tmp/gpupt-node.lock (one kubelet per machine) and stops what it started.
set -euo pipefail
lock=/tmp/gpupt-node.lock
if [ "${GPUPT_NODE_LOCK_HELD:-}" != "$lock" ]; then
  flock -n "$lock" true || echo "footprint: waiting for $lock (another kubelet/containerd run holds it)" >&2
  exec env GPUPT_NODE_LOCK_HELD="$lock" flock -w 3600 "$lock" "$0" "$@"
fi
soak=600 operator=1
while [ $# -gt 0 ]; do
  case $1 in
    --soak-seconds) soak=$2; shift 2 ;;
    --skip-operator) operator=; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "footprint.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "footprint.sh needs root (containerd and the kubelet)" >&2; exit 2; }
cd "$(dirname "$0")/../.."
k8s=${GPUPT_SHARED_K8S:-$PWD/../shared/k8s}
export K8S_RUN=/tmp/gpupt-k8s  # node.sh's kubelet and ports are the machine's defaults anyway
out=$(mktemp -d /tmp/gpupt-footprint.XXXXXX)
trap '"$k8s/down.sh"' EXIT
e2e/cluster/clear-stale-run.sh
start=$SECONDS failed=

echo "== control plane and node (up.sh, node.sh bench-node); outputs in $out"
"$k8s/up.sh" | tail -1
"$k8s/node.sh" bench-node | tail -1

echo "== in-cluster agent, real API server and kubelet, then a ${soak} s soak (agent-bench.sh)"
device-plugin/bench/agent-bench.sh --device-plugin-dir /var/lib/kubelet/device-plugins --node-name bench-node \
  --allocations 10000 --spec-changes 100 --soak-seconds "$soak" | tee "$out/agent.txt"

echo "== standalone serve, real kubelet (RealKubeletServeBenchmark)"
JAR=device-plugin/target/gpupt-node.jar
CDS_FOR=standalone . device-plugin/bench/image-jvm.sh  # standalone serve: an archive of its own classes
java -cp "device-plugin/target/test-classes:device-plugin/target/classes:$(cat device-plugin/target/agent-bench.classpath)" \
  io.gpupassthrough.node.plugin.RealKubeletServeBenchmark --jar "$JAR" --child-flags "$FLAGS" \
  --admin-kubeconfig "$K8S_RUN/admin.kubeconfig" --node-name bench-node | tee "$out/standalone.txt" || failed=standalone
"$k8s/down.sh"

if [ -n "$operator" ]; then
  echo "== operator: 1,000 nodes x 8 GPUs on a real API server (OperatorScaleBenchmark)"
  ./mvnw -B -q -pl operator -am verify -Pbench -Dtest=OperatorScaleBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
    > "$out/operator.log" 2>&1 || failed="$failed operator (its log: $out/operator.log)"
  grep -E '^(BENCH|TABLE)' "$out/operator.log" | tee "$out/operator.txt" || true
fi

echo
echo "footprint: $(date -u +%Y-%m-%dT%H:%MZ), $(java -version 2>&1 | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $((SECONDS - start)) s"
echo
echo "| measure | this run | target | |"
echo "|---|---|---|---|"
for part in agent standalone operator; do [ ! -f "$out/$part.txt" ] || cat "$out/$part.txt"; done \
  | awk -F'|' '$1 == "TABLE" { printf "| %s | %s | %s | %s |\n", $2, $3, $4, $5 }'
# A benchmark that failed (not a missed target: those are MISS rows) still leaves its rows above.
[ -z "$failed" ] || { echo "footprint: failed: $failed (see its output above)" >&2; exit 1; }
