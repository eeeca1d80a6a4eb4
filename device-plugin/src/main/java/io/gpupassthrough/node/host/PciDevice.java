package io.gpupassthrough.node.host;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One PCI function as sysfs shows it. IDs are the numeric values of the {@code vendor},
 * {@code device}, {@code subsystem_vendor}, {@code subsystem_device} and {@code class} attributes;
 * {@code numaNode} is -1 when the kernel does not know; names come from pci.ids when present.
 */
public record PciDevice(
    PciAddress address,
    int vendor,
    int device,
    int subsystemVendor,
    int subsystemDevice,
    int pciClass,
    List<Bar> bars,
    boolean bootVga,
    int numaNode,
    Optional<String> driver,
    OptionalInt iommuGroup,
    Optional<String> driverOverride,
    Optional<String> vendorName,
    Optional<String> deviceName) {

  public PciDevice {
    bars = List.copyOf(bars);
  }

  /** Base class 0x03: VGA (0x0300), XGA (0x0301), 3D (0x0302), other display (0x0380). */
  public boolean isDisplay() {
    return (pciClass >> 16) == 0x03;
  }

  /** Base class 0x06: host/PCI/PCIe bridges; vfio leaves them on their driver (pcieport). */
  public boolean isBridge() {
    return (pciClass >> 16) == 0x06;
  }

  /** Class 0x0300: the only class Linux ≥ 6.0 vfio-pci evicts console framebuffers for itself. */
  public boolean isVgaCompatible() {
    return (pciClass >> 8) == 0x0300;
  }

  public boolean isBoundTo(String driverName) {
    return driver.map(driverName::equals).orElse(false);
  }

  public List<Bar> apertures() {
    return bars.stream().filter(Bar::isMemoryAperture).toList();
  }

  /** Hex without 0x, four digits, as in the scan JSON: {@code 10de}. */
  public String vendorHex() {
    return String.format("%04x", vendor);
  }

  public String deviceHex() {
    return String.format("%04x", device);
  }

  /** Six hex digits: {@code 030000}. */
  public String classHex() {
    return String.format("%06x", pciClass);
  }
}
