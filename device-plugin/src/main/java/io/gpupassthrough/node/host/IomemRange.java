package io.gpupassthrough.node.host;

import java.util.List;

/**
 * One line of {@code /proc/iomem}: {@code start-end : name}, inclusive, with the ranges nested under
 * it (the kernel indents each level by two spaces).
 */
public record IomemRange(long start, long end, String name, int depth, List<IomemRange> children) {
  public IomemRange {
    children = List.copyOf(children);
  }

  public boolean overlaps(long otherStart, long otherEnd) {
    return Long.compareUnsigned(start, otherEnd) <= 0 && Long.compareUnsigned(otherStart, end) <= 0;
  }

  public String hexStart() {
    return Long.toHexString(start);
  }

  public String hexEnd() {
    return Long.toHexString(end);
  }
}
