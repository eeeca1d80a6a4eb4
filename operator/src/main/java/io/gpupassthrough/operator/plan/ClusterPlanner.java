package io.gpupassthrough.operator.plan;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.operator.kubevirt.PermittedDevice;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Pure: turns every {@code GpuPassthrough} and what the nodes reported into the desired
 * cluster state. Decides claims per node (older resource wins an overlap), restore requests for
 * resources being deleted, where the agent runs, and which KubeVirt entries should exist.
 */
public final class ClusterPlanner {
  /** Oldest first, then by name: the order in which overlapping claims are granted. */
  public static final Comparator<GpuPassthrough> PRECEDENCE =
      Comparator.comparing((GpuPassthrough g) -> Optional.ofNullable(g.getMetadata().getCreationTimestamp()).orElse("~"))
          .thenComparing(g -> g.getMetadata().getName());

  private ClusterPlanner() {}

  /**
   * @param finished resources being deleted whose restore is over: they are left out entirely
   */
  public static ClusterPlan plan(ClusterView view, Set<String> finished) {
    Map<String, InvalidSpecException> invalid = new TreeMap<>();
    List<GpuPassthrough> active = new ArrayList<>();
    List<GpuPassthrough> restoring = new ArrayList<>();
    for (GpuPassthrough g : view.resources()) {
      String name = g.getMetadata().getName();
      if (finished.contains(name)) {
        continue;
      }
      try {
        SpecValidator.requireValid(g.getSpec());
      } catch (InvalidSpecException e) {
        invalid.put(name, e);
        continue;
      }
      if (g.getMetadata().getDeletionTimestamp() == null) {
        active.add(g);
      } else if (Boolean.TRUE.equals(g.getSpec().getRestoreOnDelete())) {
        restoring.add(g);
      }
    }
    active.sort(PRECEDENCE);
    restoring.sort(PRECEDENCE);

    SortedMap<String, GpuPassthroughNodeSpec> nodeSpecs = new TreeMap<>();
    Map<String, List<String>> matched = new HashMap<>();
    Map<String, List<NodeConflict>> conflicts = new HashMap<>();
    List<Node> nodes = new ArrayList<>(view.nodes());
    nodes.sort(Comparator.comparing(n -> n.getMetadata().getName()));
    for (Node node : nodes) {
      String nodeName = node.getMetadata().getName();
      GpuPassthroughNode state = view.nodeStates().get(nodeName);
      List<DeviceStatus> reported = reported(state);
      List<GpuPassthrough> granted = new ArrayList<>();
      for (GpuPassthrough g : active) {
        if (!NodeSelection.matches(g.getSpec().getNodeSelector(), node.getMetadata().getLabels())) {
          continue;
        }
        matched.computeIfAbsent(g.getMetadata().getName(), k -> new ArrayList<>()).add(nodeName);
        Optional<GpuPassthrough> winner = granted.stream()
            .filter(w -> DeviceMatch.overlapOn(w.getSpec().getDevices(), g.getSpec().getDevices(), reported))
            .findFirst();
        if (winner.isPresent()) {
          conflicts.computeIfAbsent(g.getMetadata().getName(), k -> new ArrayList<>())
              .add(new NodeConflict(nodeName, winner.get().getMetadata().getName()));
        } else {
          granted.add(g);
        }
      }
      List<RestoreRequest> restores = new ArrayList<>();
      for (GpuPassthrough g : restoring) {
        restoreRequest(g.getMetadata().getName(), state, reported).ifPresent(restores::add);
      }
      if (!granted.isEmpty() || !restores.isEmpty()) {
        GpuPassthroughNodeSpec spec = new GpuPassthroughNodeSpec();
        spec.setClaims(granted.stream().map(ClusterPlanner::claim).toList());
        spec.setRestore(restores);
        nodeSpecs.put(nodeName, spec);
      }
    }

    List<GpuPassthrough> placed = new ArrayList<>(active);
    placed.addAll(restoring);
    return new ClusterPlan(
        nodeSpecs,
        placement(placed),
        permitted(active, view.nodeStates().values()),
        invalid,
        matched,
        conflicts);
  }

