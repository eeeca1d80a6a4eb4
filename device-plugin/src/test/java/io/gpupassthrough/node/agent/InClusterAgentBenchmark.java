package io.gpupassthrough.node.agent;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.testing.BenchTable;
import io.gpupassthrough.api.v1alpha1.KubeletRegistration;
import io.gpupassthrough.node.demo.DemoHosts;
import io.gpupassthrough.node.demo.KubeletStandIn;
import io.gpupassthrough.node.demo.Latencies;
import io.gpupassthrough.node.demo.MemoryBreakdown;
import io.gpupassthrough.node.demo.ProcMemory;
import io.gpupassthrough.node.host.sim.SimFiles;
import io.gpupassthrough.node.plugin.ResourceName;
import io.gpupassthrough.node.plugin.UnixSocketTransport;
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
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Benchmark of the in-cluster agent (DESIGN §11), not a test: {@code serve} as its own process with
 * the image's JVM flags, against a real kube-apiserver ({@code ../shared/k8s/up.sh}) through the
 * agent's ServiceAccount kubeconfig, on a simulated host whose N GPUs are already on vfio-pci (a
 * restarted agent adopting them), with a kubelet registering its plugin: the real one
 * ({@code node.sh}, {@code --device-plugin-dir /var/lib/kubelet/device-plugins}) or, without
 * {@code --device-plugin-dir}, the in-process stand-in. Reports start → every device advertised
 * (registered), RSS idle, RSS after activity (Allocate calls over the plugin socket, spec changes
 * that move the devices between two resource names), the peak RSS (VmHWM) and status writes while
 * idle; with {@code --soak-seconds}, RSS sampled over a soak after that activity. Run by
 * {@code device-plugin/bench/agent-bench.sh}; prints {@link BenchTable} rows for {@code footprint.sh}.
 */
public final class InClusterAgentBenchmark {
  private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
  private static final String OTHER_NAME = "example.com/bench-a10";

  private Path jar = Path.of("device-plugin/target/gpupt-node.jar");
  private Path adminKubeconfig;
  private Path agentKubeconfig;
  private Optional<Path> pluginDir = Optional.empty();
  private String nodeName = "bench-node";
  private int gpus = 8;
  private int idleSeconds = 10;
  private int allocations = 10_000;
  private int specChanges = 100;
  private int soakSeconds = 0;
  private int sampleSeconds = 10;
  private List<String> childFlags = List.of();
  private boolean breakdown;

