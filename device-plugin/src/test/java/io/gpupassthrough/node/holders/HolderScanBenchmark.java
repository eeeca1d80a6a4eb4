package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.host.FileSystemHostRoot;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.sim.SimFiles;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Benchmark (not a test): what one holder check costs. A generated host with 8 GPUs on vfio-pci
 * and {@code processes} processes of {@code fds} open files each (sockets, pipes, /dev/null, a
 * few device nodes; one QEMU per GPU holding its group), then the same scan of this machine's
 * real /proc. Run: {@code ./mvnw -B -q -pl device-plugin -am -Pbench verify -DskipTests} or
 * with arguments {@code [processes] [fds] [warmup] [runs]} via exec:java.
 */
public final class HolderScanBenchmark {
  private static final int GPUS = 8;

  private HolderScanBenchmark() {}

  static SimulatedHostBuilder host(int processes, int fds) {
    SimulatedHostBuilder b = SimulatedHostBuilder.create();
    for (int g = 0; g < GPUS; g++) {
      int group = 10 + g;
      b.gpu(String.format("0000:%02x:00.0", 0x41 + g), p -> p.driver("vfio-pci").iommuGroup(group));
    }
    for (int i = 0; i < processes; i++) {
      long pid = 1000 + i;
      int n = i;
      b.process(pid, p -> {
        p.command("worker-" + n, "/usr/bin/worker", "--id", Integer.toString(n));
        String[] files = new String[fds - 3];
        for (int f = 0; f < files.length; f++) {
          files[f] = switch (f % 5) {
            case 0 -> "socket:[" + (100000 + n * 64 + f) + "]";
            case 1 -> "pipe:[" + (200000 + n * 64 + f) + "]";
            case 2 -> "/var/log/worker-" + n + ".log";
            case 3 -> "anon_inode:[eventfd]";
            default -> "/dev/urandom";
          };
        }
        if (n < GPUS) {
          // QEMU of VM n: the group node and a device fd.
          files[0] = "/dev/vfio/" + (10 + n);
          files[1] = "anon_inode:[vfio-device]";
        }
        p.opens(files);
      });
    }
    return b;
  }

  public static void main(String[] args) throws Exception {
    int processes = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int fds = args.length > 1 ? Integer.parseInt(args[1]) : 50;
    int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    int runs = args.length > 3 ? Integer.parseInt(args[3]) : 20;
    Path root = Files.createTempDirectory("gpupt-holder-bench");
    try {
      host(processes, fds).build(root);
      HostRoot host = FileSystemHostRoot.open(root);
      List<PciAddress> gpus = java.util.stream.IntStream.range(0, GPUS)
          .mapToObj(g -> PciAddress.parse(String.format("0000:%02x:00.0", 0x41 + g))).toList();
      try (HolderCheck check = new HolderCheck(host, Optional.empty())) {
        for (int i = 0; i < warmup; i++) {
          HolderReport r = check.check(gpus);
          if (r.byDevice().values().stream().filter(DeviceHolders::held).count() != GPUS) {
            throw new IllegalStateException("expected each of the " + GPUS + " GPUs held: " + r.byDevice());
          }
        }
        measure("holder check, generated /proc: " + processes + " processes x " + fds + " fds, " + GPUS
            + " GPUs", runs, () -> check.check(gpus));
      }
      // This machine's own /proc (read as the agent reads the host's): the same walk, real procfs.
      Set<String> none = Set.of("/dev/vfio/4242");
      ProcessScan real = new ProcessScan(new RealProc());
      ProcessScan.Result sample = real.holdersOf(none);
      for (int i = 0; i < warmup; i++) {
        real.holdersOf(none);
      }
      measure("process scan, this machine's /proc: " + sample.processes() + " processes, " + sample.fds()
          + " fds", runs, () -> real.holdersOf(none));
    } finally {
      SimFiles.deleteTree(root);
    }
  }

  /** The real / as a host root (only /proc is read). */
  private static final class RealProc extends FileSystemHostRoot {
    RealProc() {
      super(Path.of("/"), null);
    }
  }

  private static void measure(String what, int runs, Runnable scan) {
    var os = (com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long[] nanos = new long[runs];
    long cpu0 = os.getProcessCpuTime();
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      scan.run();
      nanos[i] = System.nanoTime() - t0;
    }
    double cpu = (os.getProcessCpuTime() - cpu0) / 1e6 / runs;
    Arrays.sort(nanos);
    System.out.printf(Locale.ROOT, "BENCH %s: p50 %.1f ms, p90 %.1f ms, max %.1f ms over %d runs; CPU %.1f ms"
        + " per check; load average %.1f on %d CPUs%n", what, nanos[runs / 2] / 1e6, nanos[runs * 9 / 10] / 1e6,
        nanos[runs - 1] / 1e6, runs, cpu, os.getSystemLoadAverage(), os.getAvailableProcessors());
  }
}
