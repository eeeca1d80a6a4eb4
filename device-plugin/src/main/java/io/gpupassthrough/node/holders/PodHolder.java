package io.gpupassthrough.node.holders;

import java.util.Objects;

/** A container the kubelet allocated a device to (PodResources {@code List}). */
public record PodHolder(String namespace, String pod, String container, String resourceName) {
  public PodHolder {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(pod, "pod");
    Objects.requireNonNull(container, "container");
    Objects.requireNonNull(resourceName, "resourceName");
  }

  /** {@code pod default/virt-launcher-vm1-x (container compute)}. */
  public String describe() {
    return "pod " + namespace + "/" + pod + " (container " + container + ")";
  }
}
