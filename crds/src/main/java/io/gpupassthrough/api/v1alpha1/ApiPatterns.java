package io.gpupassthrough.api.v1alpha1;

/**
 * The textual formats of the API, in one place: the CRD schema (through the {@code @Pattern}
 * annotations) and the operator's own validation both use these constants. Extended resource
 * names have their own rule, {@link ResourceNameRule}.
 */
public final class ApiPatterns {
  /** A PCI address as sysfs names it: domain:bus:device.function, lower-case hex. */
  public static final String PCI_ADDRESS = "^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\\.[0-7]$";

  /** A PCI vendor or device ID: four lower-case hex digits, no {@code 0x}. */
  public static final String PCI_ID = "^[0-9a-f]{4}$";

  /** A PCI base class and subclass, four lower-case hex digits ({@code 0300} VGA, {@code 0302} 3D). */
  public static final String PCI_CLASS = "^[0-9a-f]{4}$";

  /*
   * Bounds on every list and string of the specs. A real API server estimates the cost of each CEL
   * rule from these; under an unbounded list it refuses the CRD ("estimated rule cost exceeds
   * budget"). Generous for real hosts: a node has at most a few dozen PCI display functions.
   */

  /** Longest Kubernetes object name (DNS subdomain), e.g. a GpuPassthrough's name. */
  public static final int MAX_NAME_LENGTH = 253;

  /** The longest of the fixed-width PCI formats ({@code 0000:01:00.0}). */
  public static final int MAX_PCI_STRING_LENGTH = 12;

  /** Explicit addresses in one selector or one restore request. */
  public static final int MAX_ADDRESSES = 256;

  /** Vendor IDs, device IDs or classes in one selector. */
  public static final int MAX_IDS = 64;

  /** GpuPassthrough resources that claim devices on (or restore devices of) one node. */
  public static final int MAX_CLAIMS_PER_NODE = 64;

  /** Holders (pods or processes) listed per device; more are summarised in the message. */
  public static final int MAX_HOLDERS = 16;

  /** A holder's command line, container ID or file, as reported (longer text is cut). */
  public static final int MAX_HOLDER_TEXT_LENGTH = 256;

  /** The node's one-line "who holds what" summary ({@code kubectl get gptnode -o wide}). */
  public static final int MAX_SUMMARY_LENGTH = 1024;

  /** What each format looks like, for error messages. */
  public static final String PCI_ADDRESS_EXAMPLE = "DDDD:BB:DD.F in lower-case hex, e.g. 0000:01:00.0";

  public static final String PCI_ID_EXAMPLE = "four lower-case hex digits without 0x, e.g. 10de";
  public static final String PCI_CLASS_EXAMPLE = "class and subclass as four lower-case hex digits, e.g. 0300";

  private ApiPatterns() {}
}
