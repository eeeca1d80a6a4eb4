package io.gpupassthrough.node.agent;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.holders.HolderCheck;
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
  /**
   * How soon a pass is tried again on the same generation when it may end differently: the host
   * was unreadable, or a device is held or has a write blocked in the kernel.
   */
  public static final Duration DEFAULT_HOST_RETRY = Duration.ofSeconds(10);

  /**
   * Who holds the devices, and how often status follows that between passes. The check reads
   * every process's open files (see {@code HolderScanBenchmark} in the README for its cost).
   */
  public record Holders(HolderCheck check, Duration refresh) {
    public static final Duration DEFAULT_REFRESH = Duration.ofSeconds(30);
  }

  /** A pass binds, verifies (waiting up to 2 s per device for /dev/vfio) and may roll back. */
  private static final Duration CLOSE_GRACE = Duration.ofSeconds(30);

  private final Duration hostRetry;
  private volatile PassResult last;
  private volatile long latestGeneration = -1;
  private final Map<String, RestoreReport> answered = new LinkedHashMap<>();
  private boolean seeded;

  private final Holders holders;

  private InClusterAgent(KubernetesClient client, HostRoot host, String nodeName,
      NodeAgent.Settings settings, Duration debounce, Duration hostRetry, Holders holders) {
    this.nodeName = nodeName;
    this.hostRetry = hostRetry;
    this.holders = holders;
    this.pass = new NodePass(host, holders.check(), event -> log.info("node {}: {}", nodeName, event));
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
    return start(client, host, nodeName, settings, debounce, hostRetry,
        new Holders(HolderCheck.forHost(host), Holders.DEFAULT_REFRESH));
  }

  public static InClusterAgent start(KubernetesClient client, HostRoot host, String nodeName,
      NodeAgent.Settings settings, Duration debounce, Duration hostRetry, Holders holders) {
    InClusterAgent agent = new InClusterAgent(client, host, nodeName, settings, debounce, hostRetry, holders);
    agent.plugin.start();
    agent.watcher.start();
    if (!holders.refresh().isZero()) {
      agent.worker.scheduleWithFixedDelay(agent::refreshHolders, holders.refresh().toMillis(),
          holders.refresh().toMillis(), TimeUnit.MILLISECONDS);
    }
    return agent;
  }

  /** {@code serve} in a cluster: runs until {@code stop} opens; returns the exit code. */
  public static int serve(HostRoot host, String nodeName, NodeAgent.Settings settings, Holders holders,
      CountDownLatch stop) {
    try (KubernetesClient client = AgentKubernetesClient.create();
        InClusterAgent agent = start(client, host, nodeName, settings, NodeStatusRecorder.DEFAULT_DEBOUNCE,
            DEFAULT_HOST_RETRY, holders)) {
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
      // Not allocatable before anything is given back: listed Unhealthy at once, so the kubelet
      // cannot hand one out while it is checked for holders and unbound.
      Set<String> restoring = restoring(spec);
      Map<String, String> unavailable = new LinkedHashMap<>();
      // A device whose restore already waits keeps its reason (no flip of its problem, and no
      // ListAndWatch update, on every retry).
      restoring.forEach(a -> unavailable.put(a,
          claimed.heldBecause(a).orElse("being given back (restore requested); not allocatable")));
      claimed.hold(unavailable);
      plugin.advertiser().sync();
      PassResult result = pass.run(spec, generation, Map.copyOf(answered));
      result.restores().forEach(r -> answered.put(r.owner(), r));
      answered.keySet().retainAll(Optional.ofNullable(spec.getRestore()).orElse(List.of()).stream()
          .map(RestoreRequest::getOwner).toList());
      Map<String, ResourceName> wanted = new LinkedHashMap<>();
      Map<String, String> stillHeld = new LinkedHashMap<>();
      for (DeviceReport d : result.devices()) {
        String address = d.address().toString();
        if (d.verified() && d.resourceName().isPresent()) {
          wanted.putIfAbsent(address, d.resourceName().get());
        } else if (d.waiting() && restoring.contains(address)) {
          // Its restore waits for its holder: it stays listed, Unhealthy, under its old name.
          claimed.resourceOf(address).ifPresent(r -> {
            wanted.putIfAbsent(address, r);
            stillHeld.put(address, d.message());
          });
        }
      }
      claimed.hold(stillHeld);
      plugin.advertiser().withdraw(claimed.publish(wanted));
      plugin.advertiser().sync();
      last = result;
    } catch (RuntimeException e) {
      log.error("node {}: pass for generation {} failed", nodeName, generation, e);
      last = new PassResult(generation, List.of(), List.of(), List.of(),
          Optional.of("the pass failed unexpectedly: " + e));
    }
    recorder.request();
    if (last.retry()) {
      // An unreadable host (sysfs mid-change, /proc/iomem hidden), a held device or a write
      // blocked in the kernel gets no new generation to trigger another pass; try the same spec
      // again unless a newer one arrived meanwhile.
      worker.schedule(() -> {
        if (latestGeneration == generation) {
          guarded(node);
        }
      }, hostRetry.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Between passes: who holds the reported devices now (a pod started or ended), for status. */
  private void refreshHolders() {
    PassResult before = last;
    if (before == null || before.devices().isEmpty()) {
      return;
    }
    try {
      PassResult now = pass.refreshHolders(before);
      for (int i = 0; i < now.devices().size(); i++) {
        String was = before.devices().get(i).holders().describe();
        String is = now.devices().get(i).holders().describe();
        if (!was.equals(is)) {
          log.info("node {}: {} held by {} (was {})", nodeName, now.devices().get(i).address(), is, was);
        }
      }
      if (last == before) {
        last = now;
        recorder.request();
      }
    } catch (RuntimeException e) {
      log.warn("node {}: holder check failed; status keeps the last one: {}", nodeName, e.getMessage());
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
    return Optional.of(NodeStatusBuilder.build(result, claimed.problems(), kubelet, claimed.published()));
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
    holders.check().close();
  }
}
