package io.gpupassthrough.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughStatus;
import io.gpupassthrough.operator.FieldReplacement;
import io.gpupassthrough.operator.metrics.OperatorMetrics;
import java.util.List;
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

  private final KubernetesClient client;
  private final EventRecorder events;
  private final OperatorMetrics metrics;
  private final Map<String, GpuPassthroughStatus> lastWritten = new ConcurrentHashMap<>();

  public StatusRecorder(KubernetesClient client, EventRecorder events, OperatorMetrics metrics) {
    this.client = client;
    this.events = events;
    this.metrics = metrics;
  }

  /** The status as last written, or as cached when this process has not written it yet. */
  public GpuPassthroughStatus previous(GpuPassthrough resource) {
    return lastWritten.getOrDefault(resource.getMetadata().getUid(), resource.getStatus());
  }

  /** Patches the status when it differs from the previous one; returns whether it wrote. */
  public boolean record(GpuPassthrough resource, GpuPassthroughStatus status) {
    GpuPassthroughStatus before = previous(resource);
    if (status.equals(before)) {
      metrics.statusWriteSkipped();
      return false;
    }
    // Addressed by name only and carrying only the status: a patch of the status subresource
    // that cannot take a stale spec or resourceVersion along.
    client.resources(GpuPassthrough.class).withName(resource.getMetadata().getName()).subresource("status")
        .patch(PatchContext.of(PatchType.JSON), FieldReplacement.of("status", status));
    lastWritten.put(resource.getMetadata().getUid(), status);
    metrics.statusWritten();
    announceTransitions(resource, before, status);
    return true;
  }

  /** Forgets a deleted object. */
  public void forget(GpuPassthrough resource) {
    lastWritten.remove(resource.getMetadata().getUid());
  }

  private void announceTransitions(GpuPassthrough resource, GpuPassthroughStatus before, GpuPassthroughStatus after) {
    List<Condition> old = before == null || before.getConditions() == null ? List.of() : before.getConditions();
    for (Condition c : after.getConditions()) {
      String previous = old.stream().filter(o -> Objects.equals(o.getType(), c.getType()))
          .map(Condition::getStatus).findFirst().orElse("False");
      if (Objects.equals(previous, c.getStatus())) {
        continue;
      }
      boolean warn = "True".equals(c.getStatus())
          ? WARN_WHEN_TRUE.contains(c.getType())
          : ConditionType.READY.type().equals(c.getType());
      String message = c.getType() + "=" + c.getStatus() + ": " + c.getMessage();
      if (warn) {
        events.warning(resource, c.getReason(), message);
      } else {
        events.normal(resource, c.getReason(), message);
      }
    }
  }
}
