package io.gpupassthrough.node.host;

import java.nio.file.Path;

/**
 * Pure: which device a sysfs write is about, so that no second write for it is started while one
 * is blocked. The kernel serialises writes per device (each takes the device lock), so that is
 * the unit: a PCI address for driver bind/unbind/probe and per-device attributes, a platform
 * device for framebuffer drivers, a VT console for its {@code bind}.
 */
public final class WriteTarget {
  private WriteTarget() {}

  /**
   * @param hostPath the attribute as the host names it ({@code /sys/bus/pci/drivers/vfio-pci/unbind})
   * @param value what is written (the device, for driver files)
   */
  public static String of(String hostPath, String value) {
    String[] p = hostPath.split("/");
    String v = value.strip();
    // ["", "sys", "bus", "pci", "drivers", <drv>, "unbind"]
    if (hostPath.equals("/sys/bus/pci/drivers_probe")) {
      return v;
    }
    if (p.length == 7 && hostPath.startsWith("/sys/bus/") && p[4].equals("drivers")
        && (p[6].equals("bind") || p[6].equals("unbind"))) {
      return v;
    }
    if (p.length == 7 && hostPath.startsWith("/sys/bus/pci/devices/")) {
      return p[5];
    }
    if (p.length == 6 && hostPath.startsWith("/sys/class/vtconsole/")) {
      return p[4];
    }
    return hostPath;
  }

  static String of(SysfsPaths paths, Path attribute, String value) {
    return of(paths.hostView(attribute), value);
  }
}
