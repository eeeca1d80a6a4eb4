package io.gpupassthrough.operator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
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
        "state", "/host/var/lib/gpupassthrough", "pod-resources", "/host/var/lib/kubelet/pod-resources"));
    assertThat(hostPaths).containsExactlyInAnyOrderEntriesOf(Map.of("host-sys", "/sys", "host-dev", "/dev",
        "host-proc", "/proc", "device-plugins", "/var/lib/kubelet/device-plugins", "state", "/var/lib/gpupassthrough",
        "pod-resources", "/var/lib/kubelet/pod-resources"));
    assertThat(pod.getAffinity()).as("no terms: every node").isNull();
    assertThat(pod.getServiceAccountName()).isEqualTo(AgentManifests.NAME);
  }

  /**
   * The record of original drivers ({@code <host-root>/var/lib/gpupassthrough/original-drivers.json})
   * must outlive the pod: the host's directory, created on first use, mounted where the agent
   * writes under its host root.
   */
  @Test
  void originalDriverRecordLivesOnTheHostNotInThePod() {
    PodSpec pod = AgentManifests.daemonSet("gpu-passthrough", "img:1", List.of()).getSpec().getTemplate().getSpec();

    assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals("state")).singleElement().satisfies(v -> {
      assertThat(v.getHostPath().getPath()).isEqualTo("/var/lib/gpupassthrough");
      assertThat(v.getHostPath().getType()).isEqualTo("DirectoryOrCreate");
    });
    assertThat(pod.getContainers().get(0).getVolumeMounts()).filteredOn(m -> m.getName().equals("state"))
        .singleElement().satisfies(m -> {
          assertThat(m.getMountPath()).isEqualTo(AgentManifests.HOST_ROOT + "/var/lib/gpupassthrough");
          assertThat(m.getReadOnly()).isNotEqualTo(Boolean.TRUE);
        });
  }

  /**
   * Issue 9, fix 8: the agent serves the devices VMs hold, so it is node-critical, and its limit
   * leaves a quarter free above the peak RSS measured against the real API server and kubelet
   * (110.6 MiB from device-plugin/bench/footprint.sh, README "Footprint and scale"; 117 MiB for the
   * jar-run agent of the cluster e2e); a 128Mi limit OOM-killed an agent that idled at 117-119 MiB.
   */
  @Test
  void agentIsNodeCriticalAndItsMemoryLimitLeavesAQuarterFreeAboveTheMeasuredPeak() {
    PodSpec pod = AgentManifests.daemonSet("gpu-passthrough", "img:1", List.of()).getSpec().getTemplate().getSpec();
    var resources = pod.getContainers().get(0).getResources();
    double measuredPeakMiB = 117.1; // the higher of the two

    assertThat(pod.getPriorityClassName()).isEqualTo("system-node-critical");
    double limitMiB = Quantity.getAmountInBytes(resources.getLimits().get("memory")).doubleValue() / (1 << 20);
    double requestMiB = Quantity.getAmountInBytes(resources.getRequests().get("memory")).doubleValue() / (1 << 20);
    assertThat(measuredPeakMiB).isLessThanOrEqualTo(0.75 * limitMiB);
    assertThat(requestMiB).isGreaterThanOrEqualTo(measuredPeakMiB).isLessThanOrEqualTo(limitMiB);
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
