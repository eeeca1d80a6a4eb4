package io.gpupassthrough.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.gpupassthrough.api.testing.BenchTable;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughStatus;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Scale benchmark on the real API server, not a test (README, cluster section, for the command).
 * 1,000 Nodes; the operator runs as its own process exactly as the image runs it ({@link
 * OperatorProcess}: the shaded jar, the image's JVM flags (Jib entrypoint), the Deployment's memory limit as the
 * JVM's RAM, its ServiceAccount's token under deploy/base's RBAC, leader election on); simulated
 * agents answer every node spec they see with a status PATCH of 8 GPUs with the agent's token.
 *
 * <p>Reports: time from creating the GpuPassthrough to Ready with 8,000 devices advertised; the
 * operator's status writes and how many were no-ops (a write that changed nothing: the server
 * stores nothing and sends no watch event, so no-ops are the operator's write count minus the
 * status changes the watch saw); writes in a quiet period after Ready; writes by a restarted
 * operator at that scale; the operator's RSS against the Deployment's memory limit.
 */
class OperatorScaleBenchmark {
  static final int NODES = Integer.getInteger("bench.nodes", 1000);
  static final int GPUS = Integer.getInteger("bench.gpus", 8);
  static final Duration QUIET = Duration.ofSeconds(3);

