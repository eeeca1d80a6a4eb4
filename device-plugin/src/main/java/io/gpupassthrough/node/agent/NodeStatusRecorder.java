package io.gpupassthrough.node.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.KubeletRegistration;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one writer of the node's status. {@link #request()} coalesces bursts (a pass and the health
 * changes that follow it) into one build after {@code debounce}; the built status is compared
 * with the last one written, ignoring {@code lastSync} and the conditions' transition times, and
 * only a difference is written: a patch of the {@code status} subresource built from a fresh
 * object carrying only the name and the new status, with no resourceVersion (so it never conflicts
 * with the operator's spec writes) and no server-side apply. The patch is the one-operation JSON
 * patch {@code add /status}, which replaces the status whole: a JSON merge patch would do the same
 * on a real API server, but the fabric8 mock server merges arrays by appending, so lists of
 * devices would pile up there.
 */
final class NodeStatusRecorder {
  private static final Logger log = LoggerFactory.getLogger(NodeStatusRecorder.class);
  public static final Duration DEFAULT_DEBOUNCE = Duration.ofMillis(500);
  /** Stateless after construction; one for every status this recorder clones, compares or sends. */
  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  private final KubernetesClient client;
  private final String nodeName;
  private final Supplier<Optional<GpuPassthroughNodeStatus>> source;
  private final ScheduledExecutorService worker;
  private final Duration debounce;
  private final Clock clock;
  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private GpuPassthroughNodeStatus lastWritten;
  private boolean pending;

  /**
   * @param source builds the current status; empty while there is nothing to report yet
   * @param worker the agent's single worker thread; builds and writes run there
   */
  NodeStatusRecorder(KubernetesClient client, String nodeName,
      Supplier<Optional<GpuPassthroughNodeStatus>> source, ScheduledExecutorService worker,
      Duration debounce, Clock clock) {
    this.client = client;
    this.nodeName = nodeName;
    this.source = source;
    this.worker = worker;
    this.debounce = debounce;
    this.clock = clock;
  }

  /** What the object already carries (a restarted agent): an equal status is then not rewritten. */
  synchronized void seed(GpuPassthroughNodeStatus existing) {
    if (lastWritten == null && existing != null) {
      lastWritten = existing;
    }
  }

  /** Asks for a status write within {@code debounce}; requests inside that window coalesce. */
  synchronized void request() {
    if (pending) {
      return;
    }
    pending = true;
    worker.schedule(this::flush, debounce.toMillis(), TimeUnit.MILLISECONDS);
  }

  long writes() {
    return writes.get();
  }

  long skipped() {
    return skipped.get();
  }

  /** Builds and, when changed, writes. Runs on the worker; a failed write is retried later. */
  void flush() {
    synchronized (this) {
      pending = false;
    }
    Optional<GpuPassthroughNodeStatus> built = source.get();
    if (built.isEmpty()) {
      return;
    }
    GpuPassthroughNodeStatus before;
    synchronized (this) {
      before = lastWritten;
    }
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    GpuPassthroughNodeStatus next = stamped(built.get(), before, now);
    if (before != null && comparable(before).equals(comparable(next))) {
      skipped.incrementAndGet();
      log.debug("node {}: status unchanged, not written", nodeName);
      return;
    }
    try {
      GpuPassthroughNode fresh = new GpuPassthroughNode();
      fresh.getMetadata().setName(nodeName);
      fresh.setSpec(null);
      fresh.setStatus(next);
      String patch = JSON.asJson(List.of(Map.of("op", "add", "path", "/status", "value", fresh.getStatus())));
      client.resource(fresh).subresource("status").patch(PatchContext.of(PatchType.JSON), patch);
      writes.incrementAndGet();
      synchronized (this) {
        lastWritten = next;
      }
      log.info("node {}: status written: {}", nodeName, next.getMessage());
    } catch (KubernetesClientException e) {
      // Not found (the operator has not created it yet, or deleted it) or the API is away: the
      // next pass or health change requests again; retry once on our own so a blip heals.
      log.warn("node {}: status write failed ({}); retrying in {} ms", nodeName, e.getMessage(),
          debounce.multipliedBy(4).toMillis());
      worker.schedule(this::request, debounce.multipliedBy(4).toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Keeps each condition's lastTransitionTime while its status stays, and each device's
   * registeredSince while it stays registered; sets lastSync.
   */
  static GpuPassthroughNodeStatus stamped(GpuPassthroughNodeStatus built,
      GpuPassthroughNodeStatus before, Instant now) {
    List<Condition> conditions = new ArrayList<>();
    for (Condition c : built.getConditions()) {
      Optional<Condition> old = before == null ? Optional.empty()
          : before.getConditions().stream().filter(o -> o.getType().equals(c.getType())).findFirst();
      Condition copy = JSON.clone(c);
      copy.setLastTransitionTime(old.filter(o -> o.getStatus().equals(c.getStatus()))
          .map(Condition::getLastTransitionTime).orElse(now.toString()));
      conditions.add(copy);
    }
    GpuPassthroughNodeStatus next = JSON.clone(built);
    next.setConditions(conditions);
    next.setLastSync(now.toString());
    if (before != null) {
      for (DeviceStatus d : next.getDevices()) {
        before.getDevices().stream()
            .filter(o -> o.getAddress().equals(d.getAddress()) && Objects.equals(o.getOwner(), d.getOwner()))
            .filter(o -> o.getKubelet() == KubeletRegistration.REGISTERED && o.getRegisteredSince() != null)
            .findFirst()
            .filter(o -> d.getKubelet() == KubeletRegistration.REGISTERED)
            .ifPresent(o -> d.setRegisteredSince(o.getRegisteredSince()));
      }
    }
    return next;
  }

  private static JsonNode comparable(GpuPassthroughNodeStatus s) {
    ObjectNode tree = JSON.convertValue(s, ObjectNode.class);
    tree.remove("lastSync");
    return tree;
  }
}
