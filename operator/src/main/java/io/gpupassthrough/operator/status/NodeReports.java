package io.gpupassthrough.operator.status;

import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.operator.plan.ClusterPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Pure: what the aggregator and the finalizer need to know about each node, for one resource. */
public final class NodeReports {
  private NodeReports() {}

  /** One report per node the resource's selector matches. */
  public static List<NodeReport> forResource(String owner, ClusterPlan plan, Map<String, GpuPassthroughNode> states) {
    List<NodeReport> out = new ArrayList<>();
    for (String node : plan.matchedNodes(owner)) {
      GpuPassthroughNode state = states.get(node);
      var spec = plan.nodeSpecs().get(node);
      boolean applied = spec != null && spec.getClaims().stream().map(DeviceClaim::getOwner).anyMatch(owner::equals);
      List<DeviceStatus> devices = state == null || state.getStatus() == null || state.getStatus().getDevices() == null
          ? List.of()
          : state.getStatus().getDevices().stream().filter(d -> owner.equals(d.getOwner())).toList();
      out.add(new NodeReport(node, applied, current(state), devices));
    }
    return out;
  }

  /** The agent has reported on the spec generation the object has now. */
  static boolean current(GpuPassthroughNode state) {
    return state != null && state.getStatus() != null && state.getStatus().getObservedGeneration() != null
        && state.getMetadata().getGeneration() != null
        && state.getStatus().getObservedGeneration() >= state.getMetadata().getGeneration();
  }

  /**
   * Nodes asked to restore {@code owner}'s devices that have not answered on the current spec, or
   * answered {@code Waiting} (a device is still held there; it stays on vfio-pci until released).
   */
  public static List<String> restorePending(String owner, ClusterPlan plan, Map<String, GpuPassthroughNode> states) {
    List<String> pending = new ArrayList<>();
    plan.nodeSpecs().forEach((node, spec) -> {
      boolean asked = spec.getRestore().stream().map(RestoreRequest::getOwner).anyMatch(owner::equals);
      RestoreResult r = restoreResult(owner, states.get(node));
      if (asked && (r == null || r.getState() == RestoreResult.State.WAITING)) {
        pending.add(node);
      }
    });
    return pending;
  }

  /** Nodes whose restore of {@code owner} waits for a holder, with the agent's message ("waiting for pod ..."). */
  public static List<String> restoreWaiting(String owner, ClusterPlan plan, Map<String, GpuPassthroughNode> states) {
    List<String> waiting = new ArrayList<>();
    for (String node : plan.nodeSpecs().keySet()) {
      RestoreResult r = restoreResult(owner, states.get(node));
      if (r != null && r.getState() == RestoreResult.State.WAITING) {
        waiting.add(node + ": " + r.getMessage());
      }
    }
    return waiting;
  }

  /** Nodes that answered a restore of {@code owner} with Failed, with their message. */
  public static List<String> restoreFailures(String owner, ClusterPlan plan, Map<String, GpuPassthroughNode> states) {
    List<String> failed = new ArrayList<>();
    for (String node : plan.nodeSpecs().keySet()) {
      RestoreResult r = restoreResult(owner, states.get(node));
      if (r != null && r.getState() == RestoreResult.State.FAILED) {
        failed.add(node + ": " + r.getMessage());
      }
    }
    return failed;
  }

  private static RestoreResult restoreResult(String owner, GpuPassthroughNode state) {
    if (!current(state) || state.getStatus().getRestores() == null) {
      return null;
    }
    return state.getStatus().getRestores().stream()
        .filter(r -> owner.equals(r.getOwner()) && r.getState() != null).findFirst().orElse(null);
  }
}
