package io.gpupassthrough.operator.agent;

import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.List;
import java.util.Map;

/**
 * Pure: the node agent's DaemonSet. It runs as the ServiceAccount {@link #NAME}, whose
 * least-privilege RBAC ships in {@code deploy/base/agent/rbac.yaml}.
 */
public final class AgentManifests {
  public static final String NAME = "gpupt-node-agent";
  public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  public static final String MANAGER = "gpupt-operator";
  public static final String DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins";
  public static final String HOST_ROOT = "/host";
  /**
   * The agent's state on the host (the record of original drivers, {@code SysfsPaths.stateDirectory()}
   * under the host root): a hostPath, so a replaced pod (rollout, eviction, crash) still knows what
   * to give back on restore. In the container's writable layer it would go with the pod.
   */
  public static final String STATE_DIR = "/var/lib/gpupassthrough";
  public static final String PRIORITY_CLASS = "system-node-critical";
  /*
   * Memory from the measured peak RSS of the in-cluster agent (README, "Footprint and scale"):
   * 110.6 MiB (VmHWM) with the image's jvm.options and AppCDS archive, against the real
   * kube-apiserver v1.28.7 as gpupt-node-agent, 8 GPUs adopted on vfio-pci, the real kubelet
   * registering the plugins, over 10,000 Allocate calls, 100 claim changes and a 10-minute soak
   * (idle 99.5 MiB, flat at 107.7-109.2 MiB in the soak), from device-plugin/bench/footprint.sh.
   * The request covers that peak (and the 117 MiB the jar-run agent of the cluster e2e shows),
   * so the scheduler reserves what the agent uses. The limit leaves DESIGN §11's quarter free at
   * the peak (110.6 / 192 = 58 %) and still 18 % if the heap grew to its -Xmx64m cap (~158 MiB;
   * the heap is 12 MiB live and ~17 MiB committed in the soak).
   */
  static final String MEMORY_REQUEST = "128Mi";
  static final String MEMORY_LIMIT = "192Mi";
  /** The kubelet's PodResources socket directory; the agent asks it which pod holds each device. */
  public static final String POD_RESOURCES_DIR = "/var/lib/kubelet/pod-resources";
  static final Map<String, String> SELECTOR = Map.of("app.kubernetes.io/name", NAME);

  private AgentManifests() {}

  static Map<String, String> labels() {
    return Map.of("app.kubernetes.io/name", NAME, "app.kubernetes.io/part-of", "gpu-passthrough", MANAGED_BY, MANAGER);
  }

  /**
   * @param terms one node-affinity term per resource (ORed); empty runs the agent on every node
   */
  public static DaemonSet daemonSet(String namespace, String image, List<NodeSelectorTerm> terms) {
    DaemonSetBuilder b = new DaemonSetBuilder()
        .withNewMetadata().withName(NAME).withNamespace(namespace).withLabels(labels()).endMetadata()
        .withNewSpec()
          .withNewSelector().withMatchLabels(SELECTOR).endSelector()
          // One node at a time; the agent adopts devices already verified on vfio-pci, so a
          // restarted agent never unbinds a GPU a running VM holds.
          .withNewUpdateStrategy().withType("RollingUpdate")
            .withNewRollingUpdate().withNewMaxUnavailable(1).endRollingUpdate().endUpdateStrategy()
          .withNewTemplate()
            .withNewMetadata().withLabels(labels()).endMetadata()
            .withNewSpec()
              .withServiceAccountName(NAME)
              // The agent serves the device plugin for GPUs VMs hold; evicting or preempting it
              // under node pressure would withdraw them. deploy/base/agent/priority-quota.yaml
              // admits the class in this namespace where the cluster limits it to quota holders.
              .withPriorityClassName(PRIORITY_CLASS)
              .addNewToleration().withOperator("Exists").endToleration()
              .addNewContainer()
                .withName("agent").withImage(image)
                .withArgs("serve", "--host-root", HOST_ROOT, "--device-plugin-dir", DEVICE_PLUGIN_DIR,
                    "--node-name", "$(NODE_NAME)")
                .addNewEnv().withName("NODE_NAME").withNewValueFrom().withNewFieldRef()
                    .withFieldPath("spec.nodeName").endFieldRef().endValueFrom().endEnv()
                .addNewEnv().withName("POD_NAMESPACE").withNewValueFrom().withNewFieldRef()
                    .withFieldPath("metadata.namespace").endFieldRef().endValueFrom().endEnv()
                // Writes to sysfs (unbind, driver_override, vtconsole bind) need a privileged container.
                .withNewSecurityContext().withPrivileged(true).endSecurityContext()
                .withNewResources()
                  .addToRequests("cpu", new Quantity("10m")).addToRequests("memory", new Quantity(MEMORY_REQUEST))
                  .addToLimits("memory", new Quantity(MEMORY_LIMIT))
                .endResources()
                .addNewVolumeMount().withName("host-sys").withMountPath(HOST_ROOT + "/sys").endVolumeMount()
                .addNewVolumeMount().withName("host-dev").withMountPath(HOST_ROOT + "/dev").endVolumeMount()
                .addNewVolumeMount().withName("host-proc").withMountPath(HOST_ROOT + "/proc").withReadOnly(true)
                    .endVolumeMount()
                .addNewVolumeMount().withName("device-plugins").withMountPath(DEVICE_PLUGIN_DIR).endVolumeMount()
                .addNewVolumeMount().withName("state").withMountPath(HOST_ROOT + STATE_DIR).endVolumeMount()
                // Where the agent looks for it: <host-root>/var/lib/kubelet/pod-resources/kubelet.sock.
                .addNewVolumeMount().withName("pod-resources").withMountPath(HOST_ROOT + POD_RESOURCES_DIR)
                    .withReadOnly(true).endVolumeMount()
              .endContainer()
              .addNewVolume().withName("host-sys").withNewHostPath().withPath("/sys").withType("Directory")
                  .endHostPath().endVolume()
              .addNewVolume().withName("host-dev").withNewHostPath().withPath("/dev").withType("Directory")
                  .endHostPath().endVolume()
              .addNewVolume().withName("host-proc").withNewHostPath().withPath("/proc").withType("Directory")
                  .endHostPath().endVolume()
              .addNewVolume().withName("device-plugins").withNewHostPath().withPath(DEVICE_PLUGIN_DIR)
                  .withType("DirectoryOrCreate").endHostPath().endVolume()
              .addNewVolume().withName("state").withNewHostPath().withPath(STATE_DIR)
                  .withType("DirectoryOrCreate").endHostPath().endVolume()
              .addNewVolume().withName("pod-resources").withNewHostPath().withPath(POD_RESOURCES_DIR)
                  .withType("DirectoryOrCreate").endHostPath().endVolume()
            .endSpec()
          .endTemplate()
        .endSpec();
    DaemonSet ds = b.build();
    if (!terms.isEmpty()) {
      ds.getSpec().getTemplate().getSpec().setAffinity(new io.fabric8.kubernetes.api.model.AffinityBuilder()
          .withNewNodeAffinity().withNewRequiredDuringSchedulingIgnoredDuringExecution()
          .withNodeSelectorTerms(terms).endRequiredDuringSchedulingIgnoredDuringExecution().endNodeAffinity()
          .build());
    }
    return ds;
  }
}
