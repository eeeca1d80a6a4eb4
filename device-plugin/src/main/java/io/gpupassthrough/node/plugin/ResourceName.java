package io.gpupassthrough.node.plugin;

import io.gpupassthrough.api.v1alpha1.ResourceNameRule;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An extended resource name such as {@code nvidia.com/GA102GL_A10}, validated as the kubelet
 * validates extended resources ({@link ResourceNameRule}, shared with the CRD and the operator):
 * {@code <DNS subdomain>/<name>}, name at most 63 characters of {@code [A-Za-z0-9_.-]} starting and
 * ending alphanumeric, nothing containing {@code kubernetes.io/}. Every name derived from a
 * resource name (default name, env var, socket file) is built here and nowhere else.
 */
public record ResourceName(String prefix, String name) {

  /** Domain used when pci.ids does not name the vendor or the device. */
  public static final String FALLBACK_DOMAIN = "gpupassthrough.io";

  /** Env var prefix KubeVirt's virt-launcher looks for (pkg/util: ResourceNameToEnvVar). */
  public static final String ENV_PREFIX = "PCI_RESOURCE";

  private static final int MAX_NAME = ResourceNameRule.MAX_NAME_LENGTH;

  /** pci.ids vendor ID to the domain its extended resources are advertised under. */
  private static final Map<Integer, String> VENDOR_DOMAINS =
      Map.of(0x10de, "nvidia.com", 0x1002, "amd.com", 0x8086, "intel.com");

  /** The socket file name is "gpupt-" + a readable part + a hash; sun_path holds 108 bytes. */
  private static final int MAX_SOCKET_STEM = 48;

  public ResourceName {
    String problem = problem(prefix, name);
    if (problem != null) {
      throw new IllegalArgumentException(
          "invalid resource name '" + prefix + "/" + name + "': " + problem);
    }
  }

  /** Parses {@code <domain>/<name>}, rejecting anything the kubelet would refuse. */
  public static ResourceName parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(
          "invalid resource name: empty; expected <vendor domain>/<name>, e.g. nvidia.com/GA102GL_A10");
    }
    int slash = text.indexOf('/');
    if (slash < 0 || slash != text.lastIndexOf('/')) {
      throw new IllegalArgumentException(
          "invalid resource name '"
              + text
              + "': expected exactly one '/' as in <vendor domain>/<name>, e.g. nvidia.com/GA102GL_A10");
    }
    return new ResourceName(text.substring(0, slash), text.substring(slash + 1));
  }

  /**
   * The default name of a GPU (DESIGN §6): {@code <vendor domain>/<device name>} when pci.ids
   * names the device and the vendor has a known domain, else {@code
   * gpupassthrough.io/<vendor>_<device>} in 4-digit lower-case hex.
   */
  public static ResourceName defaultFor(int vendorId, int deviceId, Optional<String> pciIdsName) {
    String domain = VENDOR_DOMAINS.get(vendorId);
    if (domain != null && pciIdsName.isPresent()) {
      String name = deviceNameToken(pciIdsName.get());
      if (!name.isEmpty() && problem(domain, name) == null) {
        return new ResourceName(domain, name);
      }
    }
    return new ResourceName(
        FALLBACK_DOMAIN, String.format(Locale.ROOT, "%04x_%04x", vendorId, deviceId));
  }

  /**
   * Turns a pci.ids device name into a resource name token the way KubeVirt's GPU plugins do:
   * upper case, "/" and "." and runs of spaces become "_", everything else that is not
   * alphanumeric or "_" is dropped ("GA102GL [A10]" becomes "GA102GL_A10").
   */
  static String deviceNameToken(String pciIdsName) {
    String token =
        pciIdsName
            .strip()
            .toUpperCase(Locale.ROOT)
            .replace('/', '_')
            .replace('.', '_')
            .replaceAll("\\s+", "_")
            .replaceAll("[^A-Z0-9_]", "")
            .replaceAll("_+", "_")
            .replaceAll("^_|_$", "");
    return token.length() > MAX_NAME ? token.substring(0, MAX_NAME).replaceAll("_$", "") : token;
  }

  /** {@code PCI_RESOURCE_<NAME>}: upper case, "/" and "." become "_" (exactly KubeVirt's rule). */
  public String envVarName() {
    return ENV_PREFIX + "_" + toString().toUpperCase(Locale.ROOT).replace('/', '_').replace('.', '_');
  }

  /**
   * The plugin's socket file in the device-plugin directory. Unique per resource name, readable,
   * and short enough for a Unix socket path (108 bytes) whatever the resource name's length.
   */
  public String socketFileName() {
    String readable = toString().replace('/', '_').replaceAll("[^A-Za-z0-9_.-]", "");
    if (readable.length() > MAX_SOCKET_STEM) {
      readable = readable.substring(0, MAX_SOCKET_STEM);
    }
    return "gpupt-" + readable + "-" + shortHash() + ".sock";
  }

  private String shortHash() {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  /** The kubelet's rule, kept once for the CRD, the operator and this agent. */
  private static String problem(String prefix, String name) {
    return ResourceNameRule.problem(prefix, name).orElse(null);
  }

  @Override
  public String toString() {
    return prefix + "/" + name;
  }
}
