package io.gpupassthrough.node.plugin;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.gpupassthrough.api.testing.BenchTable;
import io.gpupassthrough.node.demo.DemoHosts;
import io.gpupassthrough.node.demo.Latencies;
import io.gpupassthrough.node.demo.PluginBenchmark;
import io.gpupassthrough.node.demo.ProcMemory;
import io.gpupassthrough.node.host.sim.SimFiles;
import io.gpupassthrough.node.plugin.v1beta1.AllocateRequest;
import io.gpupassthrough.node.plugin.v1beta1.ContainerAllocateRequest;
import io.gpupassthrough.node.plugin.v1beta1.DevicePluginGrpc;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark of standalone {@code serve} (no cluster identity) against the <b>real</b> kubelet of
 * {@code ../shared/k8s/node.sh}, not a test: {@code serve} as its own process with the image's JVM flags, on a
 * simulated host with N GPUs on vfio-pci, its plugin socket in the kubelet's device-plugin directory. Reports
 * start → registered (the kubelet answered {@code Register}; median of the runs, each a fresh process), RSS
 * once the kubelet has dialled back and listed the devices in the node's allocatable, {@code Allocate} latency
 * over the plugin's Unix socket, RSS after that load, and that SIGTERM gives exit 0 and removes the socket.
 * Run by {@code device-plugin/bench/footprint.sh}; prints {@link BenchTable} rows. Exits 1 when serve
 * misbehaves (no registration, no clean stop), not for a missed target.
 */
