package io.gpupassthrough.node.plugin;

/** Health of an advertised device as the kubelet spells it (deviceplugin/v1beta1 constants.go). */
public enum DeviceHealth {
  HEALTHY("Healthy"),
  UNHEALTHY("Unhealthy");

  private final String kubeletValue;

  DeviceHealth(String kubeletValue) {
    this.kubeletValue = kubeletValue;
  }

  public String kubeletValue() {
    return kubeletValue;
  }
}
