package io.gpupassthrough.operator.agent;

import io.fabric8.kubernetes.api.model.EnvFromSourceBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.util.ArrayList;
import java.util.Optional;

/**
 * Pure: the two settings of the agent DaemonSet a cluster without GPUs or with unusual client needs may ask for
 * (OperatorConfig: GPUPT_AGENT_SIMULATED_HOST, GPUPT_AGENT_ENV_FROM; both unset in deploy/base).
 *
 * @param simulatedHost a node directory holding a simulated host root ({@link SimulatedHostAgent})
 * @param envFrom a ConfigMap in the operator's namespace whose keys become the agent container's environment
 *     ({@code envFrom}), e.g. the test control plane's CA for the API client (deploy/overlays/simulated-host)
 */
public record AgentPodOptions(Optional<String> simulatedHost, Optional<String> envFrom) {
  public static final AgentPodOptions NONE = new AgentPodOptions(Optional.empty(), Optional.empty());

  /** Rewrites {@code ds} in place and returns it. */
  public DaemonSet applyTo(DaemonSet ds) {
    simulatedHost.ifPresent(dir -> SimulatedHostAgent.onSimulatedHost(ds, dir));
    envFrom.ifPresent(name -> {
      var agent = ds.getSpec().getTemplate().getSpec().getContainers().get(0);
      var sources = new ArrayList<>(agent.getEnvFrom());
      sources.add(new EnvFromSourceBuilder().withNewConfigMapRef().withName(name).withOptional(false)
          .endConfigMapRef().build());
      agent.setEnvFrom(sources);
    });
    return ds;
  }
}