  public static void main(String[] args) throws Exception {
    InClusterAgentBenchmark b = new InClusterAgentBenchmark();
    for (int i = 0; i + 1 < args.length; i += 2) {
      String v = args[i + 1];
      switch (args[i]) {
        case "--jar" -> b.jar = Path.of(v);
        case "--admin-kubeconfig" -> b.adminKubeconfig = Path.of(v);
        case "--agent-kubeconfig" -> b.agentKubeconfig = Path.of(v);
        case "--device-plugin-dir" -> b.pluginDir = Optional.of(Path.of(v));
        case "--node-name" -> b.nodeName = v;
        case "--gpus" -> b.gpus = Integer.parseInt(v);
        case "--idle-seconds" -> b.idleSeconds = Integer.parseInt(v);
        case "--allocations" -> b.allocations = Integer.parseInt(v);
        case "--spec-changes" -> b.specChanges = Integer.parseInt(v);
        case "--soak-seconds" -> b.soakSeconds = Integer.parseInt(v);
        case "--sample-seconds" -> b.sampleSeconds = Integer.parseInt(v);
        case "--child-flags" -> b.childFlags = v.isBlank() ? List.of() : Arrays.asList(v.trim().split("\\s+"));
        case "--breakdown" -> b.breakdown = Boolean.parseBoolean(v);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    if (b.adminKubeconfig == null || b.agentKubeconfig == null) {
      throw new IllegalArgumentException("--admin-kubeconfig and --agent-kubeconfig are required (up.sh writes both)");
    }
    b.run();
  }

  private void run() throws Exception {
    Path work = Files.createTempDirectory("gpupt-agent-bench");
    Path host = DemoHosts.vfioServer(work.resolve("host"), gpus).root();
    Path plugins = pluginDir.orElse(Files.createDirectories(work.resolve("device-plugins")));
    Path log = work.resolve("serve.log");
    Process child = null;
    try (UnixSocketTransport transport = new UnixSocketTransport(true);
        KubeletStandIn standIn = pluginDir.isPresent() ? null : new KubeletStandIn(plugins, transport).start();
        KubernetesClient admin = new KubernetesClientBuilder()
            .withConfig(Config.fromKubeconfig(Files.readString(adminKubeconfig))).build()) {
      admin.resources(GpuPassthroughNode.class).withName(nodeName).withTimeout(30, TimeUnit.SECONDS).delete();
      GpuPassthroughNode node = new GpuPassthroughNode();
      node.getMetadata().setName(nodeName);
      node.getSpec().setClaims(new ArrayList<>(List.of(Claims.byVendor("bench", "10de"))));
      admin.resource(node).create();

      List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java")));
      command.addAll(childFlags);
      Path classLoadLog = work.resolve("classes.log");
      if (breakdown) {
        command.addAll(List.of(String.format(MemoryBreakdown.CHILD_FLAGS, classLoadLog).split(" ")));
      }
      command.addAll(List.of("-jar", jar.toString(), "serve", "--host-root", host.toString(),
          "--device-plugin-dir", plugins.toString(), "--node-name", nodeName, "--metrics-port", "0"));
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
      podIdentity(pb.environment(), work);
      long start = System.nanoTime();
      child = pb.start();
      Process serve = child;
      GpuPassthroughNodeStatus ready = await(admin, serve, log, "every device registered", s -> registered(s, gpus, null));
      double toReady = (System.nanoTime() - start) / 1e6;
      String resource = ready.getDevices().get(0).getResourceName();

      int writesBefore = statusWrites(log);
      Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
      double idleRss = ProcMemory.rssMiB(serve.pid());
      String idleSplit = ProcMemory.describe(serve.pid());
      double idleHwm = ProcMemory.peakMiB(serve.pid());
      int idleWrites = statusWrites(log) - writesBefore;

      List<String> ids = ready.getDevices().stream().map(DeviceStatus::getAddress).toList();
      Latencies firstBatch = allocate(transport, plugins.resolve(ResourceName.parse(resource).socketFileName()), ids);
      long specStart = System.nanoTime();
      for (int i = 1; i <= specChanges; i++) {
        String name = i % 2 == 1 ? OTHER_NAME : null;
        setResourceName(admin, name);
        long generation = admin.resources(GpuPassthroughNode.class).withName(nodeName).get().getMetadata().getGeneration();
        await(admin, serve, log, "spec change " + i, s -> s.getObservedGeneration() != null
            && s.getObservedGeneration() == generation && registered(s, gpus, name == null ? resource : name));
      }
      double specSeconds = (System.nanoTime() - specStart) / 1e9;
      String now = specChanges % 2 == 1 ? OTHER_NAME : resource;
      Latencies secondBatch = allocate(transport, plugins.resolve(ResourceName.parse(now).socketFileName()), ids);
      Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
      double afterRss = ProcMemory.rssMiB(serve.pid());
      String afterSplit = ProcMemory.describe(serve.pid());
      List<String> memoryBreakdown = breakdown ? MemoryBreakdown.report(serve.pid(), classLoadLog) : List.of();
      int writesBeforeSoak = statusWrites(log);
      Soak soak = soak(serve);
      int soakWrites = statusWrites(log) - writesBeforeSoak;
      double peak = ProcMemory.peakMiB(serve.pid());

      System.out.printf(Locale.ROOT, "in-cluster agent, %d GPUs adopted on vfio-pci, kubelet: %s, %s%n", gpus,
          pluginDir.map(d -> "real (" + d + ")").orElse("stand-in"), Runtime.version());
      System.out.printf(Locale.ROOT, "JVM flags: %s%n", String.join(" ", childFlags));
      System.out.printf(Locale.ROOT, "start -> status with %d/%d advertised (registered): %.0f ms%n", gpus, gpus, toReady);
      System.out.printf(Locale.ROOT, "RSS idle after %d s: %s (peak so far %.1f MiB)%n", idleSeconds, idleSplit, idleHwm);
      System.out.printf(Locale.ROOT, "status writes while idle: %d (target 0)%n", idleWrites);
      System.out.printf(Locale.ROOT, "activity: %d Allocate over the socket (%s), %d spec changes between %s and %s"
          + " (%.1f s), %d Allocate more (%s)%n", firstBatch.calls(), firstBatch.describe(), specChanges, resource,
          OTHER_NAME, specSeconds, secondBatch.calls(), secondBatch.describe());
      System.out.printf(Locale.ROOT, "RSS after activity + %d s idle: %s%n", idleSeconds, afterSplit);
      if (soakSeconds > 0) {
        System.out.printf(Locale.ROOT, "soak %d s, RSS every %d s: %s MiB%n", soakSeconds, sampleSeconds, soak);
      }
      System.out.printf(Locale.ROOT, "peak RSS (VmHWM) over the run: %.1f MiB%n", peak);
      System.out.printf(Locale.ROOT, "status writes in total: %d%n", statusWrites(log));
      memoryBreakdown.forEach(System.out::println);

      String kubelet = pluginDir.isPresent() ? "real kubelet" : "kubelet stand-in";
      BenchTable.row("in-cluster agent: start → every device advertised in its status (" + kubelet + ")",
          String.format(Locale.ROOT, "%.2f s", toReady / 1000), "", true);
      BenchTable.row("in-cluster agent RSS, idle, real API server, " + gpus + " GPUs (" + kubelet + ")",
          idleSplit, "≤ 64 MiB", idleRss <= 64);
      BenchTable.row("same, after " + (firstBatch.calls() + secondBatch.calls()) + " Allocates and " + specChanges
          + " claim/status changes", String.format(Locale.ROOT, "%s, peak %.1f MiB", afterSplit, peak),
          "≤ 72 MiB", afterRss <= 72);
      if (soakSeconds > 0) {
        String length = soakSeconds % 60 == 0 ? soakSeconds / 60 + "-minute" : soakSeconds + " s";
        BenchTable.row("same, over a " + length + " soak after that (RSS every " + sampleSeconds + " s)",
            String.format(Locale.ROOT, "%.1f → %.1f MiB (min %.1f, max %.1f), %d status writes", soak.firstMinute(),
                soak.lastMinute(), soak.min(), soak.max(), soakWrites),
            soak.comparesMinutes() ? "flat (last minute ≤ first + 1 MiB)" : "", soak.flat());
      }
      BenchTable.row("in-cluster agent: `Allocate` over the socket, p99", String.format(Locale.ROOT,
          "%.2f ms (p50 %.2f)", secondBatch.p99(), secondBatch.p50()), "≤ 1 ms", secondBatch.p99() <= 1);
      BenchTable.row("in-cluster agent: status writes while idle", Integer.toString(idleWrites), "0", idleWrites == 0);
    } finally {
      if (child != null) {
        child.destroy();
        child.waitFor(10, TimeUnit.SECONDS);
      }
      SimFiles.deleteTree(work.resolve("host"));
      System.out.println("serve's log: " + log);
    }
  }

  /**
   * The agent's identity as a pod has it, not as a kubeconfig: the ServiceAccount's token in a file and
   * the API server's CA, nothing else. fabric8 reads a kubeconfig through a serializer that loads every
   * built-in model class, which a pod never does; measuring with one would not be the DaemonSet's agent.
   */
  private void podIdentity(java.util.Map<String, String> env, Path work) throws IOException {
    Config agent = Config.fromKubeconfig(Files.readString(agentKubeconfig));
    Path token = Files.writeString(work.resolve("token"), agent.getAutoOAuthToken());
    Path ca = agentKubeconfig.resolveSibling("certs/apiserver.crt");
    java.net.URI api = java.net.URI.create(agent.getMasterUrl());
    env.remove("KUBECONFIG");
    env.put("KUBERNETES_SERVICE_HOST", api.getHost());
    env.put("KUBERNETES_SERVICE_PORT", Integer.toString(api.getPort()));
    env.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
    env.put("KUBERNETES_AUTH_SERVICEACCOUNT_TOKEN", token.toString());
    if (Files.isRegularFile(ca)) {
      env.put("KUBERNETES_CERTS_CA_FILE", ca.toString());
    } else {
      env.put("KUBERNETES_TRUST_CERTIFICATES", "true");
    }
  }

  /** Every device of the status on {@code resource} (null: any), advertised, its plugin registered. */
  private static boolean registered(GpuPassthroughNodeStatus s, int gpus, String resource) {
    return s.getDevicesReady() != null && s.getDevicesReady() == gpus
        && s.getKubelet() == KubeletRegistration.REGISTERED
        && s.getDevices().stream().allMatch(d -> Boolean.TRUE.equals(d.getAdvertised())
            && (resource == null || resource.equals(d.getResourceName())));
  }

  private GpuPassthroughNodeStatus await(KubernetesClient admin, Process serve, Path log, String what,
      Predicate<GpuPassthroughNodeStatus> done) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT_NANOS;
    while (true) {
      GpuPassthroughNode n = admin.resources(GpuPassthroughNode.class).withName(nodeName).get();
      if (n != null && n.getStatus() != null && done.test(n.getStatus())) {
        return n.getStatus();
      }
      if (System.nanoTime() > deadline || !serve.isAlive()) {
        throw new IllegalStateException("agent did not reach '" + what + "'; status "
            + (n == null ? "(no object)" : n.getStatus() == null ? "(none)" : n.getStatus().getMessage())
            + "; see " + log);
      }
      Thread.sleep(20);
    }
  }

  /** An admin's edit of the claim; retried when the agent's status write raced it (409, as kubectl edit would). */
  private void setResourceName(KubernetesClient admin, String name) {
    for (int attempt = 1; ; attempt++) {
      try {
        admin.resources(GpuPassthroughNode.class).withName(nodeName).edit(n -> {
          n.getSpec().getClaims().get(0).setResourceName(name);
          return n;
        });
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 5) {
          throw e;
        }
      }
    }
  }

