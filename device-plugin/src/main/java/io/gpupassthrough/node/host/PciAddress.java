package io.gpupassthrough.node.host;

import java.util.regex.Pattern;

/**
 * A PCI function address in the kernel's canonical form {@code DDDD:BB:SS.F} (lower-case hex), the
 * name of its directory under {@code /sys/bus/pci/devices} and the device ID the kubelet sees.
 */
public record PciAddress(int domain, int bus, int slot, int function)
    implements Comparable<PciAddress> {
  private static final Pattern FORM =
      Pattern.compile("[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\\.[0-7]");

  public PciAddress {
    if (domain < 0 || domain > 0xffff || bus < 0 || bus > 0xff || slot < 0 || slot > 0x1f
        || function < 0 || function > 7) {
      throw new IllegalArgumentException(
          "PCI address out of range: " + domain + ":" + bus + ":" + slot + "." + function);
    }
  }

  /** Parses {@code 0000:01:00.0}; rejects anything else with the expected form in the message. */
  public static PciAddress parse(String text) {
    String t = text == null ? "" : text.strip();
    if (!FORM.matcher(t).matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a PCI address; expected DDDD:BB:SS.F such as 0000:01:00.0");
    }
    return new PciAddress(
        Integer.parseInt(t.substring(0, 4), 16),
        Integer.parseInt(t.substring(5, 7), 16),
        Integer.parseInt(t.substring(8, 10), 16),
        t.charAt(11) - '0');
  }

  /** True when {@code text} has the canonical address form (used to spot PCI BAR lines in iomem). */
  public static boolean looksLikeAddress(String text) {
    return text != null && FORM.matcher(text).matches();
  }

  /** Same physical slot (multi-function device such as GPU + HDMI audio). */
  public boolean sameSlot(PciAddress other) {
    return domain == other.domain && bus == other.bus && slot == other.slot;
  }

  @Override
  public int compareTo(PciAddress o) {
    return Long.compare(key(), o.key());
  }

  private long key() {
    return ((long) domain << 16) | (bus << 8) | (slot << 3) | function;
  }

  @Override
  public String toString() {
    return String.format("%04x:%02x:%02x.%x", domain, bus, slot, function);
  }
}