  private static DeviceClaim claim(GpuPassthrough g) {
    DeviceClaim c = new DeviceClaim();
    c.setOwner(g.getMetadata().getName());
    c.setSelector(g.getSpec().getDevices());
    c.setResourceName(g.getSpec().getResourceName());
    c.setConsoleConflicts(g.getSpec().getConsoleConflicts());
    c.setIncludeIommuGroupCompanions(g.getSpec().getIncludeIommuGroupCompanions());
    return c;
  }

  /**
   * Sticky: once asked, a node keeps its request until the resource is finished, even after the
   * agent stops reporting the devices (which is what a completed restore looks like).
   */
  private static Optional<RestoreRequest> restoreRequest(
      String owner, GpuPassthroughNode state, List<DeviceStatus> reported) {
    TreeSet<String> addresses = new TreeSet<>();
    boolean askedBefore = false;
    if (state != null && state.getSpec() != null && state.getSpec().getRestore() != null) {
      for (RestoreRequest r : state.getSpec().getRestore()) {
        if (owner.equals(r.getOwner())) {
          askedBefore = true;
          if (r.getAddresses() != null) {
            addresses.addAll(r.getAddresses());
          }
        }
      }
    }
    reported.stream().filter(d -> owner.equals(d.getOwner())).forEach(d -> addresses.add(d.getAddress()));
    if (addresses.isEmpty() && !askedBefore) {
      return Optional.empty();
    }
    RestoreRequest r = new RestoreRequest();
    r.setOwner(owner);
    r.setAddresses(List.copyOf(addresses));
    return Optional.of(r);
  }

  private static Optional<List<NodeSelectorTerm>> placement(List<GpuPassthrough> placed) {
    if (placed.isEmpty()) {
      return Optional.empty();
    }
    if (placed.stream().anyMatch(g -> NodeSelection.selectsAll(g.getSpec().getNodeSelector()))) {
      return Optional.of(List.of());
    }
    Map<String, NodeSelectorTerm> terms = new LinkedHashMap<>();
    for (GpuPassthrough g : placed) {
      NodeSelectorTerm t = NodeSelection.toAffinityTerm(g.getSpec().getNodeSelector());
      terms.putIfAbsent(t.toString(), t);
    }
    return Optional.of(List.copyOf(terms.values()));
  }

  /**
   * From the explicit resource name and vendor/device IDs of each resource, and from the
   * vendor:device and resource name each node reports (the default names are derived on the node
   * from pci.ids, so only the node knows them).
   */
  private static List<PermittedDevice> permitted(List<GpuPassthrough> active, java.util.Collection<GpuPassthroughNode> states) {
    TreeSet<PermittedDevice> out = new TreeSet<>();
    Set<String> permitting = new java.util.HashSet<>();
    for (GpuPassthrough g : active) {
      if (g.getSpec().getKubevirt() != null && Boolean.FALSE.equals(g.getSpec().getKubevirt().getPermit())) {
        continue;
      }
      permitting.add(g.getMetadata().getName());
      var s = g.getSpec().getDevices();
      if (g.getSpec().getResourceName() != null && DeviceMatch.present(s.getVendorIds())
          && DeviceMatch.present(s.getDeviceIds())) {
        for (String v : s.getVendorIds()) {
          for (String d : s.getDeviceIds()) {
            out.add(PermittedDevice.of(v, d, g.getSpec().getResourceName()));
          }
        }
      }
    }
    // Thousands of devices, a handful of distinct models: dedupe on the raw fields first.
    record Reported(String vendor, String device, String resourceName) {}
    Set<Reported> seen = new java.util.HashSet<>();
    for (GpuPassthroughNode n : states) {
      for (DeviceStatus d : reported(n)) {
        if (d.getOwner() != null && permitting.contains(d.getOwner()) && d.getResourceName() != null
            && d.getVendor() != null && d.getDevice() != null
            && seen.add(new Reported(d.getVendor(), d.getDevice(), d.getResourceName()))) {
          out.add(PermittedDevice.of(d.getVendor(), d.getDevice(), d.getResourceName()));
        }
      }
    }
    return List.copyOf(out);
  }

  static List<DeviceStatus> reported(GpuPassthroughNode state) {
    if (state == null || state.getStatus() == null || state.getStatus().getDevices() == null) {
      return List.of();
    }
    return state.getStatus().getDevices();
  }
}
