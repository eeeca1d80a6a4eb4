package io.gpupassthrough.node.agent;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Benchmark of the in-cluster agent (DESIGN §11), not a test: {@code serve} as its own process with
 * the image's JVM flags, against the fabric8 mock server (CRUD, generated CRDs) through a
 * kubeconfig, on a simulated host whose N GPUs are already on vfio-pci (a restarted agent adopting
 * them). Reports start → status written with every device advertised, idle RSS, and the status
 * PATCHes during the idle period (expected: none). Run by {@code device-plugin/bench/agent-bench.sh}.
 */
public final class InClusterAgentBenchmark {
  public static void main(String[] args) throws Exception {
    Path jar = Path.of("device-plugin/target/gpupt-node.jar");
    int gpus = 8;
    int idleSeconds = 10;
    List<String> childFlags = List.of();
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--jar" -> jar = Path.of(args[i + 1]);
        case "--gpus" -> gpus = Integer.parseInt(args[i + 1]);
        case "--idle-seconds" -> idleSeconds = Integer.parseInt(args[i + 1]);
        case "--child-flags" -> childFlags = args[i + 1].isBlank() ? List.of() : Arrays.asList(args[i + 1].trim().split("\\s+"));
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    Path work = Files.createTempDirectory("gpupt-agent-bench");
    SimulatedHostBuilder host = SimulatedHostBuilder.create();
    for (int g = 1; g <= gpus; g++) {
      int group = g;
      host.gpu(String.format("0000:%02x:00.0", g), p -> p.driver("vfio-pci").iommuGroup(group).numaNode(group % 2))
          .hdmiAudio(String.format("0000:%02x:00.1", g), p -> p.driver("vfio-pci").iommuGroup(group));
    }
    host.build(work.resolve("host"));
    Files.createDirectories(work.resolve("plugins"));

    AtomicInteger patches = new AtomicInteger();
    KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new KubernetesCrudDispatcher(List.of()) {
          @Override
          public MockResponse handlePatch(RecordedRequest request) {
            if (request.getPath().endsWith("/status")) {
              patches.incrementAndGet();
            }
            return super.handlePatch(request);
          }
        }, false);
    server.init();
    Process child = null;
    try (KubernetesClient client = server.createClient()) {
      for (String crd : List.of("gpupassthroughnodes", "gpupassthroughs")) {
        try (InputStream yaml = Files.newInputStream(
            Path.of("deploy/base/crds", crd + ".gpupassthrough.io-v1.yml"))) {
          client.apiextensions().v1().customResourceDefinitions().load(yaml).create();
        }
      }
      GpuPassthroughNode node = new GpuPassthroughNode();
      node.getMetadata().setName("node-1");
      node.getSpec().setClaims(new ArrayList<>(List.of(Claims.byVendor("a10s", "10de"))));
      client.resource(node).create();
      Path kubeconfig = work.resolve("kubeconfig");
      Files.writeString(kubeconfig, String.join("\n",
          "apiVersion: v1", "kind: Config", "current-context: bench",
          "clusters:", "- name: bench", "  cluster:", "    server: " + client.getMasterUrl(),
          "contexts:", "- name: bench", "  context:", "    cluster: bench", "    user: bench",
          "users:", "- name: bench", "  user:", "    token: bench", ""));

      List<String> command = new ArrayList<>(List.of("java"));
      command.addAll(childFlags);
      command.addAll(List.of("-jar", jar.toString(), "serve", "--host-root", work.resolve("host").toString(),
          "--device-plugin-dir", work.resolve("plugins").toString(), "--node-name", "node-1",
          "--metrics-port", "0"));
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(work.resolve("serve.log").toFile());
      pb.environment().put("KUBECONFIG", kubeconfig.toString());
      pb.environment().remove("KUBERNETES_SERVICE_HOST");
      long start = System.nanoTime();
      child = pb.start();
      long deadline = start + TimeUnit.SECONDS.toNanos(60);
      while (!allAdvertised(client, gpus)) {
        if (System.nanoTime() > deadline || !child.isAlive()) {
          throw new IllegalStateException("agent did not report " + gpus + " devices; see " + work.resolve("serve.log"));
        }
        Thread.sleep(10);
      }
      double toStatus = (System.nanoTime() - start) / 1e6;
      int before = patches.get();
      Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
      double rss = rssMiB(child.pid());
      System.out.printf(Locale.ROOT, "in-cluster agent, %d GPUs adopted on vfio-pci, JVM flags: %s%n", gpus, String.join(" ", childFlags));
      System.out.printf(Locale.ROOT, "start -> status written with %d/%d advertised: %.0f ms%n", gpus, gpus, toStatus);
      System.out.printf(Locale.ROOT, "idle RSS after %d s: %.1f MiB (target <= 64)%n", idleSeconds, rss);
      System.out.printf(Locale.ROOT, "status PATCHes: %d to reach Ready, %d while idle (target 0)%n", before, patches.get() - before);
    } finally {
      if (child != null) {
        child.destroy();
        child.waitFor(10, TimeUnit.SECONDS);
      }
      server.destroy();
    }
  }

  private static boolean allAdvertised(KubernetesClient client, int gpus) {
    GpuPassthroughNode n = client.resources(GpuPassthroughNode.class).withName("node-1").get();
    GpuPassthroughNodeStatus s = n == null ? null : n.getStatus();
    return s != null && s.getDevicesReady() != null && s.getDevicesReady() == gpus;
  }

  private static double rssMiB(long pid) throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    throw new java.io.IOException("/proc/" + pid + "/status has no VmRSS line");
  }
}
