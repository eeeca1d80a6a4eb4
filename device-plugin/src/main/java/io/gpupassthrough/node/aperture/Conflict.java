package io.gpupassthrough.node.aperture;

import java.util.Optional;

/**
 * One console or framebuffer in the way of a GPU: {@code name} is the platform device, vtconN or
 * BOOTFB; {@code driver} is what holds it (efifb, fbcon, vgacon); {@code start}..{@code end} the
 * overlapping memory (inclusive). {@code release} says how it goes away.
 */
public record Conflict(
    ConflictKind kind, String name, Optional<String> driver, long start, long end, Release release) {

  /** How a conflict is released. */
  public enum Release {
    /** The agent unbinds it (fbcon from a VT, a platform framebuffer driver, vgacon). */
    DETACH,
    /** It is the GPU's own PCI driver's range: unbinding the GPU releases it. */
    WITH_GPU_DRIVER,
    /** Linux ≥ 6.0 vfio-pci evicts it when a class 0x0300 device binds (sysfb_disable). */
    KERNEL_ON_BIND,
    /** Nothing at runtime can release it (firmware BOOTFB before 6.0, an unknown owner). */
    NONE
  }

  public String hexStart() {
    return Long.toHexString(start);
  }

  public String hexEnd() {
    return Long.toHexString(end);
  }

  @Override
  public String toString() {
    return kind.json() + " " + name + driver.map(d -> " (" + d + ")").orElse("") + " " + hexStart()
        + "-" + hexEnd();
  }
}
