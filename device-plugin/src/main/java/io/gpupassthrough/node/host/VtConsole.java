package io.gpupassthrough.node.host;

/**
 * {@code /sys/class/vtconsole/vtconN}: {@code name} is what the console driver reports, e.g.
 * {@code (M) frame buffer device} for fbcon or {@code (S) VGA+} for vgacon; {@code bound} is the
 * {@code bind} attribute (1 = this driver draws the consoles).
 */
public record VtConsole(String id, String name, boolean bound) {
  /** fbcon registers as "frame buffer device". */
  public boolean isFbcon() {
    return name.contains("frame buffer");
  }

  /** vgacon registers as "VGA+" (or "VGA" / "EGA" on ancient adapters). */
  public boolean isVgacon() {
    return name.contains("VGA") || name.contains("EGA");
  }
}
