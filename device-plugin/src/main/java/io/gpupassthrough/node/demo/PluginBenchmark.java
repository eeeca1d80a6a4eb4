package io.gpupassthrough.node.demo;

import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.sim.SimFiles;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.plugin.UnixSocketTransport;
import io.gpupassthrough.node.plugin.v1beta1.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The device plugin benchmark (DESIGN §11): runs {@code serve} as its own process, exactly as
 * deployed, on a simulated host with N GPUs verified on vfio-pci, against the kubelet stand-in,
 * and reports start→registered, idle RSS, Allocate latency over the Unix socket and health
 * change→ListAndWatch latency. Exits 1 when serve misbehaves (no registration, no clean stop), not for a
 * missed target: those are the MISS lines. Run by {@code device-plugin/bench/plugin-bench.sh}.
 *
 * <pre>
 * java -cp gpupt-node.jar io.gpupassthrough.node.demo.PluginBenchmark [--jar gpupt-node.jar]
 *     [--gpus 8] [--runs 5] [--allocations 20000] [--flips 10] [--idle-seconds 5]
 *     [--child-flags "-XX:+UseSerialGC ..."] [--breakdown true]
 * </pre>
 */
public final class PluginBenchmark {
  private static final String RESOURCE = "nvidia.com/GA102GL_A10";
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private Path jar = Path.of("device-plugin/target/gpupt-node.jar");
  private int gpus = 8;
  private int runs = 5;
  private int allocations = 20_000;
  private int flips = 10;
  private int idleSeconds = 5;
  private List<String> childFlags = List.of();
  private Path serveLog;
  private boolean breakdown;
  private Path classLoadLog;

