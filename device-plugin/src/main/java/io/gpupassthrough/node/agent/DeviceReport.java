package io.gpupassthrough.node.agent;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.holders.DeviceHolders;
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
 * @param holders who has it (pods the kubelet allocated it to, processes with its files open),
 *     as last checked
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
    String message,
    DeviceHolders holders) {

  /** Without holders (nobody, or not checked). */
  public DeviceReport(PciAddress address, Optional<PciDevice> device, List<PciAddress> groupMembers,
      Optional<String> originalDriver, String owner, Optional<ResourceName> resourceName,
      List<ConflictReport> conflicts, boolean verified, Optional<Reason> reason, String message) {
    this(address, device, groupMembers, originalDriver, owner, resourceName, conflicts, verified,
        reason, message, DeviceHolders.none(address));
  }

  public DeviceReport {
    Objects.requireNonNull(holders, "holders");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(owner, "owner");
    groupMembers = List.copyOf(groupMembers);
    conflicts = List.copyOf(conflicts);
    if (verified == reason.isPresent()) {
      throw new IllegalArgumentException(
          address + ": a verified device has no reason, an unverified one must have one");
    }
  }

  /** The same report with these holders. */
  public DeviceReport withHolders(DeviceHolders now) {
    return new DeviceReport(address, device, groupMembers, originalDriver, owner, resourceName,
        conflicts, verified, reason, message, now);
  }

  /** Not advertised because it is held or a write for it is blocked: retried by the agent. */
  public boolean waiting() {
    return reason.filter(r -> r == Reason.DEVICE_IN_USE || r == Reason.WRITE_HUNG).isPresent();
  }

  /** One conflict on the device's BARs and what the agent did about it. */
  public record ConflictReport(Conflict conflict, ConsoleConflictStatus.Action action) {}
}
