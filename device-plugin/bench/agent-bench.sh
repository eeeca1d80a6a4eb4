#!/usr/bin/env bash
# In-cluster agent benchmark (DESIGN §11): `serve` as its own process with the image's JVM flags,
# against the fabric8 mock server through a kubeconfig, on a simulated host with 8 GPUs already on
# vfio-pci. Reports start -> status written, idle RSS and status PATCHes while idle. Extra
# arguments go to InClusterAgentBenchmark (--gpus N --idle-seconds N).
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=device-plugin/target/gpupt-node.jar
CP_FILE=device-plugin/target/agent-bench.classpath
# One reactor run (with -am) so the crds module resolves from this checkout, not from ~/.m2, on a
# fresh machine too; each module writes the file, device-plugin (built last) wins.
./mvnw -B -q -pl device-plugin -am package -DskipTests dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$PWD/$CP_FILE" > /dev/null
FLAGS="$(grep -v '^#' deploy/images/node-agent/jvm.options | xargs)"
export MALLOC_ARENA_MAX=2  # as in the image
exec java -cp "device-plugin/target/test-classes:device-plugin/target/classes:$(cat "$CP_FILE")" \
  io.gpupassthrough.node.agent.InClusterAgentBenchmark --jar "$JAR" --child-flags "$FLAGS" "$@"