  public static void main(String[] args) throws Exception {
    PluginBenchmark b = new PluginBenchmark();
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--jar" -> b.jar = Path.of(value);
        case "--gpus" -> b.gpus = Integer.parseInt(value);
        case "--runs" -> b.runs = Integer.parseInt(value);
        case "--allocations" -> b.allocations = Integer.parseInt(value);
        case "--flips" -> b.flips = Integer.parseInt(value);
        case "--idle-seconds" -> b.idleSeconds = Integer.parseInt(value);
        case "--child-flags" -> b.childFlags = value.isBlank() ? List.of() : Arrays.asList(value.trim().split("\\s+"));
        case "--breakdown" -> b.breakdown = Boolean.parseBoolean(value);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
      i++;
    }
    if (!Files.isRegularFile(b.jar)) {
      throw new IllegalArgumentException(b.jar + " does not exist; build it with ./mvnw -B -q package -DskipTests");
    }
    System.exit(b.run() ? 0 : 1);
  }

  /**
   * One short run (one start, 2,000 Allocates, two health flips) of {@code serve} with {@code childFlags}: the
   * workload of the AppCDS training ({@link AppCdsTraining}). Returns false when serve misbehaved.
   */
  static boolean trainingRun(Path jar, List<String> childFlags) throws Exception {
    PluginBenchmark b = new PluginBenchmark();
    b.jar = jar;
    b.childFlags = childFlags;
    b.runs = 1;
    b.allocations = 2_000;
    b.flips = 2;
    b.idleSeconds = 1;
    return b.run();
  }

  private boolean run() throws Exception {
    Path work = Files.createTempDirectory("gpupt-bench");
    Path pluginDir = Files.createDirectories(work.resolve("device-plugins"));
    SimulatedHost host = DemoHosts.vfioServer(work.resolve("host"), gpus);
    System.out.printf("serve on a simulated host with %d GPUs on vfio-pci, %s%n", gpus, Runtime.version());
    System.out.printf("child JVM flags: %s%n", childFlags.isEmpty() ? "(none)" : String.join(" ", childFlags));
    boolean ok = true;
    try (UnixSocketTransport transport = new UnixSocketTransport(true);
        KubeletStandIn kubelet = new KubeletStandIn(pluginDir, transport).start()) {
      List<Double> startMillis = new ArrayList<>();
      for (int run = 1; run <= runs; run++) {
        long t0 = System.nanoTime();
        Process serve = startServe(host.root(), pluginDir);
        KubeletStandIn.Registration r = kubelet.nextRegistration(TIMEOUT);
        startMillis.add((r.nanoTime() - t0) / 1e6);
        kubelet.nextUpdate(u -> u.response().getDevicesCount() == gpus, TIMEOUT);
        if (run < runs) {
          ok &= stop(serve, pluginDir);
          continue;
        }
        // Last run: measure the steady state of this process.
        Thread.sleep(idleSeconds * 1000L);
        double idleRss = ProcMemory.rssMiB(serve.pid());
        if (breakdown) {
          MemoryBreakdown.report(serve.pid(), classLoadLog).forEach(System.out::println);
        }
        Latencies alloc = allocateLatencies(kubelet);
        double[] health = healthLatencies(kubelet, host);
        double loadedRss = ProcMemory.rssMiB(serve.pid());
        ok &= stop(serve, pluginDir);

        startMillis.sort(Comparator.naturalOrder());
        report("start -> registered (median of " + runs + " runs)", startMillis.get(startMillis.size() / 2), "ms", 500,
            String.format(Locale.ROOT, "min %.0f, max %.0f", startMillis.get(0), startMillis.get(startMillis.size() - 1)));
        report("idle RSS after " + idleSeconds + " s", idleRss, "MiB", 64, "");
        report("Allocate p99 over the socket (" + allocations + " calls)", alloc.p99(), "ms", 1, alloc.describe());
        report("health change -> ListAndWatch (max of " + flips + " flips)", health[1], "ms", 1000,
            String.format(Locale.ROOT, "median %.0f ms", health[0]));
        report("RSS after the load above", loadedRss, "MiB", Double.NaN, "");
      }
    } catch (IllegalStateException e) {
      System.out.println("FAIL " + e.getMessage() + "; serve's log:");
      if (serveLog != null && Files.exists(serveLog)) {
        Files.readAllLines(serveLog).forEach(l -> System.out.println("  " + l));
      }
      ok = false;
    } finally {
      SimFiles.deleteTree(work);
    }
    return ok;
  }

  private Process startServe(Path hostRoot, Path pluginDir) throws IOException {
    serveLog = hostRoot.resolveSibling("serve.log");
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(childFlags);
    if (breakdown) {
      classLoadLog = hostRoot.resolveSibling("classes.log");
      cmd.addAll(List.of(String.format(MemoryBreakdown.CHILD_FLAGS, classLoadLog).split(" ")));
    }
    cmd.addAll(List.of("-jar", jar.toString(), "serve", "--host-root", hostRoot.toString(),
        "--device-plugin-dir", pluginDir.toString(), "--node-name", "bench",
        "--metrics-address", "127.0.0.1", "--metrics-port", Integer.toString(freePort())));
    return new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(serveLog.toFile())
        .start();
  }

  /** /metrics stays on, as on a node, so its cost is part of the figures: a free port for it. */
  public static int freePort() throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** SIGTERM, then the contract: exit 0 and our socket removed. */
  private static boolean stop(Process serve, Path pluginDir) throws Exception {
    serve.destroy();
    if (!serve.waitFor(30, TimeUnit.SECONDS)) {
      serve.destroyForcibly();
      System.out.println("FAIL serve did not stop within 30 s of SIGTERM");
      return false;
    }
    try (Stream<Path> files = Files.list(pluginDir)) {
      List<String> left = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("gpupt-")).toList();
      if (serve.exitValue() != 0 || !left.isEmpty()) {
        System.out.printf("FAIL serve exited %d after SIGTERM, sockets left: %s%n", serve.exitValue(), left);
        return false;
      }
    }
    return true;
  }

  private Latencies allocateLatencies(KubeletStandIn kubelet) {
    List<String> ids = kubelet.devices(RESOURCE).getDevicesList().stream().map(Device::getID).toList();
    return Latencies.time(5_000, allocations, i -> kubelet.allocate(RESOURCE, List.of(ids.get(i % ids.size()))));
  }

  /** Flips one GPU's driver link off vfio-pci and back, timing each change to its update. */
  private double[] healthLatencies(KubeletStandIn kubelet, SimulatedHost host) {
    String id = kubelet.devices(RESOURCE).getDevices(gpus - 1).getID();
    PciAddress address = PciAddress.parse(id);
    List<Double> millis = new ArrayList<>();
    for (int i = 0; i < flips; i++) {
      boolean toHealthy = i % 2 == 1;
      String expected = toHealthy ? "Healthy" : "Unhealthy";
      long t0 = System.nanoTime();
      host.kernel().setDriverLink(address, toHealthy ? "vfio-pci" : "nouveau");
      KubeletStandIn.Update u =
          kubelet.nextUpdate(
              x -> x.response().getDevicesList().stream()
                  .anyMatch(d -> d.getID().equals(id) && d.getHealth().equals(expected)),
              TIMEOUT);
      millis.add((u.nanoTime() - t0) / 1e6);
    }
    if (flips % 2 == 1) {
      host.kernel().setDriverLink(address, "vfio-pci");
    }
    millis.sort(Comparator.naturalOrder());
    return new double[] {millis.get(millis.size() / 2), millis.get(millis.size() - 1)};
  }

  private static boolean report(String what, double value, String unit, double target, String extra) {
    boolean met = Double.isNaN(target) || value <= target;
    String verdict = Double.isNaN(target) ? "    " : met ? "ok  " : "MISS";
    String targetText = Double.isNaN(target) ? "" : String.format(Locale.ROOT, " (target <= %s %s)", trim(target), unit);
    System.out.printf(Locale.ROOT, "%s %-58s %9.3f %s%s%s%n", verdict, what, value, unit, targetText,
        extra.isEmpty() ? "" : "; " + extra);
    return met;
  }

  private static String trim(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }
}
