package io.gpupassthrough.node.agent;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.plugin.KubeletConnection;
import io.gpupassthrough.node.plugin.NodeAgent;
import io.gpupassthrough.node.plugin.ResourceName;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent in a cluster: watch this node's {@code GpuPassthroughNode}, run a
 * {@link NodePass} per spec generation on one worker thread, advertise what the pass verified,
 * and report it, with each plugin's registration with the kubelet, through the
 * {@link NodeStatusRecorder}. Observe (watcher), decide and act (pass), record (recorder) stay
 * separate; this class only wires them.
 */
public final class InClusterAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InClusterAgent.class);

  private final String nodeName;
  private final ScheduledThreadPoolExecutor worker = worker();
  private final ClaimedDevices claimed;
  private final NodeAgent plugin;
  private final NodePass pass;
  private final NodeStatusRecorder recorder;
  private final NodeClaimWatcher watcher;
  /** How soon a pass that could not read the host is tried again (same generation). */
  public static final Duration DEFAULT_HOST_RETRY = Duration.ofSeconds(10);

  /** A pass binds, verifies (waiting up to 2 s per device for /dev/vfio) and may roll back. */
  private static final Duration CLOSE_GRACE = Duration.ofSeconds(30);

  private final Duration hostRetry;
  private volatile PassResult last;
  private volatile long latestGeneration = -1;
  private final Map<String, RestoreReport> answered = new LinkedHashMap<>();
  private boolean seeded;

  private InClusterAgent(KubernetesClient client, HostRoot host, String nodeName,
      NodeAgent.Settings settings, Duration debounce, Duration hostRetry) {
    this.nodeName = nodeName;
    this.hostRetry = hostRetry;
    this.pass = new NodePass(host, event -> log.info("node {}: {}", nodeName, event));
    this.recorder = new NodeStatusRecorder(client, nodeName, this::status, worker, debounce,
        Clock.systemUTC());
    this.claimed = new ClaimedDevices(host, recorder::request);
    this.plugin = new NodeAgent(claimed, claimed, settings);
    // Registered or not is part of each device's status (advertised means registered), so every
    // registration change (kubelet up, gone, restarted, refusing) is a reason to rebuild it.
    plugin.advertiser().kubelet().onTransition(t -> recorder.request());
    this.watcher = new NodeClaimWatcher(client, nodeName, node -> {
      latestGeneration = generationOf(node);
      worker.execute(() -> guarded(node));
    });
  }

  /** Starts the plugin side (nothing advertised yet), then the watch. */
  public static InClusterAgent start(KubernetesClient client, HostRoot host, String nodeName,
      NodeAgent.Settings settings, Duration debounce, Duration hostRetry) {
    InClusterAgent agent = new InClusterAgent(client, host, nodeName, settings, debounce, hostRetry);
    agent.plugin.start();
    agent.watcher.start();
    return agent;
  }

  /** {@code serve} in a cluster: runs until {@code stop} opens; returns the exit code. */
  public static int serve(HostRoot host, String nodeName, NodeAgent.Settings settings,
      CountDownLatch stop) {
    try (KubernetesClient client = new KubernetesClientBuilder().build();
        InClusterAgent agent = start(client, host, nodeName, settings, NodeStatusRecorder.DEFAULT_DEBOUNCE,
            DEFAULT_HOST_RETRY)) {
      agent.plugin().metricsPort().ifPresent(p -> log.info("node {}: /healthz and /metrics on port {}", nodeName, p));
      log.info("node {}: in-cluster agent watching GpuPassthroughNode/{} (API {}), device plugins in {}",
          nodeName, nodeName, client.getMasterUrl(), settings.pluginDir());
      stop.await();
      log.info("node {}: shutting down; devices stay on vfio-pci", nodeName);
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    } catch (RuntimeException e) {
      System.err.println("serve: in-cluster agent for node " + nodeName + " failed: " + e.getMessage());
      return 1;
    }
  }

  public NodeAgent plugin() {
    return plugin;
  }

  long statusWrites() {
    return recorder.writes();
  }

  /** The GpuPassthroughNode objects the agent's watch holds (its own only). */
  List<String> watchedObjects() {
    return watcher.cachedNames();
  }

  /** An executor task's Throwable is kept in its Future, which nobody reads: log it here. */
  private void guarded(GpuPassthroughNode node) {
    try {
      onSpec(node);
    } catch (Error e) {
      log.error("node {}: pass aborted; the next spec generation retries", nodeName, e);
      throw e;
    }
  }

  /** One pass for a new spec generation; runs on the worker thread only. */
  private void onSpec(GpuPassthroughNode node) {
    if (!seeded) {
      // A restarted agent: what the object says already (written by our predecessor) counts as
      // written, and restores it reports done are not repeated.
      seeded = true;
      GpuPassthroughNodeStatus existing = node.getStatus();
      recorder.seed(existing);
      if (existing != null && existing.getRestores() != null) {
        for (RestoreResult r : existing.getRestores()) {
          if (r.getState() == RestoreResult.State.DONE) {
            answered.put(r.getOwner(), new RestoreReport(r.getOwner(), true,
                Optional.ofNullable(r.getRestored()).orElse(List.of()), r.getMessage()));
          }
        }
      }
    }
    GpuPassthroughNodeSpec spec = Optional.ofNullable(node.getSpec()).orElseGet(GpuPassthroughNodeSpec::new);
    long generation = generationOf(node);
    try {
      // Stop advertising before giving devices back, so the kubelet cannot hand one out meanwhile.
      plugin.advertiser().withdraw(restoring(spec));
      PassResult result = pass.run(spec, generation, Map.copyOf(answered));
      result.restores().forEach(r -> answered.put(r.owner(), r));
      answered.keySet().retainAll(Optional.ofNullable(spec.getRestore()).orElse(List.of()).stream()
          .map(RestoreRequest::getOwner).toList());
      Map<String, ResourceName> wanted = new LinkedHashMap<>();
      for (DeviceReport d : result.devices()) {
        if (d.verified() && d.resourceName().isPresent()) {
          wanted.putIfAbsent(d.address().toString(), d.resourceName().get());
        }
      }
      plugin.advertiser().withdraw(claimed.publish(wanted));
      plugin.advertiser().sync();
      last = result;
    } catch (RuntimeException e) {
      log.error("node {}: pass for generation {} failed", nodeName, generation, e);
      last = new PassResult(generation, List.of(), List.of(), List.of(),
          Optional.of("the pass failed unexpectedly: " + e));
    }
    recorder.request();
    if (last.hostProblem().isPresent()) {
      // An unreadable host (sysfs mid-change, /proc/iomem hidden) gets no new generation to
      // trigger another pass; try the same spec again unless a newer one arrived meanwhile.
      worker.schedule(() -> {
        if (latestGeneration == generation) {
          guarded(node);
        }
      }, hostRetry.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * One thread for passes, status builds and writes. On close a running pass finishes (stopping it
   * halfway would leave a bind to roll back), but delayed work (a debounced write, a host retry)
   * is dropped.
   */
  private static ScheduledThreadPoolExecutor worker() {
    ScheduledThreadPoolExecutor worker = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "gpupt-agent");
      t.setDaemon(true);
      return t;
    });
    worker.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    return worker;
  }

  private static long generationOf(GpuPassthroughNode node) {
    return Optional.ofNullable(node.getMetadata().getGeneration()).orElse(0L);
  }

  private Set<String> restoring(GpuPassthroughNodeSpec spec) {
    Set<String> out = new LinkedHashSet<>();
    for (RestoreRequest r : Optional.ofNullable(spec.getRestore()).orElse(List.of())) {
      RestoreReport done = answered.get(r.getOwner());
      if (done == null || !done.done()) {
        out.addAll(Optional.ofNullable(r.getAddresses()).orElse(List.of()));
      }
    }
    return out;
  }

  private Optional<GpuPassthroughNodeStatus> status() {
    PassResult result = last;
    if (result == null) {
      return Optional.empty();
    }
    List<KubeletConnection.Registration> registrations = plugin.advertiser().kubelet().registrations();
    if (registrations.stream().anyMatch(r -> r.serving() && !r.attempted())) {
      // A server that has not tried to register yet would be reported as only Serving and a moment
      // later as Registered: two writes for one event, and one more on every agent restart. Its
      // first attempt (bounded by the Register deadline) is a transition, which asks again.
      return Optional.empty();
    }
    Map<ResourceName, KubeletConnection.Registration> kubelet = new LinkedHashMap<>();
    registrations.forEach(r -> kubelet.put(r.resource(), r));
    return Optional.of(NodeStatusBuilder.build(result, claimed.problems(), kubelet));
  }

  /**
   * Stops watching and serving, and nothing else. Devices are deliberately not restored: a
   * rolling update of the DaemonSet stops this pod while VMs keep running on its GPUs, and the
   * next agent adopts them as they are. Giving devices back is only ever an explicit restore
   * request.
   */
  @Override
  public void close() {
    watcher.close();
    worker.shutdown();
    try {
      if (!worker.awaitTermination(CLOSE_GRACE.toSeconds(), TimeUnit.SECONDS)) {
        log.warn("node {}: a pass is still running after {} s; stopping anyway", nodeName,
            CLOSE_GRACE.toSeconds());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    plugin.close();
  }
}
