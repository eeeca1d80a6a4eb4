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
FLAGS="$(grep -v '^#' deploy/images/node-agent/jvm.options | xargs)"
export MALLOC_ARENA_MAX=2  # as in the image
if [ -z "${NO_CDS:-}" ]; then
  # The same AppCDS steps as the image build: a demo run lists the classes, -Xshare:dump archives them.
  ARCHIVE=device-plugin/target/gpupt-node.jsa
  LIST=device-plugin/target/gpupt-node.classlist
  rm -f "$ARCHIVE" "$LIST"
  java $FLAGS -XX:DumpLoadedClassList="$LIST" -jar "$JAR" demo > /dev/null
  java $FLAGS -Xshare:dump -XX:SharedClassListFile="$LIST" -XX:SharedArchiveFile="$ARCHIVE" -cp "$JAR" > /dev/null 2>&1
  FLAGS="$FLAGS -XX:SharedArchiveFile=$ARCHIVE"
fi
exec java -cp "$JAR" io.gpupassthrough.node.demo.PluginBenchmark --jar "$JAR" --child-flags "$FLAGS" "$@"
