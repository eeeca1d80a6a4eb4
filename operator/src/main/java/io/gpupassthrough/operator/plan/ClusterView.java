package io.gpupassthrough.operator.plan;

import io.fabric8.kubernetes.api.model.Node;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import java.util.List;
import java.util.Map;

/** What the operator observed, from its informer caches, at the start of one pass. */
public record ClusterView(
    List<GpuPassthrough> resources, List<Node> nodes, Map<String, GpuPassthroughNode> nodeStates) {

  public ClusterView {
    resources = List.copyOf(resources);
    nodes = List.copyOf(nodes);
    nodeStates = Map.copyOf(nodeStates);
  }
}
