package io.gpupassthrough.node.host;

import java.util.List;
import java.util.Optional;

/**
 * The firmware framebuffer drivers that sit on a GPU's BAR without being its PCI driver, the
 * platform devices they bind to, and the name they give their /proc/iomem region. These are what
 * Linux's aperture helpers evict (drivers/video/aperture.c); they are invisible in /sys/bus/pci.
 */
public final class FramebufferDrivers {
  /** A platform framebuffer driver and the iomem region name it requests. */
  public record Kind(String platformDriver, String devicePrefix, String iomemName) {}

  public static final List<Kind> KINDS =
      List.of(
          new Kind("efi-framebuffer", "efi-framebuffer", "efifb"),
          new Kind("vesa-framebuffer", "vesa-framebuffer", "vesafb"),
          // simpledrm and simplefb both register as "simple-framebuffer"; their regions differ.
          new Kind("simple-framebuffer", "simple-framebuffer", "simpledrm"),
          new Kind("simple-framebuffer", "simple-framebuffer", "simplefb"));

  /** Platform device names (before ".N") that firmware framebuffers are registered under. */
  public static final List<String> DEVICE_PREFIXES =
      List.of("efi-framebuffer", "vesa-framebuffer", "simple-framebuffer", "platform-framebuffer");

  /**
   * sysfb's own resource for the firmware framebuffer. It belongs to the platform device, not to
   * a driver, so unbinding the driver leaves it in /proc/iomem (and vfio then cannot reserve the BAR).
   */
  public static final String FIRMWARE_REGION = "BOOTFB";

  private FramebufferDrivers() {}

  public static Optional<Kind> byIomemName(String name) {
    return KINDS.stream().filter(k -> k.iomemName().equals(name)).findFirst();
  }

  public static Optional<Kind> byPlatformDriver(String driver) {
    return KINDS.stream().filter(k -> k.platformDriver().equals(driver)).findFirst();
  }

  public static boolean isFramebufferDevice(String platformDevice) {
    return DEVICE_PREFIXES.stream().anyMatch(p -> platformDevice.startsWith(p + "."));
  }
}