public final class RealKubeletServeBenchmark {
  private static final String RESOURCE = "nvidia.com/GA102GL_A10";
  private static final String REGISTERED = RESOURCE + ": registered with the kubelet";
  private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);

  private Path jar = Path.of("device-plugin/target/gpupt-node.jar");
  private Path adminKubeconfig;
  private Path pluginDir = Path.of("/var/lib/kubelet/device-plugins");
  private String nodeName = "bench-node";
  private int gpus = 8;
  private int runs = 5;
  private int allocations = 10_000;
  private int idleSeconds = 10;
  private List<String> childFlags = List.of();

  public static void main(String[] args) throws Exception {
    RealKubeletServeBenchmark b = new RealKubeletServeBenchmark();
    for (int i = 0; i + 1 < args.length; i += 2) {
      String v = args[i + 1];
      switch (args[i]) {
        case "--jar" -> b.jar = Path.of(v);
        case "--admin-kubeconfig" -> b.adminKubeconfig = Path.of(v);
        case "--device-plugin-dir" -> b.pluginDir = Path.of(v);
        case "--node-name" -> b.nodeName = v;
        case "--gpus" -> b.gpus = Integer.parseInt(v);
        case "--runs" -> b.runs = Integer.parseInt(v);
        case "--allocations" -> b.allocations = Integer.parseInt(v);
        case "--idle-seconds" -> b.idleSeconds = Integer.parseInt(v);
        case "--child-flags" -> b.childFlags = v.isBlank() ? List.of() : Arrays.asList(v.trim().split("\\s+"));
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    if (b.adminKubeconfig == null) {
      throw new IllegalArgumentException("--admin-kubeconfig is required (up.sh writes it), to read the node");
    }
    System.exit(b.run() ? 0 : 1);
  }

  private boolean run() throws Exception {
    Path work = Files.createTempDirectory("gpupt-serve-bench");
    Path host = DemoHosts.vfioServer(work.resolve("host"), gpus).root();
    Path socket = pluginDir.resolve(ResourceName.parse(RESOURCE).socketFileName());
    System.out.printf(Locale.ROOT, "standalone serve, %d GPUs on vfio-pci, real kubelet (node %s, %s), %s%n",
        gpus, nodeName, pluginDir, Runtime.version());
    System.out.printf("JVM flags: %s%n", String.join(" ", childFlags));
    boolean ok = true;
    Process serve = null;
    try (UnixSocketTransport transport = new UnixSocketTransport(true);
        KubernetesClient admin = new KubernetesClientBuilder()
            .withConfig(Config.fromKubeconfig(Files.readString(adminKubeconfig))).build()) {
      List<Double> startMillis = new ArrayList<>();
      for (int run = 1; run <= runs; run++) {
        Path log = work.resolve("serve-" + run + ".log");
        long t0 = System.nanoTime();
        serve = start(host, log);
        startMillis.add(awaitRegistered(serve, log, t0));
        if (run < runs) {
          ok &= stop(serve, socket, log);
          continue;
        }
        awaitAllocatable(admin, serve, log);
        Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
        double idleRss = ProcMemory.rssMiB(serve.pid());
        String idleSplit = ProcMemory.describe(serve.pid());
        Latencies alloc = allocate(transport, socket);
        double loadedRss = ProcMemory.rssMiB(serve.pid());
        double peak = ProcMemory.peakMiB(serve.pid());
        ok &= stop(serve, socket, log);

        startMillis.sort(null);
        double median = startMillis.get(startMillis.size() / 2);
        BenchTable.row("standalone `serve`: start → registered with the real kubelet, " + gpus + " GPUs",
            String.format(Locale.ROOT, "%.2f s (median of %d; min %.2f, max %.2f)", median / 1000, runs,
                startMillis.get(0) / 1000, startMillis.get(startMillis.size() - 1) / 1000),
            "≤ 0.3 s", median <= 300);
        BenchTable.row("standalone `serve` RSS after the kubelet's checks (+" + idleSeconds + " s idle)",
            idleSplit, "≤ 48 MiB", idleRss <= 48);
        BenchTable.row("`Allocate` over the socket, p99 (standalone, " + allocations + " calls)",
            String.format(Locale.ROOT, "%.2f ms (p50 %.2f, p99.9 %.2f)", alloc.p99(), alloc.p50(), alloc.p999()),
            "≤ 1 ms", alloc.p99() <= 1);
        BenchTable.row("standalone `serve` RSS after those calls / peak",
            String.format(Locale.ROOT, "%.1f / %.1f MiB", loadedRss, peak), "", true);
      }
    } catch (IllegalStateException e) {
      System.out.println("FAIL " + e.getMessage());
      ok = false;
    } finally {
      if (serve != null && serve.isAlive()) { // a failed run must not leave a plugin on the kubelet's socket
        serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      SimFiles.deleteTree(work.resolve("host"));
    }
    return ok;
  }

  /** Standalone as on a node without a cluster identity: no kubeconfig, no in-cluster service variables. */
  private Process start(Path host, Path log) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java")));
    cmd.addAll(childFlags);
    cmd.addAll(List.of("-jar", jar.toString(), "serve", "--host-root", host.toString(),
        "--device-plugin-dir", pluginDir.toString(), "--node-name", nodeName,
        "--metrics-address", "127.0.0.1", "--metrics-port", Integer.toString(PluginBenchmark.freePort())));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.remove("KUBECONFIG");
    env.remove("KUBERNETES_SERVICE_HOST");
    return pb.start();
  }

  /** Milliseconds from {@code t0} until serve logs the kubelet's answer to {@code Register}. */
  private static double awaitRegistered(Process serve, Path log, long t0) throws Exception {
    while (true) {
      if (Files.readString(log).contains(REGISTERED)) {
        return (System.nanoTime() - t0) / 1e6;
      }
      if (System.nanoTime() - t0 > TIMEOUT_NANOS || !serve.isAlive()) {
        throw new IllegalStateException("serve did not register with the kubelet; its log " + log + ":\n"
            + Files.readString(log));
      }
      Thread.sleep(1);
    }
  }

  /** The kubelet has dialled back (ListAndWatch) and put every device in the node's allocatable. */
  private void awaitAllocatable(KubernetesClient admin, Process serve, Path log) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT_NANOS;
    while (true) {
      Node node = admin.nodes().withName(nodeName).get();
      Quantity q = node == null ? null : node.getStatus().getAllocatable().get(RESOURCE);
      if (q != null && q.getNumericalAmount().intValue() == gpus) {
        return;
      }
      if (System.nanoTime() > deadline || !serve.isAlive()) {
        throw new IllegalStateException("node " + nodeName + " never listed " + gpus + " " + RESOURCE
            + " as allocatable (now " + q + "); serve's log " + log);
      }
      Thread.sleep(200);
    }
  }

  /** What the kubelet does when admitting a pod, as fast as one client can, on the plugin's own socket. */
  private Latencies allocate(UnixSocketTransport transport, Path socket) {
    ManagedChannel channel = transport.channel(socket);
    try {
      DevicePluginGrpc.DevicePluginBlockingStub stub = DevicePluginGrpc.newBlockingStub(channel);
      List<String> ids = DemoHosts.vfioServerGpus(gpus);
      return Latencies.time(5_000, allocations, i -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).allocate(
          AllocateRequest.newBuilder().addContainerRequests(
              ContainerAllocateRequest.newBuilder().addDevicesIds(ids.get(i % ids.size()))).build()));
    } finally {
      channel.shutdownNow();
    }
  }

  /** SIGTERM, then the contract: exit 0 and our socket removed. */
  private static boolean stop(Process serve, Path socket, Path log) throws Exception {
    serve.destroy();
    if (!serve.waitFor(30, TimeUnit.SECONDS)) {
      serve.destroyForcibly();
      System.out.println("FAIL serve did not stop within 30 s of SIGTERM; log " + log);
      return false;
    }
    if (serve.exitValue() != 0 || Files.exists(socket)) {
      System.out.printf("FAIL serve exited %d after SIGTERM, socket %s %s; log %s%n", serve.exitValue(), socket,
          Files.exists(socket) ? "left" : "removed", log);
      return false;
    }
    return true;
  }
}
