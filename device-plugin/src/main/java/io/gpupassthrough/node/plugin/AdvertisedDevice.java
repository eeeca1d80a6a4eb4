package io.gpupassthrough.node.plugin;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One GPU as the device plugin sees it. The device ID the kubelet uses is the PCI address.
 *
 * @param address PCI address, e.g. {@code 0000:01:00.0} (the kubelet device ID)
 * @param vendorId PCI vendor ID
 * @param deviceId PCI device ID
 * @param deviceName the device's name in pci.ids, e.g. {@code GA102GL [A10]}, when known
 * @param iommuGroup IOMMU group number ({@code /dev/vfio/<group>})
 * @param numaNode NUMA node, empty when the kernel reports -1 (no NUMA)
 * @param vfioCdev the iommufd character device name under {@code /dev/vfio/devices} (e.g. {@code
 *     vfio3}) when the kernel provides one
 * @param health whether it is verified on vfio-pci with its group node present right now
 * @param problem why it is unhealthy, empty when healthy
 */
public record AdvertisedDevice(
    String address,
    int vendorId,
    int deviceId,
    Optional<String> deviceName,
    int iommuGroup,
    OptionalInt numaNode,
    Optional<String> vfioCdev,
    DeviceHealth health,
    Optional<String> problem) {

  public AdvertisedDevice {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(deviceName, "deviceName");
    Objects.requireNonNull(numaNode, "numaNode");
    Objects.requireNonNull(vfioCdev, "vfioCdev");
    Objects.requireNonNull(health, "health");
    Objects.requireNonNull(problem, "problem");
    if (iommuGroup < 0) {
      throw new IllegalArgumentException(address + ": IOMMU group must be >= 0, got " + iommuGroup);
    }
  }

  public boolean healthy() {
    return health == DeviceHealth.HEALTHY;
  }

  /** The same device reported unhealthy for the given reason. */
  public AdvertisedDevice unhealthy(String why) {
    return new AdvertisedDevice(
        address, vendorId, deviceId, deviceName, iommuGroup, numaNode, vfioCdev, DeviceHealth.UNHEALTHY,
        Optional.of(why));
  }
}
