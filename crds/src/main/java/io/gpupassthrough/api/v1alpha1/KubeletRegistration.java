package io.gpupassthrough.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Where the device plugin that offers a device stands with the node's kubelet. Serving a socket is
 * not being registered: the kubelet only hands a device to pods after it accepted {@code Register}
 * from the plugin serving it, and a plugin can serve for ever with no kubelet dialling it (no
 * {@code kubelet.sock} in the device-plugin directory, or a directory that is not the kubelet's).
 */
public enum KubeletRegistration {
  /** No plugin server offers the device: it is not verified on vfio-pci, or its server cannot start. */
  @JsonProperty("NotServing")
  NOT_SERVING,
  /**
   * Served on the plugin's socket but not registered: no {@code kubelet.sock}, the kubelet does
   * not answer, or it has restarted and registration is being repeated.
   */
  @JsonProperty("Serving")
  SERVING,
  /** The kubelet answered {@code Register} with an error; the message has its answer. */
  @JsonProperty("Refused")
  REFUSED,
  /** The kubelet accepted {@code Register} from the plugin serving the device and has not restarted since. */
  @JsonProperty("Registered")
  REGISTERED
}
