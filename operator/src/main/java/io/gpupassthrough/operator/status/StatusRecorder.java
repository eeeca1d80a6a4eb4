package io.gpupassthrough.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughStatus;
import io.gpupassthrough.operator.FieldReplacement;
import io.gpupassthrough.operator.metrics.OperatorMetrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one place {@code GpuPassthrough} status is written. It remembers what it last wrote per
 * object (by UID) and skips the patch when nothing changed, because the informer cache may not
 * have caught up with its own previous write yet. It relies on being the only writer of this
 * status, which leader election guarantees. Each condition whose status flips becomes an Event.
 */
public final class StatusRecorder {
  private static final Set<String> WARN_WHEN_TRUE = Set.of(ConditionType.DEGRADED.type(), ConditionType.CONFLICT.type());
  /** A False that needs the admin; an opted-out KubeVirt wiring (PermitDisabled) does not. */
  private static final Set<String> WARN_WHEN_FALSE =
      Set.of(ConditionType.READY.type(), ConditionType.KUBEVIRT_PERMITTED.type());

  /**
   * While only counts and messages move (e.g. 1,000 agents reporting one after another), at most
   * one write per this interval; a condition flip is always written at once.
   */
  public static final Duration MIN_INTERVAL = Duration.ofSeconds(1);

  private final KubernetesClient client;
  private final EventRecorder events;
  private final OperatorMetrics metrics;
  private final Clock clock;
  private final Map<String, GpuPassthroughStatus> lastWritten = new ConcurrentHashMap<>();
  private final Map<String, Instant> lastWriteTime = new ConcurrentHashMap<>();

  public StatusRecorder(KubernetesClient client, EventRecorder events, OperatorMetrics metrics, Clock clock) {
    this.client = client;
    this.events = events;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** The status as last written, or as cached when this process has not written it yet. */
  public GpuPassthroughStatus previous(GpuPassthrough resource) {
    return lastWritten.getOrDefault(resource.getMetadata().getUid(), resource.getStatus());
  }

  /**
   * Patches the status when it differs from the previous one. Returns how long to wait before
   * trying again when the write was deferred (see {@link #MIN_INTERVAL}), else empty.
   */
  public Optional<Duration> record(GpuPassthrough resource, GpuPassthroughStatus status) {
    GpuPassthroughStatus before = previous(resource);
    if (status.equals(before)) {
      metrics.statusWriteSkipped();
      return Optional.empty();
    }
    String uid = resource.getMetadata().getUid();
    Instant now = clock.instant();
    Instant last = lastWriteTime.get(uid);
    if (last != null && !flips(before, status) && now.isBefore(last.plus(MIN_INTERVAL))) {
      metrics.statusWriteDeferred();
      return Optional.of(Duration.between(now, last.plus(MIN_INTERVAL)));
    }
    // Addressed by name only and carrying only the status: a patch of the status subresource
    // that cannot take a stale spec or resourceVersion along.
    client.resources(GpuPassthrough.class).withName(resource.getMetadata().getName()).subresource("status")
        .patch(PatchContext.of(PatchType.JSON), FieldReplacement.of("status", status));
    lastWritten.put(uid, status);
    lastWriteTime.put(uid, now);
    metrics.statusWritten();
    announceTransitions(resource, before, status);
    return Optional.empty();
  }

  /** Some condition changed its status (or the observed generation moved). */
  static boolean flips(GpuPassthroughStatus before, GpuPassthroughStatus after) {
    if (before == null || before.getConditions() == null
        || !Objects.equals(before.getObservedGeneration(), after.getObservedGeneration())) {
      return true;
    }
    Map<String, String> old = new java.util.HashMap<>();
    before.getConditions().forEach(c -> old.put(c.getType(), c.getStatus()));
    return after.getConditions().stream().anyMatch(c -> !Objects.equals(old.get(c.getType()), c.getStatus()));
  }

  static boolean warns(Condition c) {
    return "True".equals(c.getStatus())
        ? WARN_WHEN_TRUE.contains(c.getType())
        : WARN_WHEN_FALSE.contains(c.getType()) && !StatusAggregator.PERMIT_DISABLED.equals(c.getReason());
  }

  /** Forgets a deleted object. */
  public void forget(GpuPassthrough resource) {
    lastWritten.remove(resource.getMetadata().getUid());
    lastWriteTime.remove(resource.getMetadata().getUid());
  }

  private void announceTransitions(GpuPassthrough resource, GpuPassthroughStatus before, GpuPassthroughStatus after) {
    List<Condition> old = before == null || before.getConditions() == null ? List.of() : before.getConditions();
    for (Condition c : after.getConditions()) {
      String previous = old.stream().filter(o -> Objects.equals(o.getType(), c.getType()))
          .map(Condition::getStatus).findFirst().orElse(ConditionType.assumed(c.getType()));
      if (Objects.equals(previous, c.getStatus())) {
        continue;
      }
      String message = c.getType() + "=" + c.getStatus() + ": " + c.getMessage();
      if (warns(c)) {
        events.warning(resource, c.getReason(), message);
      } else {
        events.normal(resource, c.getReason(), message);
      }
    }
  }
}
