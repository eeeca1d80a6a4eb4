package io.gpupassthrough.node.demo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * The class list the node agent's AppCDS archive is dumped from (image build: deploy/images/node-agent/appcds.sh;
 * benchmarks: device-plugin/bench/image-jvm.sh): what {@code serve} itself loads, not what a demo loads.
 *
 * <ul>
 *   <li>Standalone {@code serve}, recorded now: one start against the kubelet stand-in, Allocates and health
 *       changes ({@link PluginBenchmark#trainingRun}), the child JVM with {@code -XX:DumpLoadedClassList}.
 *   <li>{@code serve} in a cluster, recorded against a real kube-apiserver by
 *       {@code device-plugin/bench/in-cluster-classlist.sh} and kept in the jar ({@value #IN_CLUSTER}): the
 *       image build has no API server. A class that no longer exists is skipped by {@code -Xshare:dump}; a new
 *       one is loaded from the jar as without an archive, so a stale list costs start time, never correctness.
 * </ul>
 *
 * Measured (README, "Footprint"): the JVM keeps nearly all of an archive resident whichever classes it loads,
 * so the archive is trained for where it runs. The image's (both lists): the in-cluster agent 104.2 → 99.4 MiB
 * idle against the demo-trained archive. {@code --in-cluster false} (standalone serve, e.g. the benchmarks of
 * the jar): 75.8 → 72.0 MiB and start → registered 369 → 306 ms; the image's archive would give it 83.8 MiB.
 *
 * <pre>java @jvm.options -cp gpupt-node.jar io.gpupassthrough.node.demo.AppCdsTraining
 *     --jar gpupt-node.jar --child-flags "@jvm.options" --out classes.lst [--in-cluster false]</pre>
 */
public final class AppCdsTraining {
  static final String IN_CLUSTER = "in-cluster.classlist";

  private AppCdsTraining() {}

  public static void main(String[] args) throws Exception {
    Path jar = null;
    Path out = null;
    List<String> childFlags = List.of();
    boolean inCluster = true;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--jar" -> jar = Path.of(args[i + 1]);
        case "--out" -> out = Path.of(args[i + 1]);
        case "--in-cluster" -> inCluster = Boolean.parseBoolean(args[i + 1]);
        case "--child-flags" -> childFlags = args[i + 1].isBlank() ? List.of()
            : Arrays.asList(args[i + 1].trim().split("\\s+"));
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    if (jar == null || out == null) {
      throw new IllegalArgumentException("--jar and --out are required");
    }
    Path recorded = Files.createTempFile("gpupt-serve", ".classlist");
    try {
      List<String> flags = new ArrayList<>(childFlags);
      flags.add("-XX:DumpLoadedClassList=" + recorded);
      if (!PluginBenchmark.trainingRun(jar, flags)) {
        System.err.println("AppCDS training: serve misbehaved in the training run (see above); no class list written");
        System.exit(1);
      }
      TreeSet<String> classes = new TreeSet<>(entries(Files.readAllLines(recorded)));
      int standalone = classes.size();
      if (inCluster) {
        classes.addAll(entries(inClusterList()));
      }
      Files.write(out, classes);
      System.out.printf("AppCDS class list %s: %d entries (%d from the standalone run, %d more from %s)%n", out,
          classes.size(), standalone, classes.size() - standalone, IN_CLUSTER);
    } finally {
      Files.deleteIfExists(recorded);
    }
  }

  private static List<String> inClusterList() throws IOException {
    try (InputStream in = AppCdsTraining.class.getResourceAsStream(IN_CLUSTER)) {
      if (in == null) {
        throw new IOException(IN_CLUSTER + " is missing from the jar (device-plugin/src/main/resources)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }
  }

  /** A class list without its comment lines; {@code -XX:SharedClassListFile} reads it sorted or not. */
  private static List<String> entries(List<String> lines) {
    return lines.stream().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
  }
}
