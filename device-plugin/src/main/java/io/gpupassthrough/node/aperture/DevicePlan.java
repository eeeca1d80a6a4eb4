package io.gpupassthrough.node.aperture;

import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import java.util.List;
import java.util.Optional;

/**
 * The engine's decision for one selected device: its conflicts, the IOMMU group members taken
 * along ({@code companions}, bridges excluded), the ordered steps and, when refused, why.
 */
public record DevicePlan(
    PciAddress address,
    Optional<PciDevice> device,
    Disposition disposition,
    List<Conflict> conflicts,
    List<PciDevice> companions,
    List<Step> steps,
    Optional<Refusal> refusal) {

  public DevicePlan {
    conflicts = List.copyOf(conflicts);
    companions = List.copyOf(companions);
    steps = List.copyOf(steps);
  }

  /** The GPU and its companions: every PCI function that ends up on vfio-pci. */
  public List<PciDevice> targets() {
    return device.map(d -> {
      List<PciDevice> all = new java.util.ArrayList<>();
      all.add(d);
      all.addAll(companions);
      return List.copyOf(all);
    }).orElse(List.of());
  }
}
