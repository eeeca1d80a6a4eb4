package io.gpupassthrough.operator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.PodSpec;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class AgentManifestsTest {
  @Test
  void daemonSetRunsTheAgentPrivilegedWithTheHostMountsItReads() {
    PodSpec pod = AgentManifests.daemonSet("gpu-passthrough", "img:1", List.of()).getSpec().getTemplate().getSpec();
    Container c = pod.getContainers().get(0);
    assertThat(c.getImage()).isEqualTo("img:1");
    assertThat(c.getSecurityContext().getPrivileged()).isTrue();
    assertThat(c.getArgs()).containsExactly("serve", "--host-root", "/host", "--device-plugin-dir",
        "/var/lib/kubelet/device-plugins", "--node-name", "$(NODE_NAME)");
    assertThat(c.getEnv()).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("NODE_NAME");
      assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
    });
    Map<String, String> mounts = c.getVolumeMounts().stream()
        .collect(Collectors.toMap(m -> m.getName(), m -> m.getMountPath()));
    Map<String, String> hostPaths = pod.getVolumes().stream()
        .collect(Collectors.toMap(v -> v.getName(), v -> v.getHostPath().getPath()));
    // The kubelet's PodResources socket where the agent looks: under the host root (holders).
    assertThat(mounts).containsExactlyInAnyOrderEntriesOf(Map.of("host-sys", "/host/sys", "host-dev", "/host/dev",
        "host-proc", "/host/proc", "device-plugins", "/var/lib/kubelet/device-plugins",
        "pod-resources", "/host/var/lib/kubelet/pod-resources"));
    assertThat(hostPaths).containsExactlyInAnyOrderEntriesOf(Map.of("host-sys", "/sys", "host-dev", "/dev",
        "host-proc", "/proc", "device-plugins", "/var/lib/kubelet/device-plugins",
        "pod-resources", "/var/lib/kubelet/pod-resources"));
    assertThat(pod.getAffinity()).as("no terms: every node").isNull();
    assertThat(pod.getServiceAccountName()).isEqualTo(AgentManifests.NAME);
  }

  @Test
  void oneAffinityTermPerResourceIsAUnion() {
    NodeSelectorTerm a = new NodeSelectorTerm();
    NodeSelectorTerm b = new NodeSelectorTerm();
    var terms = AgentManifests.daemonSet("ns", "img", List.of(a, b)).getSpec().getTemplate().getSpec().getAffinity()
        .getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms();
    assertThat(terms).hasSize(2);
  }

}
