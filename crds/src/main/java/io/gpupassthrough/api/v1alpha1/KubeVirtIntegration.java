package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Default;

/** How a {@link GpuPassthrough} is wired into KubeVirt. */
public class KubeVirtIntegration {
  @Default("true")
  private Boolean permit = Boolean.TRUE;

  public KubeVirtIntegration() {}

  /**
   * Add this resource's devices to the KubeVirt CR's {@code permittedHostDevices.pciHostDevices}
   * (with {@code externalResourceProvider: true}); entries the operator did not add are never touched.
   */
  public Boolean getPermit() {
    return permit;
  }

  public void setPermit(Boolean permit) {
    this.permit = permit;
  }
}
