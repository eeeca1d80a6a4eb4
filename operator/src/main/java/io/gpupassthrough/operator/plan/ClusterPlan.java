package io.gpupassthrough.operator.plan;

import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.operator.kubevirt.PermittedDevice;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/**
 * What the cluster should look like, decided from a {@link ClusterView} alone.
 *
 * @param nodeSpecs the desired {@code GpuPassthroughNode} spec per node name; nodes not here get none
 * @param agentPlacement empty: no agent DaemonSet; present with no terms: every node; else the union
 *     of the terms (one per resource)
 * @param permitted KubeVirt entries the operator wants to exist
 * @param invalid resources whose spec is invalid, with the problems
 * @param matchedNodes per resource, the nodes its selector matches (sorted)
 * @param conflicts per resource, the nodes where an older resource wins
 */
public record ClusterPlan(
    SortedMap<String, GpuPassthroughNodeSpec> nodeSpecs,
    Optional<List<NodeSelectorTerm>> agentPlacement,
    List<PermittedDevice> permitted,
    Map<String, InvalidSpecException> invalid,
    Map<String, List<String>> matchedNodes,
    Map<String, List<NodeConflict>> conflicts) {

  public List<String> matchedNodes(String resource) {
    return matchedNodes.getOrDefault(resource, List.of());
  }

  public List<NodeConflict> conflicts(String resource) {
    return conflicts.getOrDefault(resource, List.of());
  }
}
