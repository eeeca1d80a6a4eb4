package io.gpupassthrough.node.vfio;

import io.gpupassthrough.api.v1alpha1.Reason;
import java.util.Optional;

/**
 * One thing {@code restore} (or a rollback) put back, or could not: a PCI function, fb or VT.
 *
 * @param reason why it was not restored, when that has a code: {@code DeviceInUse} (held, left
 *     on vfio-pci), {@code WriteHung} (a write for it is blocked in the kernel)
 */
public record RestoreItem(String name, boolean restored, String message, Optional<Reason> reason) {
  public RestoreItem(String name, boolean restored, String message) {
    this(name, restored, message, Optional.empty());
  }

  /** Not restored because it is held or a write for it is blocked: trying again later may work. */
  public boolean waiting() {
    return reason.filter(r -> r == Reason.DEVICE_IN_USE || r == Reason.WRITE_HUNG).isPresent();
  }
}
