package io.gpupassthrough.node.host;

import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Benchmark (not a test): one full snapshot of a generated host with 256 GPUs, each with its HDMI
 * audio function, two per bus behind 128 root ports, efifb on the first. Target ≤ 50 ms per scan
 * after warm-up (DESIGN §11). Run: {@code ./mvnw -B -q -pl device-plugin -am -Pbench verify
 * -DskipTests} or with arguments {@code [gpus] [warmup] [runs]} via exec:java.
 */
public final class ScanBenchmark {
  private ScanBenchmark() {}

  /** Builds the host: 0000:00:SS.F root ports, GPUs at bus:slot.0, audio at bus:slot.1. */
  static SimulatedHostBuilder host(int gpus) {
    SimulatedHostBuilder b = SimulatedHostBuilder.create();
    for (int i = 0; i < gpus; i++) {
      int port = i / 2;
      String bridge = String.format("0000:00:%02x.%x", port / 8 + 1, port % 8);
      String gpu = String.format("0000:%02x:%02x.0", port + 1, i % 2);
      String audio = String.format("0000:%02x:%02x.1", port + 1, i % 2);
      int group = i + 1000;
      int numa = i < gpus / 2 ? 0 : 1;
      if (i % 2 == 0) {
        b.bridge(bridge, p -> p.iommuGroup(port));
      }
      b.gpu(gpu, g -> g.behind(bridge).numaNode(numa).driver(group % 3 == 0 ? "vfio-pci" : "nouveau")
          .iommuGroup(group));
      b.hdmiAudio(audio, a -> a.behind(bridge).numaNode(numa).iommuGroup(group));
    }
    return b.efiFramebuffer("0000:01:00.0", 1);
  }

  public static void main(String[] args) throws Exception {
    int gpus = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    int runs = args.length > 2 ? Integer.parseInt(args[2]) : 200;
    Path root = Files.createTempDirectory("gpupt-scan-bench");
    try {
      host(gpus).build(root);
      SnapshotReader reader = new SnapshotReader(FileSystemHostRoot.open(root));
      int found = 0;
      for (int i = 0; i < warmup; i++) {
        found = reader.read().gpus().size();
      }
      if (found != gpus) {
        throw new IllegalStateException("scan found " + found + " GPUs, expected " + gpus);
      }
      long[] nanos = new long[runs];
      var os = (com.sun.management.OperatingSystemMXBean)
          java.lang.management.ManagementFactory.getOperatingSystemMXBean();
      long cpu0 = os.getProcessCpuTime();
      for (int i = 0; i < runs; i++) {
        long t0 = System.nanoTime();
        reader.read();
        nanos[i] = System.nanoTime() - t0;
      }
      double cpuPerScan = (os.getProcessCpuTime() - cpu0) / 1e6 / runs;
      Arrays.sort(nanos);
      System.out.printf(Locale.ROOT,
          "scan of %d GPUs (+%d audio, %d bridges): p50 %.1f ms, p90 %.1f ms, max %.1f ms over %d"
              + " runs after %d warm-up (target <= 50 ms); CPU %.1f ms per scan; load average"
              + " %.1f on %d CPUs%n",
          gpus, gpus, (gpus + 1) / 2, ms(nanos[runs / 2]), ms(nanos[runs * 9 / 10]),
          ms(nanos[runs - 1]), runs, warmup, cpuPerScan, os.getSystemLoadAverage(),
          os.getAvailableProcessors());
    } finally {
      try (var walk = Files.walk(root)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }
}
