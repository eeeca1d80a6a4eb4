package io.gpupassthrough.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The health the agent reports to the kubelet for a device. */
public enum DeviceHealth {
  /** On vfio-pci and its {@code /dev/vfio/<group>} node exists. */
  @JsonProperty("Healthy")
  HEALTHY,
  /** Was verified, but the driver link or the group node went away. */
  @JsonProperty("Unhealthy")
  UNHEALTHY,
  /** Not (yet) prepared, so not advertised. */
  @JsonProperty("Unknown")
  UNKNOWN
}
