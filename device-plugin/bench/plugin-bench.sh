#!/usr/bin/env bash
# Device plugin benchmark (DESIGN §11): `serve` as its own process with the image's JVM flags and an
# AppCDS archive, on a simulated host with 8 GPUs on vfio-pci, against the kubelet stand-in.
# Reports start -> registered, idle RSS, Allocate p50/p99 over the Unix socket and health change ->
# ListAndWatch. Extra arguments go to PluginBenchmark (--gpus N --runs N --allocations N --flips N
# --idle-seconds N). Set NO_CDS=1 to measure without the AppCDS archive.
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=device-plugin/target/gpupt-node.jar
if [ ! -f "$JAR" ]; then
  ./mvnw -B -q -pl device-plugin -am package -DskipTests
fi
CDS_FOR=standalone . device-plugin/bench/image-jvm.sh  # standalone serve: its own archive
exec java -cp "$JAR" io.gpupassthrough.node.demo.PluginBenchmark --jar "$JAR" --child-flags "$FLAGS" "$@"
