package io.gpupassthrough.api.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * Written only by the node agent (through the {@code status} subresource; debounced, and only on
 * change). It reports every device matched by any claim, advertised or not, and the outcome of
 * each restore request.
 */
public class GpuPassthroughNodeStatus {
  private Long observedGeneration;
  private List<Condition> conditions = new ArrayList<>();
  private List<DeviceStatus> devices = new ArrayList<>();
  private List<RestoreResult> restores = new ArrayList<>();
  private String lastSync;
  private Integer devicesReady = 0;
  private Integer devicesTotal = 0;
  private KubeletRegistration kubelet = KubeletRegistration.NOT_SERVING;
  private String message;

  public GpuPassthroughNodeStatus() {}

  /** The {@code metadata.generation} of the spec the agent last acted on. */
  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  /** {@code Ready} (every matched device advertised) and {@code Degraded} (some device blocked). */
  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public List<DeviceStatus> getDevices() {
    return devices;
  }

  public void setDevices(List<DeviceStatus> devices) {
    this.devices = devices;
  }

  public List<RestoreResult> getRestores() {
    return restores;
  }

  public void setRestores(List<RestoreResult> restores) {
    this.restores = restores;
  }

  /** RFC 3339 time of the last pass whose result was written. */
  public String getLastSync() {
    return lastSync;
  }

  public void setLastSync(String lastSync) {
    this.lastSync = lastSync;
  }

  /**
   * The node's kubelet in one word, for {@code kubectl get gptnode}: {@code NotServing} when no
   * device is served, otherwise the worst of the served devices' {@link DeviceStatus#getKubelet()}
   * ({@code Refused}, then {@code Serving}, then {@code Registered}).
   */
  public KubeletRegistration getKubelet() {
    return kubelet;
  }

  public void setKubelet(KubeletRegistration kubelet) {
    this.kubelet = kubelet;
  }

  /** Devices advertised: verified, healthy and registered with the kubelet. */
  public Integer getDevicesReady() {
    return devicesReady;
  }

  public void setDevicesReady(Integer devicesReady) {
    this.devicesReady = devicesReady;
  }

  /** Devices matched by a claim. */
  public Integer getDevicesTotal() {
    return devicesTotal;
  }

  public void setDevicesTotal(Integer devicesTotal) {
    this.devicesTotal = devicesTotal;
  }

  /** One line for {@code kubectl get gptnode}: all good, or the first problem. */
  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }
}
