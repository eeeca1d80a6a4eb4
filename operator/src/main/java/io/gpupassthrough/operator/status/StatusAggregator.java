package io.gpupassthrough.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughStatus;
import io.gpupassthrough.operator.plan.InvalidSpecException;
import io.gpupassthrough.operator.plan.NodeConflict;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Pure: node reports in, {@code GpuPassthrough} status out. Given the same inputs and the previous
 * status it returns an equal status (transition times are kept while a condition's status holds),
 * which is what lets the recorder skip no-op writes. Messages list at most {@value #LISTED} items
 * in a stable order so they do not churn.
 */
public final class StatusAggregator {
  static final int LISTED = 3;
  /** Conditions a deletion in progress carries over as they were. */
  private static final java.util.Set<String> KEPT_WHILE_RESTORING = java.util.Set.of(
      ConditionType.DEGRADED.type(), ConditionType.CONFLICT.type(), ConditionType.KUBEVIRT_PERMITTED.type());

  /** Condition reasons beyond the device {@link io.gpupassthrough.api.v1alpha1.Reason} codes. */
  public static final String ALL_DEVICES_ADVERTISED = "AllDevicesAdvertised";
  public static final String NODES_SYNCING = "NodesSyncing";
  public static final String ALL_NODES_SYNCED = "AllNodesSynced";
  public static final String NO_MATCHING_NODES = "NoMatchingNodes";
  public static final String NO_MATCHING_DEVICES = "NoMatchingDevices";
  public static final String DEVICES_BLOCKED = "DevicesBlocked";
  public static final String NO_BLOCKED_DEVICES = "NoBlockedDevices";
  public static final String NO_CONFLICT = "NoConflict";
  public static final String RESTORING = "Restoring";
  public static final String RECONCILE_ERROR = "ReconcileError";
  public static final String PERMITTED_IN_KUBEVIRT = "PermittedInKubeVirt";
  public static final String KUBEVIRT_NOT_INSTALLED = "KubeVirtNotInstalled";
  public static final String KUBEVIRT_NOT_FOUND = "KubeVirtNotFound";
  public static final String PERMIT_DISABLED = "PermitDisabled";

  private StatusAggregator() {}

  public static GpuPassthroughStatus aggregate(
      long generation,
      GpuPassthroughStatus previous,
      Optional<InvalidSpecException> invalid,
      List<NodeReport> reports,
      List<NodeConflict> conflicts,
      KubeVirtStanding kubevirt,
      Instant now) {
    GpuPassthroughStatus s = new GpuPassthroughStatus();
    s.setObservedGeneration(generation);
    s.setNodesMatched(reports.size());
    List<Condition> conditions = new ArrayList<>();
    String claimConflict = io.gpupassthrough.api.v1alpha1.Reason.CLAIM_CONFLICT.code();
    if (invalid.isPresent()) {
      String code = invalid.get().reason().code();
      String msg = "invalid spec: " + invalid.get().getMessage();
      s.setNodesReady(0);
      s.setDevicesAdvertised(0);
      s.setDevicesBlocked(0);
      conditions.add(cond(ConditionType.READY, false, code, msg));
      conditions.add(cond(ConditionType.PROGRESSING, false, code, "nothing is applied until the spec is fixed"));
      conditions.add(cond(ConditionType.DEGRADED, true, code, msg));
      conditions.add(cond(ConditionType.CONFLICT, false, NO_CONFLICT, "no other resource claims these devices"));
      conditions.add(cond(ConditionType.KUBEVIRT_PERMITTED, false, code, "nothing is applied until the spec is fixed"));
      s.setConditions(withTransitions(conditions, previous, generation, now));
      return s;
    }

    long advertised = reports.stream().mapToLong(NodeReport::advertised).sum();
    List<String> blockedLines = new ArrayList<>();
    Map<String, Integer> blockedByReason = new TreeMap<>();
    for (NodeReport r : reports) {
      for (DeviceStatus d : r.blocked()) {
        String code = d.getReason() == null ? "NotAdvertised" : d.getReason().code();
        blockedByReason.merge(code, 1, Integer::sum);
        blockedLines.add(r.node() + " " + d.getAddress() + " " + code
            + (d.getMessage() == null ? "" : ": " + d.getMessage()));
      }
    }
    int blocked = blockedLines.size();
    List<String> syncing = reports.stream().filter(r -> r.applied() && !r.current()).map(NodeReport::node).toList();
    int ready = (int) reports.stream().filter(NodeReport::ready).count();
    s.setNodesReady(ready);
    s.setDevicesAdvertised((int) advertised);
    s.setDevicesBlocked(blocked);

    boolean progressing = !syncing.isEmpty();
    conditions.add(progressing
        ? cond(ConditionType.PROGRESSING, true, NODES_SYNCING,
            syncing.size() + " of " + reports.size() + " nodes have not reported on the current spec yet: " + list(syncing))
        : cond(ConditionType.PROGRESSING, false, ALL_NODES_SYNCED, "every matched node reported on the current spec"));

    String blockedReason = blockedByReason.size() == 1 ? blockedByReason.keySet().iterator().next() : DEVICES_BLOCKED;
    conditions.add(blocked > 0
        ? cond(ConditionType.DEGRADED, true, blockedReason, blocked + " devices not advertised: " + list(blockedLines))
        : cond(ConditionType.DEGRADED, false, NO_BLOCKED_DEVICES, "no device is blocked"));

    Map<String, List<String>> byWinner = conflicts.stream().collect(Collectors.groupingBy(
        NodeConflict::winner, TreeMap::new, Collectors.mapping(NodeConflict::node, Collectors.toList())));
    String conflictMsg = byWinner.entrySet().stream()
        .map(e -> "older GpuPassthrough '" + e.getKey() + "' already claims these devices on "
            + e.getValue().size() + " nodes: " + list(e.getValue()))
        .collect(Collectors.joining("; "));
    conditions.add(conflicts.isEmpty()
        ? cond(ConditionType.CONFLICT, false, NO_CONFLICT, "no other resource claims these devices")
        : cond(ConditionType.CONFLICT, true, claimConflict, conflictMsg + "; narrow one of the selectors"));

    Condition readyCond;
    if (reports.isEmpty()) {
      readyCond = cond(ConditionType.READY, false, NO_MATCHING_NODES, "no node matches spec.nodeSelector");
    } else if (progressing) {
      readyCond = cond(ConditionType.READY, false, NODES_SYNCING,
          ready + " of " + reports.size() + " nodes ready; waiting for " + syncing.size() + " to report");
    } else if (!conflicts.isEmpty()) {
      readyCond = cond(ConditionType.READY, false, claimConflict, conflictMsg);
    } else if (blocked > 0) {
      readyCond = cond(ConditionType.READY, false, blockedReason,
          blocked + " devices not advertised; see Degraded and kubectl get gptnode");
    } else if (advertised == 0) {
      readyCond = cond(ConditionType.READY, false, NO_MATCHING_DEVICES,
          "no device on the " + reports.size() + " matched nodes matches spec.devices");
    } else {
      readyCond = cond(ConditionType.READY, true, ALL_DEVICES_ADVERTISED,
          advertised + " devices advertised on " + ready + " nodes");
    }
    conditions.add(0, readyCond);
    conditions.add(kubevirtCondition(kubevirt));
    s.setConditions(withTransitions(conditions, previous, generation, now));
    return s;
  }

  /**
   * KubeVirt's wiring is its own condition: without KubeVirt the devices are still advertised to
   * kubelets (pods can use them), so Ready and the counts say what the nodes did, and this says
   * what to do about KubeVirt.
   */
  static Condition kubevirtCondition(KubeVirtStanding k) {
    if (!k.requested()) {
      return cond(ConditionType.KUBEVIRT_PERMITTED, false, PERMIT_DISABLED,
          "spec.kubevirt.permit is false: the devices are not added to KubeVirt's permittedHostDevices");
    }
    return switch (k.state()) {
      case PERMITTED -> cond(ConditionType.KUBEVIRT_PERMITTED, true, PERMITTED_IN_KUBEVIRT,
          "the devices are in KubeVirt " + k.where()
              + " spec.configuration.permittedHostDevices.pciHostDevices (externalResourceProvider: true)");
      case NOT_INSTALLED -> cond(ConditionType.KUBEVIRT_PERMITTED, false, KUBEVIRT_NOT_INSTALLED,
          "KubeVirt is not installed (no CustomResourceDefinition " + k.where() + "); install KubeVirt and the"
              + " devices are permitted as soon as its KubeVirt resource exists, or set spec.kubevirt.permit: false"
              + " if no VM uses them");
      case NO_RESOURCE -> cond(ConditionType.KUBEVIRT_PERMITTED, false, KUBEVIRT_NOT_FOUND,
          "KubeVirt is installed but there is no KubeVirt resource in namespace " + k.where()
              + "; create it, or set GPUPT_KUBEVIRT_NAMESPACE on the operator Deployment to the namespace that"
              + " holds it, or set spec.kubevirt.permit: false if no VM uses the devices");
    };
  }

  /**
   * An unexpected failure of a pass: {@code Ready=False} with the error, the other conditions and
   * counts as they were (the pass did not get far enough to know better).
   */
  public static GpuPassthroughStatus failed(long generation, GpuPassthroughStatus previous, String error, Instant now) {
    GpuPassthroughStatus s = new GpuPassthroughStatus();
    s.setObservedGeneration(generation);
    if (previous != null) {
      s.setNodesMatched(previous.getNodesMatched());
      s.setNodesReady(previous.getNodesReady());
      s.setDevicesAdvertised(previous.getDevicesAdvertised());
      s.setDevicesBlocked(previous.getDevicesBlocked());
    }
    List<Condition> conditions = new ArrayList<>();
    conditions.add(cond(ConditionType.READY, false, RECONCILE_ERROR, "reconcile failed (will retry): " + error));
    if (previous != null && previous.getConditions() != null) {
      for (Condition c : previous.getConditions()) {
        if (!c.getType().equals(ConditionType.READY.type())) {
          conditions.add(copy(c));
        }
      }
    }
    s.setConditions(withTransitions(conditions, previous, generation, now));
    return s;
  }

  /** While a deleted resource waits for its nodes to give the devices back. */
  public static GpuPassthroughStatus restoring(
      long generation, GpuPassthroughStatus previous, List<String> pendingNodes, Instant now) {
    return restoring(generation, previous, pendingNodes, List.of(), now);
  }

  /**
   * @param waiting "node: message" for nodes that answered that a device is still held (a pod or
   *     process has it): the message says who, e.g. "waiting for pod default/virt-launcher-vm1-x to
   *     release 0000:41:00.0"
   */
  public static GpuPassthroughStatus restoring(long generation, GpuPassthroughStatus previous,
      List<String> pendingNodes, List<String> waiting, Instant now) {
    GpuPassthroughStatus s = new GpuPassthroughStatus();
    s.setObservedGeneration(generation);
    if (previous != null) {
      s.setNodesMatched(previous.getNodesMatched());
      s.setNodesReady(0);
      s.setDevicesAdvertised(0);
      s.setDevicesBlocked(previous.getDevicesBlocked());
    }
    String msg = waiting.isEmpty()
        ? "deleting: waiting for " + pendingNodes.size() + " nodes to give the devices back: " + list(pendingNodes)
        : "deleting: devices still held, left on vfio-pci until released: " + list(waiting)
            + (pendingNodes.size() > waiting.size()
                ? "; " + (pendingNodes.size() - waiting.size()) + " more nodes have not answered" : "");
    List<Condition> conditions = new ArrayList<>();
    conditions.add(cond(ConditionType.READY, false, RESTORING, msg));
    conditions.add(cond(ConditionType.PROGRESSING, true, RESTORING, msg));
    if (previous != null && previous.getConditions() != null) {
      previous.getConditions().stream()
          .filter(c -> KEPT_WHILE_RESTORING.contains(c.getType()))
          .map(StatusAggregator::copy)
          .forEach(conditions::add);
    }
    s.setConditions(withTransitions(conditions, previous, generation, now));
    return s;
  }

  private static Condition cond(ConditionType type, boolean status, String reason, String message) {
    Condition c = new Condition();
    c.setType(type.type());
    c.setStatus(status ? "True" : "False");
    c.setReason(reason);
    c.setMessage(message);
    return c;
  }

  /** Type, status, reason and message of {@code c}; times are set again by {@link #withTransitions}. */
  private static Condition copy(Condition c) {
    Condition out = new Condition();
    out.setType(c.getType());
    out.setStatus(c.getStatus());
    out.setReason(c.getReason());
    out.setMessage(c.getMessage());
    return out;
  }

  /** Keeps the previous transition time while a condition's status is unchanged. */
  private static List<Condition> withTransitions(
      List<Condition> conditions, GpuPassthroughStatus previous, long generation, Instant now) {
    String nowText = DateTimeFormatter.ISO_INSTANT.format(now.truncatedTo(ChronoUnit.SECONDS));
    for (Condition c : conditions) {
      c.setObservedGeneration(generation);
      String time = nowText;
      if (previous != null && previous.getConditions() != null) {
        for (Condition p : previous.getConditions()) {
          if (Objects.equals(p.getType(), c.getType()) && Objects.equals(p.getStatus(), c.getStatus())
              && p.getLastTransitionTime() != null) {
            time = p.getLastTransitionTime();
          }
        }
      }
      c.setLastTransitionTime(time);
    }
    return conditions;
  }

  private static String list(List<String> items) {
    List<String> sorted = items.stream().sorted().toList();
    String shown = String.join(", ", sorted.subList(0, Math.min(LISTED, sorted.size())));
    return sorted.size() > LISTED ? shown + " and " + (sorted.size() - LISTED) + " more" : shown;
  }
}
