package io.gpupassthrough.node.aperture;

import io.gpupassthrough.node.host.PciAddress;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * Which GPUs to prepare: explicit addresses, vendor[:device] IDs, 16-bit classes (0x0300). A
 * device is selected when it matches every kind of filter given; no filters = every display GPU.
 */
public record DeviceSelection(
    List<PciAddress> addresses, List<VendorDevice> vendorDevices, List<Integer> classes) {

  private static final Pattern HEX4 = Pattern.compile("[0-9a-fA-F]{4}");

  public DeviceSelection {
    addresses = List.copyOf(addresses);
    vendorDevices = List.copyOf(vendorDevices);
    classes = List.copyOf(classes);
  }

  /** Every display-class GPU on the host. */
  public static DeviceSelection allGpus() {
    return new DeviceSelection(List.of(), List.of(), List.of());
  }

  public static DeviceSelection of(PciAddress... addresses) {
    return new DeviceSelection(List.of(addresses), List.of(), List.of());
  }

  public boolean isEmpty() {
    return addresses.isEmpty() && vendorDevices.isEmpty() && classes.isEmpty();
  }

  /** A vendor ID and optionally a device ID, as {@code 10de} or {@code 10de:2236}. */
  public record VendorDevice(int vendor, OptionalInt device) {
    public static VendorDevice parse(String text) {
      String[] parts = text.strip().split(":", -1);
      if (parts.length > 2 || !HEX4.matcher(parts[0]).matches()
          || (parts.length == 2 && !HEX4.matcher(parts[1]).matches())) {
        throw new IllegalArgumentException(
            "'" + text + "' is not a vendor[:device] ID; expected 4 hex digits each, e.g. 10de:2236");
      }
      return new VendorDevice(Integer.parseInt(parts[0], 16),
          parts.length == 2 ? OptionalInt.of(Integer.parseInt(parts[1], 16)) : OptionalInt.empty());
    }

    public boolean matches(int vendorId, int deviceId) {
      return vendor == vendorId && (device.isEmpty() || device.getAsInt() == deviceId);
    }
  }

  /** Parses a class and subclass: {@code 0x0300}, {@code 0300}. */
  public static int parseClass(String text) {
    String t = text.strip();
    if (t.startsWith("0x") || t.startsWith("0X")) {
      t = t.substring(2);
    }
    if (!HEX4.matcher(t).matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a PCI class; expected class and subclass as 4 hex digits, e.g. 0x0300");
    }
    return Integer.parseInt(t, 16);
  }

  /** Whether a device with these IDs and 24-bit class matches the filters. */
  public boolean matches(PciAddress address, int vendor, int device, int pciClass) {
    return (addresses.isEmpty() || addresses.contains(address))
        && (vendorDevices.isEmpty() || vendorDevices.stream().anyMatch(v -> v.matches(vendor, device)))
        && (classes.isEmpty() || classes.contains(pciClass >> 8));
  }
}