  @Test
  void thousandNodesReconcileToReady() throws Exception {
    try (ApiCluster cluster = ApiCluster.start()) {
      createNodes(cluster.admin);

      AtomicInteger statusChanges = new AtomicInteger();
      AtomicReference<GpuPassthroughStatus> last = new AtomicReference<>();
      Watch watch = cluster.admin.resources(GpuPassthrough.class).watch(new Watcher<>() {
        @Override
        public void eventReceived(Action action, GpuPassthrough g) {
          if (action == Action.MODIFIED && g.getStatus() != null
              && !Objects.equals(last.getAndSet(g.getStatus()), g.getStatus())) {
            statusChanges.incrementAndGet();
          }
        }

        @Override
        public void onClose(WatcherException cause) {}
      });
      AtomicInteger nodeStateEvents = new AtomicInteger();
      // The agents' own token, as in their pods: impersonation would add authorization work per PATCH.
      Agents agents = new Agents(cluster.api.withToken(ApiCluster.NAMESPACE, "gpupt-node-agent"), nodeStateEvents);

      try (OperatorProcess operator = OperatorProcess.start(cluster.api, "first")) {
        operator.awaitLeading();
        CpuTimes cpu = new CpuTimes(operator.pid());
        EtcdDisk disk = new EtcdDisk();
        long t0 = System.nanoTime();
        cluster.create(ApiCluster.gpt("bench", Map.of("gpu", "true"), ApiCluster.vendors("10de")));
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(20)).until(() -> {
          GpuPassthroughStatus st = last.get();
          return st != null && st.getDevicesAdvertised() == NODES * GPUS && st.getConditions().stream()
              .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
        });
        double toReady = (System.nanoTime() - t0) / 1e9;
        String cpuToReady = cpu.since();
        String diskToReady = disk.since();
        long rssAtReady = operator.rssKib();
        Map<String, Double> atReady = operator.metrics();
        int changesAtReady = statusChanges.get();
        await().pollDelay(QUIET).until(() -> true);
        Map<String, Double> afterQuiet = operator.metrics();

        System.out.printf("%nBENCH operator (real API server %s): %d nodes x %d GPUs -> Ready in %.2f s%n",
            io.gpupassthrough.api.testing.RealApiServer.VERSION, NODES, GPUS, toReady);
        System.out.printf("BENCH phases: all %d node states seen after %.2f s, all agents reported after %.2f s%n",
            NODES, (agents.allSeen.get() - t0) / 1e9, (agents.allReported.get() - t0) / 1e9);
        double writes = atReady.get(OperatorProcess.STATUS_WRITES);
        System.out.printf("BENCH status writes to Ready: %.0f, status changes seen by a watch: %d, no-op writes: %.0f,"
                + " status writes in %d s after Ready: %.0f, GpuPassthroughNode writes: %.0f%n",
            writes, changesAtReady, writes - changesAtReady, QUIET.toSeconds(),
            afterQuiet.get(OperatorProcess.STATUS_WRITES) - writes, afterQuiet.get(OperatorProcess.NODE_STATE_WRITES));
        System.out.println("BENCH CPU seconds from create to Ready (2 cores shared with whatever else runs): " + cpuToReady);
        System.out.println("BENCH etcd from create to Ready (data in " + System.getProperty("java.io.tmpdir") + "): "
            + diskToReady);
        operator.logLines("GpuPassthroughNode writes in").forEach(l -> System.out.println("BENCH operator log: " + l));
        System.out.printf("BENCH reconcile passes: %.0f, mean %.1f ms, max %.1f ms%n",
            afterQuiet.get(OperatorProcess.PASSES),
            1000 * afterQuiet.get(OperatorProcess.PASS_SECONDS_SUM) / afterQuiet.get(OperatorProcess.PASSES),
            1000 * afterQuiet.get(OperatorProcess.PASS_SECONDS_MAX));
        System.out.printf("BENCH operator RSS: %.1f MiB at Ready, %.1f MiB peak (VmHWM), %.1f MiB after %d s;"
                + " Deployment memory limit %d MiB, request %d MiB (%s)%n",
            rssAtReady / 1024.0, operator.peakRssKib() / 1024.0, operator.rssKib() / 1024.0, QUIET.toSeconds(),
            OperatorProcess.limitMib(), OperatorProcess.requestMib(), String.join(" ", OperatorProcess.jvmFlags()));
        BenchTable.row(String.format(Locale.ROOT, "operator: %,d nodes × %d GPUs to Ready on the real API server", NODES,
            GPUS), String.format(Locale.ROOT, "%.1f s", toReady), "≤ 15 s", toReady <= 15);
        BenchTable.row("operator: status writes to Ready / no-op writes", String.format(Locale.ROOT, "%.0f / %.0f",
            writes, writes - changesAtReady), "0 no-op", writes == changesAtReady);
        BenchTable.row("operator RSS at Ready (peak) against the Deployment's limit", String.format(Locale.ROOT,
            "%.1f (%.1f) MiB of %d MiB", rssAtReady / 1024.0, operator.peakRssKib() / 1024.0, OperatorProcess.limitMib()),
            "", true);
        assertThat(writes - changesAtReady).as("no-op status writes").isZero();
        assertThat(afterQuiet.get(OperatorProcess.STATUS_WRITES)).as("status writes after settling").isEqualTo(writes);
      }

      // A restart at that scale: the new leader reads everything and must find nothing to write.
      String rv = cluster.get("bench").getMetadata().getResourceVersion();
      int eventsBefore = nodeStateEvents.get();
      try (OperatorProcess restarted = OperatorProcess.start(cluster.api, "restarted")) {
        restarted.awaitLeading();
        await().atMost(Duration.ofMinutes(2)).until(() -> restarted.metrics().get(OperatorProcess.PASSES) >= 1);
        await().pollDelay(QUIET).until(() -> true);
        Map<String, Double> m = restarted.metrics();
        System.out.printf("BENCH restart: %.0f passes, status writes %.0f, GpuPassthroughNode writes %.0f,"
                + " KubeVirt writes %.0f, GpuPassthroughNode watch events %d, RSS %.1f MiB (peak %.1f MiB)%n",
            m.get(OperatorProcess.PASSES), m.get(OperatorProcess.STATUS_WRITES), m.get(OperatorProcess.NODE_STATE_WRITES),
            m.get(OperatorProcess.KUBEVIRT_WRITES), nodeStateEvents.get() - eventsBefore, restarted.rssKib() / 1024.0,
            restarted.peakRssKib() / 1024.0);
        double restartWrites = m.get(OperatorProcess.STATUS_WRITES) + m.get(OperatorProcess.NODE_STATE_WRITES)
            + m.get(OperatorProcess.KUBEVIRT_WRITES);
        BenchTable.row("operator restarted at that scale: writes", String.format(Locale.ROOT, "%.0f (RSS %.1f MiB)",
            restartWrites, restarted.rssKib() / 1024.0), "0", restartWrites == 0);
        assertThat(m.get(OperatorProcess.STATUS_WRITES) + m.get(OperatorProcess.NODE_STATE_WRITES))
            .as("writes after a restart").isZero();
        assertThat(cluster.get("bench").getMetadata().getResourceVersion()).isEqualTo(rv);
      } finally {
        agents.close();
        watch.close();
      }
    }
  }

  /**
   * CPU time (user + system, from /proc) of the API server, etcd, the operator process and this
   * JVM (agents, watches): where a run's time goes on a machine where they all share two cores.
   */
  static final class CpuTimes {
    private final Map<String, Long> pids = new java.util.LinkedHashMap<>();
    private final Map<String, Long> start = new java.util.HashMap<>();

    CpuTimes(long operatorPid) {
      ProcessHandle.current().descendants().forEach(p -> p.info().command().ifPresent(c -> {
        if (c.endsWith("/kube-apiserver")) {
          pids.put("kube-apiserver", p.pid());
        } else if (c.endsWith("/etcd")) {
          pids.put("etcd", p.pid());
        }
      }));
      pids.put("operator", operatorPid);
      pids.put("benchmark JVM (agents, watches)", ProcessHandle.current().pid());
      pids.forEach((name, pid) -> start.put(name, ticks(pid)));
    }

    String since() {
      List<String> parts = new ArrayList<>();
      pids.forEach((name, pid) -> parts.add(String.format("%s %.1f", name, (ticks(pid) - start.get(name)) / 100.0)));
      return String.join(", ", parts);
    }

    /** utime + stime in clock ticks (USER_HZ, 100 on Linux). */
    private static long ticks(long pid) {
      try {
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
      } catch (java.io.IOException e) {
        return 0;
      }
    }
  }

  /**
   * etcd's own WAL fsync and backend commit counters (its /metrics, on the client URL kube-api-test
   * gives it): a write is acknowledged only after its fsync, so on a slow or busy disk this, not CPU,
   * bounds the writes per second.
   */
  static final class EtcdDisk {
    private static final String FSYNC = "etcd_disk_wal_fsync_duration_seconds";
    private static final String COMMIT = "etcd_disk_backend_commit_duration_seconds";
    private final URI metrics;
    private final Map<String, Double> start;

    EtcdDisk() {
      String url = ProcessHandle.current().descendants()
          .filter(p -> p.info().command().map(c -> c.endsWith("/etcd")).orElse(false))
          .map(p -> clientUrl(p.info().arguments().orElse(new String[0])))
          .flatMap(java.util.Optional::stream)
          .findFirst().orElseThrow(() -> new IllegalStateException("no etcd child process with --listen-client-urls"));
      metrics = URI.create(url + "/metrics");
      start = read();
    }

    /** {@code --listen-client-urls URL} or {@code --listen-client-urls=URL}, first URL. */
    static java.util.Optional<String> clientUrl(String[] args) {
      for (int i = 0; i < args.length; i++) {
        String value = args[i].equals("--listen-client-urls") && i + 1 < args.length ? args[i + 1]
            : args[i].startsWith("--listen-client-urls=") ? args[i].substring(args[i].indexOf('=') + 1) : null;
        if (value != null) {
          return java.util.Optional.of(value.split(",")[0]);
        }
      }
      return java.util.Optional.empty();
    }

    String since() {
      Map<String, Double> now = read();
      double fsyncs = now.get(FSYNC + "_count") - start.get(FSYNC + "_count");
      double fsyncSeconds = now.get(FSYNC + "_sum") - start.get(FSYNC + "_sum");
      double commits = now.get(COMMIT + "_count") - start.get(COMMIT + "_count");
      double commitSeconds = now.get(COMMIT + "_sum") - start.get(COMMIT + "_sum");
      return String.format("%.0f WAL fsyncs, mean %.1f ms; %.0f backend commits, mean %.1f ms", fsyncs,
          1000 * fsyncSeconds / Math.max(1, fsyncs), commits, 1000 * commitSeconds / Math.max(1, commits));
    }

    private Map<String, Double> read() {
      try {
        String body = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(metrics).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Double> out = new java.util.HashMap<>();
        body.lines().filter(l -> l.startsWith(FSYNC + "_") || l.startsWith(COMMIT + "_"))
            .filter(l -> l.contains("_sum ") || l.contains("_count "))
            .forEach(l -> out.put(l.substring(0, l.indexOf(' ')), Double.parseDouble(l.substring(l.indexOf(' ') + 1))));
        return out;
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /** 1,000 Nodes as the admin, 16 at a time (the set-up is not what is measured). */
  static void createNodes(KubernetesClient admin) throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(16);
    for (int i = 0; i < NODES; i++) {
      String name = String.format("node-%04d", i);
      pool.submit(() -> admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
          .withLabels(Map.of("gpu", "true")).endMetadata().build()).create());
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(5, TimeUnit.MINUTES)).as("nodes created").isTrue();
  }

  /**
   * The node agents, as the agent's ServiceAccount: on every spec generation they have not answered,
   * one status PATCH with 8 advertised GPUs (what a real agent writes after a pass). One informer
   * stands for the thousand per-node watches a cluster would have.
   */
  static final class Agents implements AutoCloseable {
    final AtomicLong allSeen = new AtomicLong();
    final AtomicLong allReported = new AtomicLong();
    private final ExecutorService pool = Executors.newFixedThreadPool(8);
    private final Map<String, Long> answered = new ConcurrentHashMap<>();
    private final AtomicInteger reported = new AtomicInteger();
    private final SharedIndexInformer<GpuPassthroughNode> informer;

    Agents(KubernetesClient agent, AtomicInteger events) {
      informer = agent.resources(GpuPassthroughNode.class).inform(new ResourceEventHandler<>() {
        @Override
        public void onAdd(GpuPassthroughNode n) {
          events.incrementAndGet();
          answer(agent, n);
        }

        @Override
        public void onUpdate(GpuPassthroughNode o, GpuPassthroughNode n) {
          events.incrementAndGet();
          answer(agent, n);
        }

        @Override
        public void onDelete(GpuPassthroughNode n, boolean unknown) {}
      });
    }

    private void answer(KubernetesClient agent, GpuPassthroughNode n) {
      long gen = n.getMetadata().getGeneration();
      String name = n.getMetadata().getName();
      if (answered.getOrDefault(name, 0L) >= gen) {
        return;
      }
      answered.put(name, gen);
      if (answered.size() == NODES && allSeen.get() == 0) {
        allSeen.set(System.nanoTime());
      }
      pool.submit(() -> {
        List<DeviceStatus> devices = new ArrayList<>();
        for (int g = 0; g < GPUS; g++) {
          devices.add(ApiCluster.device("bench", String.format("0000:%02x:00.0", g + 1),
              "nvidia.com/GA102GL_A10", true, null));
        }
        ApiCluster.report(agent, name, gen, devices, List.of());
        if (reported.incrementAndGet() == NODES) {
          allReported.set(System.nanoTime());
        }
      });
    }

    @Override
    public void close() {
      informer.close();
      pool.shutdownNow();
    }
  }
}
