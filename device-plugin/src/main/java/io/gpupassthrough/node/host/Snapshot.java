package io.gpupassthrough.node.host;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Everything one pass read from a host root, immutable. {@code devices} holds every display-class
 * PCI function and every member of their IOMMU groups, fully read; {@code pciClasses} holds the
 * class of every PCI function on the host (to explain why a selected device is not a GPU).
 */
public record Snapshot(
    List<PciDevice> devices,
    Map<PciAddress, Integer> pciClasses,
    Map<Integer, IommuGroup> iommuGroups,
    IomemTree iomem,
    List<PlatformFramebuffer> platformFramebuffers,
    List<VtConsole> vtConsoles,
    List<FramebufferDevice> framebuffers,
    List<DrmCard> drmCards,
    Set<String> pciDrivers,
    boolean vfioContainer,
    Set<Integer> vfioGroupNodes,
    Optional<String> kernelRelease) {

  public Snapshot {
    devices = List.copyOf(devices.stream().sorted((a, b) -> a.address().compareTo(b.address())).toList());
    pciClasses = java.util.Collections.unmodifiableMap(new TreeMap<>(pciClasses));
    iommuGroups = java.util.Collections.unmodifiableMap(new TreeMap<>(iommuGroups));
    platformFramebuffers = List.copyOf(platformFramebuffers);
    vtConsoles = List.copyOf(vtConsoles);
    framebuffers = List.copyOf(framebuffers);
    drmCards = List.copyOf(drmCards);
    pciDrivers = Set.copyOf(pciDrivers);
    vfioGroupNodes = Set.copyOf(vfioGroupNodes);
  }

  public Optional<PciDevice> device(PciAddress address) {
    for (PciDevice d : devices) {
      if (d.address().equals(address)) {
        return Optional.of(d);
      }
    }
    return Optional.empty();
  }

  /** Display-class functions (base class 0x03), in address order. */
  public List<PciDevice> gpus() {
    return devices.stream().filter(PciDevice::isDisplay).toList();
  }

  public Optional<IommuGroup> groupOf(PciDevice device) {
    return device.iommuGroup().isPresent()
        ? Optional.ofNullable(iommuGroups.get(device.iommuGroup().getAsInt()))
        : Optional.empty();
  }

  /** The other members of the device's IOMMU group (bridges included), in address order. */
  public List<PciDevice> groupPeers(PciDevice device) {
    return groupOf(device).stream()
        .flatMap(g -> g.members().stream())
        .filter(a -> !a.equals(device.address()))
        .map(this::device)
        .flatMap(Optional::stream)
        .toList();
  }

  /** vfio-pci's directory exists under /sys/bus/pci/drivers, i.e. the module is loaded. */
  public boolean vfioPciLoaded() {
    return pciDrivers.contains(SysfsPaths.VFIO_PCI);
  }
}