  /** What the kubelet does when admitting a pod, as fast as one client can: half the calls per batch. */
  private Latencies allocate(UnixSocketTransport transport, Path socket, List<String> ids) {
    ManagedChannel channel = transport.channel(socket);
    try {
      DevicePluginGrpc.DevicePluginBlockingStub stub = DevicePluginGrpc.newBlockingStub(channel);
      return Latencies.time(0, allocations / 2, i -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).allocate(
          AllocateRequest.newBuilder().addContainerRequests(
              ContainerAllocateRequest.newBuilder().addDevicesIds(ids.get(i % ids.size()))).build()));
    } finally {
      channel.shutdownNow();
    }
  }

  /** RSS every {@code sampleSeconds} for {@code soakSeconds}: does the agent keep what it was given? */
  private Soak soak(Process serve) throws Exception {
    List<Double> samples = new ArrayList<>();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(soakSeconds);
    while (soakSeconds > 0 && System.nanoTime() < end) {
      Thread.sleep(TimeUnit.SECONDS.toMillis(sampleSeconds));
      if (!serve.isAlive()) {
        throw new IllegalStateException("the agent exited during the soak");
      }
      samples.add(ProcMemory.rssMiB(serve.pid()));
    }
    return new Soak(samples, Math.max(1, 60 / sampleSeconds));
  }

  /** The soak's samples; "flat": the mean of its last minute is within 1 MiB of its first minute's. */
  record Soak(List<Double> samples, int perMinute) {
    double firstMinute() {
      return mean(samples.subList(0, Math.min(perMinute, samples.size())));
    }

    double lastMinute() {
      return mean(samples.subList(Math.max(0, samples.size() - perMinute), samples.size()));
    }

    double min() {
      return samples.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    double max() {
      return samples.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    /** At least two minutes of samples, so the first and the last minute do not overlap. */
    boolean comparesMinutes() {
      return samples.size() >= 2 * perMinute;
    }

    boolean flat() {
      return comparesMinutes() && lastMinute() <= firstMinute() + 1;
    }

    private static double mean(List<Double> xs) {
      return xs.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    @Override
    public String toString() {
      return samples.stream().map(x -> String.format(Locale.ROOT, "%.1f", x)).collect(Collectors.joining(" "));
    }
  }

  /** One INFO line per status write (NodeStatusRecorder). */
  private static int statusWrites(Path log) throws IOException {
    return (int) Files.readAllLines(log).stream().filter(l -> l.contains(": status written: ")).count();
  }
}
