package io.gpupassthrough.operator.agent;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Pure: the agent DaemonSet in test mode ({@code GPUPT_AGENT_SIMULATED_HOST}, set by the overlay
 * {@code deploy/overlays/simulated-host}): instead of the node's own {@code /sys}, {@code /dev} and {@code /proc},
 * a node directory holding a simulated host root (a fixture of device-plugin/src/test/hosts) is mounted at
 * {@link AgentManifests#HOST_ROOT}, and {@code serve} runs with {@code --simulated-kernel}, so its sysfs writes
 * behave as the kernel's would. It is how the images run the whole story on a machine without GPUs; a cluster
 * with real GPUs never sets it.
 */
public final class SimulatedHostAgent {
  public static final String VOLUME = "simulated-host";
  public static final String FLAG = "--simulated-kernel";

  private SimulatedHostAgent() {}

  /** Rewrites {@code ds} in place (every mount under the host root becomes the one simulated host) and returns it. */
  public static DaemonSet onSimulatedHost(DaemonSet ds, String hostDir) {
    PodSpec pod = ds.getSpec().getTemplate().getSpec();
    Container agent = pod.getContainers().get(0);
    Set<String> hostVolumes = agent.getVolumeMounts().stream()
        .filter(m -> m.getMountPath().startsWith(AgentManifests.HOST_ROOT + "/"))
        .map(VolumeMount::getName).collect(Collectors.toSet());
    List<VolumeMount> mounts = new ArrayList<>(agent.getVolumeMounts());
    mounts.removeIf(m -> hostVolumes.contains(m.getName()));
    mounts.add(new VolumeMountBuilder().withName(VOLUME).withMountPath(AgentManifests.HOST_ROOT).build());
    agent.setVolumeMounts(mounts);
    List<Volume> volumes = new ArrayList<>(pod.getVolumes());
    volumes.removeIf(v -> hostVolumes.contains(v.getName()));
    volumes.add(new VolumeBuilder().withName(VOLUME)
        .withNewHostPath().withPath(hostDir).withType("Directory").endHostPath().build());
    pod.setVolumes(volumes);
    List<String> args = new ArrayList<>(agent.getArgs());
    args.add(FLAG);
    agent.setArgs(args);
    return ds;
  }
}
