package io.gpupassthrough.node.aperture;

import java.util.List;

/** The engine's output for one pass: one {@link DevicePlan} per selected device, in address order. */
public record Plan(List<DevicePlan> devices) {
  public Plan {
    devices = List.copyOf(devices);
  }
}
