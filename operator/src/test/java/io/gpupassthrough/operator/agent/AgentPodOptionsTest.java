package io.gpupassthrough.operator.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.gpupassthrough.operator.OperatorConfig;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class AgentPodOptionsTest {
  private static final String SIM = "/var/lib/gpupt-e2e/host";

  @Test
  void theSimulatedHostReplacesEveryHostMountAndTheKernelIsSimulated() {
    PodSpec pod = SimulatedHostAgent.onSimulatedHost(AgentManifests.daemonSet("ns", "img", List.of()), SIM)
        .getSpec().getTemplate().getSpec();
    Container c = pod.getContainers().get(0);
    Map<String, String> mounts = c.getVolumeMounts().stream()
        .collect(Collectors.toMap(m -> m.getName(), m -> m.getMountPath()));
    Map<String, String> hostPaths = pod.getVolumes().stream()
        .collect(Collectors.toMap(Volume::getName, v -> v.getHostPath().getPath()));
    assertThat(mounts).containsEntry(SimulatedHostAgent.VOLUME, AgentManifests.HOST_ROOT)
        .containsEntry("device-plugins", AgentManifests.DEVICE_PLUGIN_DIR)
        .as("nothing of the node's own host is mounted under the host root any more")
        .allSatisfy((name, path) -> assertThat(path.startsWith(AgentManifests.HOST_ROOT + "/")).isFalse());
    assertThat(hostPaths).containsEntry(SimulatedHostAgent.VOLUME, SIM)
        .doesNotContainValue("/sys").doesNotContainValue("/dev").doesNotContainValue("/proc");
    assertThat(hostPaths.keySet()).isEqualTo(mounts.keySet());
    assertThat(c.getArgs()).startsWith("serve", "--host-root", AgentManifests.HOST_ROOT).endsWith(SimulatedHostAgent.FLAG);
  }

  @Test
  void envFromAddsTheConfigMapToTheAgentContainerOnly() {
    var options = new AgentPodOptions(Optional.empty(), Optional.of("gpupt-e2e-env"));
    Container c = options.applyTo(AgentManifests.daemonSet("ns", "img", List.of()))
        .getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(c.getEnvFrom()).singleElement().satisfies(e -> {
      assertThat(e.getConfigMapRef().getName()).isEqualTo("gpupt-e2e-env");
      assertThat(e.getConfigMapRef().getOptional()).as("a missing ConfigMap keeps the pod from starting").isFalse();
    });
    assertThat(AgentPodOptions.NONE.applyTo(AgentManifests.daemonSet("ns", "img", List.of())))
        .as("deploy/base sets neither option").isEqualTo(AgentManifests.daemonSet("ns", "img", List.of()));
  }

  @Test
  void productionConfigurationHasNoSimulatedHost() {
    assertThat(OperatorConfig.defaults().agentPodOptions()).isEqualTo(AgentPodOptions.NONE);
    assertThat(OperatorConfig.fromEnv(Map.of("GPUPT_AGENT_SIMULATED_HOST", SIM)).agentSimulatedHost())
        .isEqualTo(Optional.of(SIM));
    assertThatThrownBy(() -> OperatorConfig.fromEnv(Map.of("GPUPT_AGENT_SIMULATED_HOST", "host")))
        .hasMessageContaining("GPUPT_AGENT_SIMULATED_HOST='host' is not an absolute path");
  }
}
