package io.gpupassthrough.node.host;

/**
 * One line of a PCI device's {@code resource} file: BAR (or ROM / bridge window) {@code index},
 * inclusive {@code start}..{@code end}, and the kernel's IORESOURCE flags.
 */
public record Bar(int index, long start, long end, long flags) {
  /** IORESOURCE_IO in include/linux/ioport.h. */
  public static final long IORESOURCE_IO = 0x100;
  /** IORESOURCE_MEM in include/linux/ioport.h. */
  public static final long IORESOURCE_MEM = 0x200;

  /** Standard BARs are lines 0..5; line 6 is the expansion ROM. */
  public static final int STANDARD_BARS = 6;

  /** An unused line is all zeros. */
  public boolean isUsed() {
    return !(start == 0 && end == 0 && flags == 0);
  }

  /** The kernel's aperture helpers only look at standard memory BARs (see the seed patch). */
  public boolean isMemoryAperture() {
    return index < STANDARD_BARS && isUsed() && (flags & IORESOURCE_MEM) != 0;
  }

  public long size() {
    return end - start + 1;
  }

  public boolean overlaps(long otherStart, long otherEnd) {
    return Long.compareUnsigned(start, otherEnd) <= 0 && Long.compareUnsigned(otherStart, end) <= 0;
  }
}
