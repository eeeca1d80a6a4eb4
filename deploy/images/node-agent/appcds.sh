#!/usr/bin/env bash
# deploy/images/node-agent/appcds.sh BASE.tar JAR JVM_OPTIONS OUT.jsa IN_IMAGE_DIR
#
# The node agent's AppCDS archive, dumped by the JRE of the image base itself: a chroot into the base's root file
# system with the jar and jvm.options at IN_IMAGE_DIR (/opt/gpupt), where the image has them. The JVM maps an
# archive only when the jar has the path, size and modification time it had at dump time (otherwise
# -Xshare:auto silently runs without it), so the jar gets Jib's file time (filesModificationTime
# EPOCH_PLUS_SECOND in pom.xml). deploy/images/check-image.sh proves on the built image that it maps.
#
# Training run (AppCdsTraining): what `serve` loads, not the demo: a standalone serve against the kubelet stand-in
# (one start, Allocates, health changes) recorded now, plus the in-cluster leg recorded against a real API server
# and kept in the jar (device-plugin/bench/in-cluster-classlist.sh). The static archive of those ~7,500 classes
# (JDK classes included) is mapped at every start instead of parsing and verifying them. Measured in
# device-plugin/bench/footprint.sh (README, "Footprint").
# Not byte-reproducible on JDK 17, unlike every other file of the image: which classes the multi-threaded training
# run loads varies by a line or two between runs, and the dump itself races JDK 17's startup threads (JDK-8253495,
# fixed in 19). The list is sorted and the dump runs on one CPU without address randomization, which makes equal
# lists give equal archives in most runs; the archive is a layer of its own, so a rebuild changes only it.
# Needs root (chroot, a private mount namespace for /proc and /dev).
set -euo pipefail
base=${1:?usage: appcds.sh BASE.tar JAR JVM_OPTIONS OUT.jsa IN_IMAGE_DIR}
jar=${2:?} opts=${3:?} out=${4:?} dir=${5:?}
root=$(mktemp -d "${TMPDIR:-/tmp}/gpupt-appcds.XXXXXX")
trap 'rm -rf "$root"' EXIT

tar -xOf "$base" rootfs.tar | tar -x -C "$root"
mkdir -p "$root$dir" "$root/proc" "$root/dev" "$root/tmp"
cp "$jar" "$root$dir/gpupt-node.jar"
cp "$opts" "$root$dir/jvm.options"
touch -d @1 "$root$dir/gpupt-node.jar"
# The first CPU this process may run on (CI may not be allowed CPU 0).
cpu=$(taskset -pc $$ | sed -e 's/.*: //' -e 's/[-,].*//')

# The mounts live in a private mount namespace and vanish with it, before the trap removes $root.
unshare --mount --propagation private env ROOT="$root" DIR="$dir" CPU="$cpu" sh -euc '
  mount -t proc proc "$ROOT/proc"
  mount --bind /dev "$ROOT/dev"
  chroot "$ROOT" /opt/java/bin/java @"$DIR/jvm.options" -cp "$DIR/gpupt-node.jar" \
    io.gpupassthrough.node.demo.AppCdsTraining --jar "$DIR/gpupt-node.jar" --child-flags "@$DIR/jvm.options" \
    --out /tmp/classes.sorted > "$ROOT/tmp/training.log" 2>&1 || { cat "$ROOT/tmp/training.log" >&2; exit 1; }
  taskset -c "$CPU" setarch --addr-no-randomize chroot "$ROOT" /opt/java/bin/java @"$DIR/jvm.options" -Xshare:dump \
    -XX:SharedClassListFile=/tmp/classes.sorted -XX:SharedArchiveFile="$DIR/gpupt-node.jsa" \
    -cp "$DIR/gpupt-node.jar" > "$ROOT/tmp/dump.log" 2>&1 || { cat "$ROOT/tmp/dump.log" >&2; exit 1; }
'
mkdir -p "$(dirname "$out")"
cp "$root$dir/gpupt-node.jsa" "$out"
echo "AppCDS archive: $out ($(du -m "$out" | cut -f1) MiB, $(wc -l < "$root/tmp/classes.sorted") classes listed)"
