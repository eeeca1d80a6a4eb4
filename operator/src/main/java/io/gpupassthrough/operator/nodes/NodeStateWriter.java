package io.gpupassthrough.operator.nodes;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.operator.FieldReplacement;
import io.gpupassthrough.operator.agent.AgentManifests;
import io.gpupassthrough.operator.metrics.OperatorMetrics;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the {@code GpuPassthroughNode} objects match the plan: creates them (owned by their Node,
 * so they go when the node goes), merge-patches a spec that changed, deletes those no resource
 * selects any more. Unchanged specs are not written. Own writes go into the informer's temporary
 * cache, so the next pass sees them even before the watch event arrives.
 */
public final class NodeStateWriter {
  private static final Logger LOG = LoggerFactory.getLogger(NodeStateWriter.class);

  private final KubernetesClient client;
  private final InformerEventSource<GpuPassthroughNode, GpuPassthrough> states;
  private final OperatorMetrics metrics;

  public NodeStateWriter(
      KubernetesClient client, InformerEventSource<GpuPassthroughNode, GpuPassthrough> states, OperatorMetrics metrics) {
    this.client = client;
    this.states = states;
    this.metrics = metrics;
  }

  /** Returns the node states after the writes, by node name. */
  public Map<String, GpuPassthroughNode> apply(SortedMap<String, GpuPassthroughNodeSpec> desired, Map<String, Node> nodes) {
    Map<String, GpuPassthroughNode> after = new HashMap<>();
    states.list().forEach(s -> after.put(s.getMetadata().getName(), s));
    for (Map.Entry<String, GpuPassthroughNodeSpec> e : desired.entrySet()) {
      String name = e.getKey();
      Node node = nodes.get(name);
      GpuPassthroughNode live = after.get(name);
      ResourceID id = new ResourceID(name);
      if (live == null) {
        if (node == null) {
          continue;
        }
        GpuPassthroughNode created = client.resources(GpuPassthroughNode.class).resource(newState(node, e.getValue()))
            .create();
        states.handleRecentResourceCreate(id, created);
        after.put(name, created);
        metrics.nodeStateWritten();
        LOG.debug("GpuPassthroughNode {} created", name);
      } else if (!sameSpec(live.getSpec(), e.getValue())) {
        GpuPassthroughNode patched = client.resources(GpuPassthroughNode.class).withName(name)
            .patch(PatchContext.of(PatchType.JSON), FieldReplacement.of("spec", e.getValue()));
        states.handleRecentResourceUpdate(id, patched, live);
        after.put(name, patched);
        metrics.nodeStateWritten();
        LOG.info("GpuPassthroughNode {} spec updated to generation {}", name, patched.getMetadata().getGeneration());
      }
    }
    for (GpuPassthroughNode live : List.copyOf(after.values())) {
      String name = live.getMetadata().getName();
      if (!desired.containsKey(name) && managed(live)) {
        client.resources(GpuPassthroughNode.class).withName(name).delete();
        after.remove(name);
        metrics.nodeStateWritten();
        LOG.info("GpuPassthroughNode {} deleted: no GpuPassthrough selects the node", name);
      }
    }
    metrics.managedNodes(after.size());
    return after;
  }

  private static GpuPassthroughNode newState(Node node, GpuPassthroughNodeSpec spec) {
    GpuPassthroughNode s = new GpuPassthroughNode();
    s.setMetadata(new ObjectMetaBuilder()
        .withName(node.getMetadata().getName())
        .withLabels(Map.of(AgentManifests.MANAGED_BY, AgentManifests.MANAGER))
        .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("Node")
            .withName(node.getMetadata().getName()).withUid(node.getMetadata().getUid()).build())
        .build());
    s.setSpec(spec);
    return s;
  }

  private static boolean managed(GpuPassthroughNode s) {
    return s.getMetadata().getLabels() != null
        && AgentManifests.MANAGER.equals(s.getMetadata().getLabels().get(AgentManifests.MANAGED_BY));
  }

  static boolean sameSpec(GpuPassthroughNodeSpec a, GpuPassthroughNodeSpec b) {
    JsonNode ja = Serialization.jsonMapper().valueToTree(a);
    JsonNode jb = Serialization.jsonMapper().valueToTree(b);
    return ja.equals(jb);
  }
}
