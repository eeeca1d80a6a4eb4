package io.gpupassthrough.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Scale benchmark, not a test: run with {@code ./mvnw -B -q -pl operator -am verify -Pbench}.
 * 1,000 nodes with 8 GPUs each on the mock server; simulated agents answer every node spec they
 * see. Reports the time from creating the GpuPassthrough to Ready with 8,000 devices, the number
 * of status writes, and how many of those were no-ops (a write whose status equals the previous).
 */
class OperatorScaleBenchmark {
  static final int NODES = Integer.getInteger("bench.nodes", 1000);
  static final int GPUS = Integer.getInteger("bench.gpus", 8);

  @Test
  void thousandNodesReconcileToReady() throws Exception {
    try (MockCluster cluster = new MockCluster()) {
      for (int i = 0; i < NODES; i++) {
        cluster.node(String.format("node-%04d", i), Map.of("gpu", "true"));
      }
      cluster.start(Duration.ofMinutes(5));

      AtomicInteger statusWrites = new AtomicInteger();
      AtomicInteger noOpWrites = new AtomicInteger();
      AtomicReference<GpuPassthroughStatus> last = new AtomicReference<>();
      Watch watch = cluster.client.resources(GpuPassthrough.class).watch(new Watcher<>() {
        @Override
        public void eventReceived(Action action, GpuPassthrough g) {
          if (action == Action.MODIFIED && g.getStatus() != null) {
            GpuPassthroughStatus previous = last.getAndSet(g.getStatus());
            if (!Objects.equals(previous, g.getStatus()) || previous == null) {
              statusWrites.incrementAndGet();
            } else if (g.getMetadata().getDeletionTimestamp() == null
                && g.getMetadata().getFinalizers() != null && !g.getMetadata().getFinalizers().isEmpty()) {
              // MODIFIED with an equal status: a no-op status write (finalizer adds are excluded
              // because they change metadata, not status, and happen before any status exists).
              noOpWrites.incrementAndGet();
            }
          }
        }

        @Override
        public void onClose(WatcherException cause) {}
      });

      ExecutorService agents = Executors.newFixedThreadPool(4);
      Map<String, Long> answered = new ConcurrentHashMap<>();
      AtomicInteger reported = new AtomicInteger();
      java.util.concurrent.atomic.AtomicLong allCreated = new java.util.concurrent.atomic.AtomicLong();
      java.util.concurrent.atomic.AtomicLong allReported = new java.util.concurrent.atomic.AtomicLong();
      SharedIndexInformer<GpuPassthroughNode> informer = cluster.client.resources(GpuPassthroughNode.class)
          .inform(new ResourceEventHandler<GpuPassthroughNode>() {
            @Override
            public void onAdd(GpuPassthroughNode n) {
              answer(n);
            }

            @Override
            public void onUpdate(GpuPassthroughNode o, GpuPassthroughNode n) {
              answer(n);
            }

            @Override
            public void onDelete(GpuPassthroughNode n, boolean unknown) {}

            private void answer(GpuPassthroughNode n) {
              long gen = n.getMetadata().getGeneration();
              String name = n.getMetadata().getName();
              if (answered.getOrDefault(name, 0L) >= gen) {
                return;
              }
              answered.put(name, gen);
              if (answered.size() == NODES && allCreated.get() == 0) {
                allCreated.set(System.nanoTime());
              }
              agents.submit(() -> {
                List<DeviceStatus> devices = new ArrayList<>();
                for (int g = 0; g < GPUS; g++) {
                  devices.add(MockCluster.device("bench", String.format("0000:%02x:00.0", g + 1),
                      "nvidia.com/GA102GL_A10", true, null));
                }
                cluster.report(name, gen, devices, List.of());
                if (reported.incrementAndGet() == NODES) {
                  allReported.set(System.nanoTime());
                }
              });
            }
          });

      long t0 = System.nanoTime();
      cluster.create(MockCluster.gpt("bench", Map.of("gpu", "true"), MockCluster.vendors("10de")));
      // Watched, not polled: a GET per poll would load the mock server like one more client.
      await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(20)).until(() -> {
        GpuPassthroughStatus st = last.get();
        return st != null && st.getDevicesAdvertised() == NODES * GPUS
            && st.getConditions().stream().anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
      });
      double seconds = (System.nanoTime() - t0) / 1e9;
      int writesAtReady = statusWrites.get();
      // Quiet period: a settled cluster must cause no further status writes.
      await().pollDelay(Duration.ofSeconds(3)).until(() -> true);
      int writesAfterQuiet = statusWrites.get();

      System.out.printf("%nBENCH operator: %d nodes x %d GPUs -> Ready in %.2f s%n", NODES, GPUS, seconds);
      System.out.printf("BENCH phases: all %d node states seen after %.2f s, all agents reported after %.2f s%n",
          NODES, (allCreated.get() - t0) / 1e9, (allReported.get() - t0) / 1e9);
      System.out.printf("BENCH status writes to Ready: %d (operator counter %.0f), no-op writes: %d, "
              + "writes in 3 s after Ready: %d, GpuPassthroughNode writes: %.0f%n",
          writesAtReady, cluster.operator().metrics().statusWrites(), noOpWrites.get(),
          writesAfterQuiet - writesAtReady, cluster.operator().metrics().nodeStateWrites());

      var timer = cluster.operator().metrics().reconcile();
      System.out.printf("BENCH reconcile passes: %d, mean %.1f ms, max %.1f ms%n", timer.count(),
          timer.mean(java.util.concurrent.TimeUnit.MILLISECONDS), timer.max(java.util.concurrent.TimeUnit.MILLISECONDS));
      informer.close();
      watch.close();
      agents.shutdownNow();
      assertThat(noOpWrites.get()).as("no-op status writes").isZero();
      assertThat(writesAfterQuiet).as("status writes after settling").isEqualTo(writesAtReady);
    }
  }
}
