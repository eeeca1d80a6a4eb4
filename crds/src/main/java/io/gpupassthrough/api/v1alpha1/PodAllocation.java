package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Size;

/**
 * A container the kubelet allocated a device to, as its PodResources API reports it: the device
 * ID (our PCI address) under a resource name, in one container of one pod.
 */
public class PodAllocation {
  @Size(max = ApiPatterns.MAX_NAME_LENGTH)
  private String namespace;

  @Size(max = ApiPatterns.MAX_NAME_LENGTH)
  private String pod;

  @Size(max = ApiPatterns.MAX_NAME_LENGTH)
  private String container;

  @Size(max = ResourceNameRule.MAX_LENGTH)
  private String resourceName;

  public PodAllocation() {}

  public String getNamespace() {
    return namespace;
  }

  public void setNamespace(String namespace) {
    this.namespace = namespace;
  }

  public String getPod() {
    return pod;
  }

  public void setPod(String pod) {
    this.pod = pod;
  }

  public String getContainer() {
    return container;
  }

  public void setContainer(String container) {
    this.container = container;
  }

  /** The resource the device was allocated under (ours, or another plugin's using the same ID). */
  public String getResourceName() {
    return resourceName;
  }

  public void setResourceName(String resourceName) {
    this.resourceName = resourceName;
  }
}
