package io.gpupassthrough.node.agent;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.plugin.ResourceName;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What one pass found and did for one claimed device, before live health is added: the device as
 * the host shows it after the pass, who claimed it, under which name it is (or would be)
 * advertised, the console conflicts and what happened to each, and whether it ended up verified
 * on vfio-pci; when not, why.
 *
 * @param device empty when the address is not on this host
 * @param originalDriver the driver a restore would give it back to, when known
 */
public record DeviceReport(
    PciAddress address,
    Optional<PciDevice> device,
    List<PciAddress> groupMembers,
    Optional<String> originalDriver,
    String owner,
    Optional<ResourceName> resourceName,
    List<ConflictReport> conflicts,
    boolean verified,
    Optional<Reason> reason,
    String message) {

  public DeviceReport {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(owner, "owner");
    groupMembers = List.copyOf(groupMembers);
    conflicts = List.copyOf(conflicts);
    if (verified == reason.isPresent()) {
      throw new IllegalArgumentException(
          address + ": a verified device has no reason, an unverified one must have one");
    }
  }

  /** One conflict on the device's BARs and what the agent did about it. */
  public record ConflictReport(Conflict conflict, ConsoleConflictStatus.Action action) {}
}
