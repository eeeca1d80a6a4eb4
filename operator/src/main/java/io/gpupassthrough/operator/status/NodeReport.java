package io.gpupassthrough.operator.status;

import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import java.util.List;

/**
 * One matched node, as seen for one {@code GpuPassthrough}.
 *
 * @param applied the resource's claim is in the node's spec (false where an older resource won)
 * @param current the agent reported on the node's current spec generation
 * @param devices the devices the agent reported for this resource
 */
public record NodeReport(String node, boolean applied, boolean current, List<DeviceStatus> devices) {
  public NodeReport {
    devices = List.copyOf(devices);
  }

  long advertised() {
    return devices.stream().filter(d -> Boolean.TRUE.equals(d.getAdvertised())).count();
  }

  List<DeviceStatus> blocked() {
    return devices.stream().filter(d -> !Boolean.TRUE.equals(d.getAdvertised())).toList();
  }

  boolean ready() {
    return applied && current && blocked().isEmpty();
  }
}
