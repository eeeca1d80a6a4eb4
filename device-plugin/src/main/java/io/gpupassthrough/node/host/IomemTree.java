package io.gpupassthrough.node.host;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code /proc/iomem} as a tree. {@code addressesHidden} is set when every range reads as zero,
 * which is what the kernel shows to readers without CAP_SYS_ADMIN: overlaps cannot be computed then.
 */
public record IomemTree(List<IomemRange> roots, boolean addressesHidden) {
  public IomemTree {
    roots = List.copyOf(roots);
  }

  public static IomemTree empty() {
    return new IomemTree(List.of(), false);
  }

  /** Every range at any depth overlapping {@code [start, end]}, in file order. */
  public List<IomemRange> overlapping(long start, long end) {
    List<IomemRange> out = new ArrayList<>();
    walk(roots, r -> {
      if (r.overlaps(start, end)) {
        out.add(r);
      }
    });
    return out;
  }

  /** Every range at any depth with exactly this name, in file order. */
  public List<IomemRange> named(String name) {
    List<IomemRange> out = new ArrayList<>();
    walk(roots, r -> {
      if (r.name().equals(name)) {
        out.add(r);
      }
    });
    return out;
  }

  private static void walk(List<IomemRange> ranges, Consumer<IomemRange> visit) {
    for (IomemRange r : ranges) {
      visit.accept(r);
      walk(r.children(), visit);
    }
  }
}
