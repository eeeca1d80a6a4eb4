package io.gpupassthrough.operator;

import io.fabric8.kubernetes.api.model.Node;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.operator.agent.AgentRollout;
import io.gpupassthrough.operator.kubevirt.KubeVirtPermissions;
import io.gpupassthrough.operator.kubevirt.KubeVirtView;
import io.gpupassthrough.operator.nodes.NodeStateWriter;
import io.gpupassthrough.operator.plan.ClusterPlan;
import io.gpupassthrough.operator.plan.ClusterPlanner;
import io.gpupassthrough.operator.plan.ClusterView;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Observe → decide → act for everything shared between resources: the agent DaemonSet,
 * the per-node objects and the KubeVirt entries. One pass at a time (reconcilers of different
 * resources run in parallel, but they all write the same shared objects).
 */
final class ClusterSync {
  /** The plan and the node states as they are after this pass's writes. */
  record Result(ClusterPlan plan, Map<String, GpuPassthroughNode> nodeStates, KubeVirtPermissions.Outcome kubevirt) {}

  private final AgentRollout agent;
  private final NodeStateWriter nodeStates;
  private final KubeVirtPermissions kubevirt;

  ClusterSync(AgentRollout agent, NodeStateWriter nodeStates, KubeVirtPermissions kubevirt) {
    this.agent = agent;
    this.nodeStates = nodeStates;
    this.kubevirt = kubevirt;
  }

  void close() {
    nodeStates.close();
  }

  /**
   * @param observe the cluster as the informers see it
   * @param observeKubeVirt KubeVirt as its watches see it (may start or stop a watch, hence under the lock)
   * @param finished resources whose deletion is complete and must no longer count
   */
  synchronized Result sync(Supplier<ClusterView> observe, Supplier<KubeVirtView> observeKubeVirt, Set<String> finished) {
    ClusterView view = observe.get();
    KubeVirtView kubeVirtView = observeKubeVirt.get();
    ClusterPlan plan = ClusterPlanner.plan(view, finished);
    agent.apply(plan.agentPlacement());
    Map<String, Node> nodes = view.nodes().stream()
        .collect(Collectors.toMap(n -> n.getMetadata().getName(), Function.identity()));
    Map<String, GpuPassthroughNode> after = nodeStates.apply(plan.nodeSpecs(), nodes);
    KubeVirtPermissions.Outcome kv = kubevirt.apply(plan.permitted(), kubeVirtView);
    return new Result(plan, after, kv);
  }
}
