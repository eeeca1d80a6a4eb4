# Sourced by the benchmarks with JAR set: FLAGS becomes the image's JVM flags
# (deploy/images/node-agent/jvm.options) plus, unless NO_CDS=1, an AppCDS archive made with the same steps
# as the image build's deploy/images/node-agent/appcds.sh (AppCdsTraining lists the classes serve loads,
# -Xshare:dump archives them); MALLOC_ARENA_MAX as the image sets it. CDS_FOR=cluster (default: the image's
# archive, standalone and in-cluster classes) or standalone (standalone serve's classes only: the JVM keeps
# nearly all of an archive resident, so the image's would cost standalone serve ~12 MiB).
FLAGS="$(grep -v '^#' deploy/images/node-agent/jvm.options | xargs)"
export MALLOC_ARENA_MAX=2
if [ -z "${NO_CDS:-}" ]; then
  CDS_FOR=${CDS_FOR:-cluster}
  ARCHIVE=device-plugin/target/gpupt-node-$CDS_FOR.jsa
  LIST=device-plugin/target/gpupt-node-$CDS_FOR.classlist
  # An archive newer than the jar and the flags is reused (footprint.sh runs several benchmarks on one).
  if [ ! "$ARCHIVE" -nt "$JAR" ] || [ ! "$ARCHIVE" -nt deploy/images/node-agent/jvm.options ]; then
    rm -f "$ARCHIVE" "$LIST"
    java $FLAGS -cp "$JAR" io.gpupassthrough.node.demo.AppCdsTraining --jar "$JAR" --child-flags "$FLAGS" \
      --out "$LIST" --in-cluster "$([ "$CDS_FOR" = cluster ] && echo true || echo false)" > /dev/null
    java $FLAGS -Xshare:dump -XX:SharedClassListFile="$LIST" -XX:SharedArchiveFile="$ARCHIVE" -cp "$JAR" > /dev/null 2>&1
  fi
  FLAGS="$FLAGS -XX:SharedArchiveFile=$ARCHIVE"
fi
