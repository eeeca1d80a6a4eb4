package io.gpupassthrough.node.vfio;

import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.host.PciAddress;
import java.util.Optional;

/** Result of a live {@link Verifier#check} of one device: healthy, or why not. */
public record Health(PciAddress address, boolean healthy, Optional<Reason> reason, String message) {
  public static Health ok(PciAddress address, int group) {
    return new Health(address, true, Optional.empty(), "bound to vfio-pci, /dev/vfio/" + group + " present");
  }

  public static Health bad(PciAddress address, Reason reason, String message) {
    return new Health(address, false, Optional.of(reason), message);
  }
}
