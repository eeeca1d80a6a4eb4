package io.gpupassthrough.node.vfio;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What the host looked like before the agent touched it, so {@code restore} can give it back:
 * each PCI function's driver and driver_override, each framebuffer platform device's driver, and
 * each VT console's bind state. First record wins: a second prepare never overwrites the original
 * with "vfio-pci".
 */
public record OriginalDrivers(
    Map<String, PciOriginal> devices,
    Map<String, String> framebuffers,
    Map<String, Boolean> vtConsoles) {

  /**
   * A PCI function's original driver and override (null = none, kept nullable so the JSON stays
   * plain); {@code gpu} is the GPU it was taken for.
   */
  public record PciOriginal(String driver, String driverOverride, String gpu) {
    public Optional<String> originalDriver() {
      return Optional.ofNullable(driver);
    }

    public Optional<String> originalOverride() {
      return Optional.ofNullable(driverOverride);
    }
  }

  public OriginalDrivers {
    devices = java.util.Collections.unmodifiableMap(new TreeMap<>(devices));
    framebuffers = java.util.Collections.unmodifiableMap(new TreeMap<>(framebuffers));
    vtConsoles = java.util.Collections.unmodifiableMap(new TreeMap<>(vtConsoles));
  }

  public static OriginalDrivers empty() {
    return new OriginalDrivers(Map.of(), Map.of(), Map.of());
  }

  public boolean isEmpty() {
    return devices.isEmpty() && framebuffers.isEmpty() && vtConsoles.isEmpty();
  }

  /** This record plus {@code other}'s entries for keys not recorded yet. */
  public OriginalDrivers mergeKeepingExisting(OriginalDrivers other) {
    Map<String, PciOriginal> d = new TreeMap<>(other.devices);
    d.putAll(devices);
    Map<String, String> f = new TreeMap<>(other.framebuffers);
    f.putAll(framebuffers);
    Map<String, Boolean> v = new TreeMap<>(other.vtConsoles);
    v.putAll(vtConsoles);
    return new OriginalDrivers(d, f, v);
  }

  /** This record without the given keys (after a successful restore or rollback). */
  public OriginalDrivers without(OriginalDrivers done) {
    Map<String, PciOriginal> d = new TreeMap<>(devices);
    done.devices.keySet().forEach(d::remove);
    Map<String, String> f = new TreeMap<>(framebuffers);
    done.framebuffers.keySet().forEach(f::remove);
    Map<String, Boolean> v = new TreeMap<>(vtConsoles);
    done.vtConsoles.keySet().forEach(v::remove);
    return new OriginalDrivers(d, f, v);
  }
}
