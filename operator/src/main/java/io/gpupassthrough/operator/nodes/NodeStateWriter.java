package io.gpupassthrough.operator.nodes;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.operator.FieldReplacement;
import io.gpupassthrough.operator.agent.AgentManifests;
import io.gpupassthrough.operator.metrics.OperatorMetrics;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
  /** Writes go out in parallel: at 1,000 nodes one-by-one round trips dominate a pass. */
  static final int PARALLEL_WRITES = 8;
  private final ExecutorService pool = Executors.newFixedThreadPool(PARALLEL_WRITES, r -> {
    Thread t = new Thread(r, "gpupt-node-state-writer");
    t.setDaemon(true);
    return t;
  });

  public NodeStateWriter(
      KubernetesClient client, InformerEventSource<GpuPassthroughNode, GpuPassthrough> states, OperatorMetrics metrics) {
    this.client = client;
    this.states = states;
    this.metrics = metrics;
  }

  /** Returns the node states after the writes, by node name. */
  public Map<String, GpuPassthroughNode> apply(SortedMap<String, GpuPassthroughNodeSpec> desired, Map<String, Node> nodes) {
    Map<String, GpuPassthroughNode> after = new ConcurrentHashMap<>();
    states.list().forEach(s -> after.put(s.getMetadata().getName(), s));
    List<Callable<Void>> writes = new ArrayList<>();
    for (Map.Entry<String, GpuPassthroughNodeSpec> e : desired.entrySet()) {
      String name = e.getKey();
      Node node = nodes.get(name);
      GpuPassthroughNode live = after.get(name);
      if (live == null && node != null) {
        writes.add(() -> {
          create(node, e.getValue(), after);
          return null;
        });
      } else if (live != null && !sameSpec(live.getSpec(), e.getValue())) {
        writes.add(() -> {
          patch(live, e.getValue(), after);
          return null;
        });
      }
    }
    for (GpuPassthroughNode live : List.copyOf(after.values())) {
      if (!desired.containsKey(live.getMetadata().getName()) && managed(live)) {
        writes.add(() -> {
          delete(live, after);
          return null;
        });
      }
    }
    long started = System.nanoTime();
    runAll(writes);
    if (writes.size() > 1) {
      LOG.info("{} GpuPassthroughNode writes in {} ms ({} at a time)", writes.size(),
          (System.nanoTime() - started) / 1_000_000, PARALLEL_WRITES);
    }
    metrics.managedNodes(after.size());
    return new HashMap<>(after);
  }

  private void create(Node node, GpuPassthroughNodeSpec spec, Map<String, GpuPassthroughNode> after) {
    String name = node.getMetadata().getName();
    GpuPassthroughNode created = client.resources(GpuPassthroughNode.class).resource(newState(node, spec)).create();
    states.handleRecentResourceCreate(new ResourceID(name), created);
    after.put(name, created);
    metrics.nodeStateWritten();
    LOG.debug("GpuPassthroughNode {} created", name);
  }

  private void patch(GpuPassthroughNode live, GpuPassthroughNodeSpec spec, Map<String, GpuPassthroughNode> after) {
    String name = live.getMetadata().getName();
    GpuPassthroughNode patched = client.resources(GpuPassthroughNode.class).withName(name)
        .patch(PatchContext.of(PatchType.JSON), FieldReplacement.of("spec", spec));
    states.handleRecentResourceUpdate(new ResourceID(name), patched, live);
    after.put(name, patched);
    metrics.nodeStateWritten();
    LOG.info("GpuPassthroughNode {} spec updated to generation {}", name, patched.getMetadata().getGeneration());
  }

  private void delete(GpuPassthroughNode live, Map<String, GpuPassthroughNode> after) {
    String name = live.getMetadata().getName();
    client.resources(GpuPassthroughNode.class).withName(name).delete();
    after.remove(name);
    metrics.nodeStateWritten();
    LOG.info("GpuPassthroughNode {} deleted: no GpuPassthrough selects the node", name);
  }

  /** Runs the writes {@value #PARALLEL_WRITES} at a time; the first failure is rethrown after all ran. */
  private void runAll(List<Callable<Void>> writes) {
    if (writes.isEmpty()) {
      return;
    }
    RuntimeException first = null;
    try {
      for (Future<Void> f : pool.invokeAll(writes)) {
        try {
          f.get();
        } catch (ExecutionException ex) {
          RuntimeException cause = ex.getCause() instanceof RuntimeException r ? r : new IllegalStateException(ex.getCause());
          if (first == null) {
            first = cause;
          } else {
            first.addSuppressed(cause);
          }
        }
      }
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while writing GpuPassthroughNode objects", ex);
    }
    if (first != null) {
      throw first;
    }
  }

  /** Stops the write pool. */
  public void close() {
    pool.shutdownNow();
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
    return java.util.Objects.equals(a, b);
  }
}
