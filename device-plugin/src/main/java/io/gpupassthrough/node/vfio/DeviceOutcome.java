package io.gpupassthrough.node.vfio;

import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.DevicePlan;
import io.gpupassthrough.node.host.PciAddress;
import java.util.List;
import java.util.Optional;

/** What a prepare run did for one selected device, with the plan it followed. */
public record DeviceOutcome(
    PciAddress address,
    Result result,
    Optional<Reason> reason,
    String message,
    DevicePlan plan,
    List<StepRecord> steps) {

  public DeviceOutcome {
    steps = List.copyOf(steps);
  }

  /** Final state of a device after a run. */
  public enum Result {
    /** Bound to vfio-pci in this run and verified. */
    PREPARED,
    /** Was already verified on vfio-pci; nothing was written. */
    ALREADY_PREPARED,
    /** {@code --dry-run}: the steps that would run. */
    PLANNED,
    /** The engine refused it; nothing was written. */
    REFUSED,
    /** A step or the verification failed; the host was rolled back (see message). */
    FAILED
  }

  /** True when the device ended up verified on vfio-pci. */
  public boolean verified() {
    return result == Result.PREPARED || result == Result.ALREADY_PREPARED;
  }

  public List<Conflict> conflicts() {
    return plan.conflicts();
  }
}
