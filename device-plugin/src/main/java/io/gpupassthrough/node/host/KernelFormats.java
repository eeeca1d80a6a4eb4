package io.gpupassthrough.node.host;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/** One parse method per kernel text format; each names the file and line it rejects. */
public final class KernelFormats {
  private KernelFormats() {}

  /** {@code vendor}, {@code device}, {@code subsystem_*}: {@code 0x10de} (a 16-bit ID). */
  public static int parseId(Path file, String text) {
    return (int) parseHex(file, text, 4, "a 16-bit hex ID such as 0x10de");
  }

  /** {@code class}: {@code 0x030000} (base class, subclass, prog-if). */
  public static int parseClass(Path file, String text) {
    return (int) parseHex(file, text, 6, "a 24-bit hex class such as 0x030000");
  }

  private static long parseHex(Path file, String text, int maxDigits, String expected) {
    String t = text.strip();
    if (!t.startsWith("0x") || t.length() < 3 || t.length() > 2 + maxDigits) {
      throw new HostReadException(file, "found '" + t + "', expected " + expected);
    }
    try {
      return Long.parseLong(t.substring(2), 16);
    } catch (NumberFormatException e) {
      throw new HostReadException(file, "found '" + t + "', expected " + expected);
    }
  }

  /**
   * {@code resource}: one line per resource, {@code 0x%016llx 0x%016llx 0x%016llx} (start, end,
   * flags); unused lines are all zero. Line index = BAR number (6 = ROM, then bridge windows).
   */
  public static List<Bar> parseResource(Path file, List<String> lines) {
    List<Bar> bars = new ArrayList<>(lines.size());
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = fields(line);
      if (f.length != 3) {
        throw new HostReadException(
            file, i + 1, "found '" + line + "', expected 3 hex fields (start end flags)");
      }
      long[] v = new long[3];
      for (int k = 0; k < 3; k++) {
        if (!f[k].startsWith("0x")) {
          throw new HostReadException(
              file, i + 1, "field " + (k + 1) + " '" + f[k] + "' is not 0x-prefixed hex");
        }
        try {
          v[k] = Long.parseUnsignedLong(f[k].substring(2), 16);
        } catch (NumberFormatException e) {
          throw new HostReadException(
              file, i + 1, "field " + (k + 1) + " '" + f[k] + "' is not 0x-prefixed hex");
        }
      }
      if (Long.compareUnsigned(v[1], v[0]) < 0) {
        throw new HostReadException(file, i + 1, "end " + f[1] + " is below start " + f[0]);
      }
      bars.add(new Bar(i, v[0], v[1], v[2]));
    }
    return bars;
  }

  /** Whitespace-separated fields without a regex (a 256-GPU scan parses ~7000 resource lines). */
  private static String[] fields(String line) {
    List<String> out = new ArrayList<>(3);
    int i = 0;
    int n = line.length();
    while (i < n) {
      while (i < n && Character.isWhitespace(line.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < n && !Character.isWhitespace(line.charAt(i))) {
        i++;
      }
      if (i > start) {
        out.add(line.substring(start, i));
      }
    }
    return out.toArray(new String[0]);
  }

  /**
   * {@code /proc/iomem}: {@code start-end : name}, nested by two spaces per level. When every
   * address is zero the reader lacked CAP_SYS_ADMIN and the tree is flagged as hidden.
   */
  public static IomemTree parseIomem(Path file, List<String> lines) {
    record Node(long start, long end, String name, int depth, List<Node> kids) {
      IomemRange freeze() {
        return new IomemRange(start, end, name, depth, kids.stream().map(Node::freeze).toList());
      }
    }
    List<Node> roots = new ArrayList<>();
    Deque<Node> stack = new ArrayDeque<>();
    boolean anyNonZero = false;
    int count = 0;
    for (int i = 0; i < lines.size(); i++) {
      String raw = lines.get(i);
      if (raw.isBlank()) {
        continue;
      }
      int indent = 0;
      while (indent < raw.length() && raw.charAt(indent) == ' ') {
        indent++;
      }
      if (indent % 2 != 0) {
        throw new HostReadException(
            file, i + 1, "indent of " + indent + " spaces, expected a multiple of two");
      }
      int depth = indent / 2;
      String body = raw.substring(indent);
      int dash = body.indexOf('-');
      int colon = body.indexOf(" : ");
      if (dash <= 0 || colon < dash) {
        throw new HostReadException(file, i + 1, "found '" + body + "', expected 'start-end : name'");
      }
      long start;
      long end;
      try {
        start = Long.parseUnsignedLong(body.substring(0, dash), 16);
        end = Long.parseUnsignedLong(body.substring(dash + 1, colon), 16);
      } catch (NumberFormatException e) {
        throw new HostReadException(
            file, i + 1, "found '" + body + "', expected hex 'start-end : name'");
      }
      if (depth > stack.size()) {
        throw new HostReadException(
            file, i + 1, "nested " + depth + " levels deep under a line at level " + (stack.size() - 1));
      }
      while (stack.size() > depth) {
        stack.pop();
      }
      Node node = new Node(start, end, body.substring(colon + 3), depth, new ArrayList<>());
      if (stack.isEmpty()) {
        roots.add(node);
      } else {
        stack.peek().kids().add(node);
      }
      stack.push(node);
      anyNonZero |= start != 0 || end != 0;
      count++;
    }
    return new IomemTree(roots.stream().map(Node::freeze).toList(), count > 0 && !anyNonZero);
  }

  /** {@code boot_vga}: {@code 0} or {@code 1}. */
  public static boolean parseFlag(Path file, String text) {
    return switch (text.strip()) {
      case "0" -> false;
      case "1" -> true;
      default -> throw new HostReadException(file, "found '" + text.strip() + "', expected 0 or 1");
    };
  }

  /** {@code numa_node}: a decimal node number, -1 when the platform has no NUMA information. */
  public static int parseNumaNode(Path file, String text) {
    try {
      int n = Integer.parseInt(text.strip());
      if (n < -1) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new HostReadException(file, "found '" + text.strip() + "', expected -1 or a node number");
    }
  }

  /** {@code driver_override}: the kernel prints {@code (null)} when unset. */
  public static Optional<String> parseDriverOverride(String text) {
    String t = text.strip();
    return t.isEmpty() || t.equals("(null)") ? Optional.empty() : Optional.of(t);
  }

  /** The name of an {@code iommu_groups/<n>} directory. */
  public static int parseGroupNumber(Path file, String name) {
    try {
      return Integer.parseInt(name);
    } catch (NumberFormatException e) {
      throw new HostReadException(file, "links to '" + name + "', expected an IOMMU group number");
    }
  }
}
