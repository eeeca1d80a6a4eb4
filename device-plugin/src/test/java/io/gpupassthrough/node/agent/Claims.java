package io.gpupassthrough.node.agent;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/** Test fixtures that read like the spec and the host they stand for. */
final class Claims {
  private Claims() {}

  static DeviceClaim byVendor(String owner, String vendor, String... devices) {
    DeviceSelector s = new DeviceSelector();
    s.setVendorIds(List.of(vendor));
    if (devices.length > 0) {
      s.setDeviceIds(List.of(devices));
    }
    return claim(owner, s);
  }

  static DeviceClaim byAddress(String owner, String... addresses) {
    DeviceSelector s = new DeviceSelector();
    s.setAddresses(List.of(addresses));
    return claim(owner, s);
  }

  static DeviceClaim byClass(String owner, String... classes) {
    DeviceSelector s = new DeviceSelector();
    s.setClasses(List.of(classes));
    return claim(owner, s);
  }

  static DeviceClaim claim(String owner, DeviceSelector selector) {
    DeviceClaim c = new DeviceClaim();
    c.setOwner(owner);
    c.setSelector(selector);
    c.setConsoleConflicts(ConsoleConflictPolicy.DETACH);
    return c;
  }

  static DeviceClaim named(DeviceClaim c, String resourceName) {
    c.setResourceName(resourceName);
    return c;
  }

  /** A display function as sysfs would show it, on vfio-pci in IOMMU group {@code group}. */
  static PciDevice gpu(String address, int vendor, int device, int pciClass, int group) {
    return new PciDevice(PciAddress.parse(address), vendor, device, vendor, 0x1482, pciClass,
        List.of(), false, 0, Optional.of("vfio-pci"), OptionalInt.of(group), Optional.empty(),
        Optional.of("NVIDIA Corporation"), Optional.of("GA102GL [A10]"));
  }
}
