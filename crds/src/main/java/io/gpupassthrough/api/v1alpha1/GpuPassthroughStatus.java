package io.gpupassthrough.api.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The operator's summary over every matched node. Conditions: {@code Ready}, {@code Progressing}
 * (some node has not yet observed its current spec), {@code Degraded} (devices blocked, or an
 * invalid spec), {@code Conflict} (another, older resource claims the same devices on some node),
 * {@code KubeVirtPermitted} (the devices are in KubeVirt's {@code permittedHostDevices}; when False,
 * the reason says why: KubeVirt not installed, no KubeVirt CR in the operator's namespace for it, or
 * {@code spec.kubevirt.permit: false}).
 */
public class GpuPassthroughStatus {
  private Long observedGeneration;
  private List<Condition> conditions = new ArrayList<>();
  private Integer nodesMatched = 0;
  private Integer nodesReady = 0;
  private Integer devicesAdvertised = 0;
  private Integer devicesBlocked = 0;

  public GpuPassthroughStatus() {}

  /** The {@code metadata.generation} this status was computed from. */
  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  /** Nodes whose labels match {@code spec.nodeSelector}. */
  public Integer getNodesMatched() {
    return nodesMatched;
  }

  public void setNodesMatched(Integer nodesMatched) {
    this.nodesMatched = nodesMatched;
  }

  /** Matched nodes that observed the current spec and advertise every device they found. */
  public Integer getNodesReady() {
    return nodesReady;
  }

  public void setNodesReady(Integer nodesReady) {
    this.nodesReady = nodesReady;
  }

  /** Devices advertised to the kubelet across all nodes. */
  public Integer getDevicesAdvertised() {
    return devicesAdvertised;
  }

  public void setDevicesAdvertised(Integer devicesAdvertised) {
    this.devicesAdvertised = devicesAdvertised;
  }

  /** Selected devices a node could not advertise (see the node's per-device reason). */
  public Integer getDevicesBlocked() {
    return devicesBlocked;
  }

  public void setDevicesBlocked(Integer devicesBlocked) {
    this.devicesBlocked = devicesBlocked;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GpuPassthroughStatus s
        && Objects.equals(observedGeneration, s.observedGeneration)
        && Objects.equals(conditions, s.conditions)
        && Objects.equals(nodesMatched, s.nodesMatched)
        && Objects.equals(nodesReady, s.nodesReady)
        && Objects.equals(devicesAdvertised, s.devicesAdvertised)
        && Objects.equals(devicesBlocked, s.devicesBlocked);
  }

  @Override
  public int hashCode() {
    return Objects.hash(observedGeneration, conditions, nodesMatched, nodesReady, devicesAdvertised, devicesBlocked);
  }
}
