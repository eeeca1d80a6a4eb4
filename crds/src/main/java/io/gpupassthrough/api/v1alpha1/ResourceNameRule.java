package io.gpupassthrough.api.v1alpha1;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one rule for extended resource names, as the kubelet applies it when a device plugin
 * registers (Kubernetes v1.28 {@code pkg/apis/core/v1/helper.IsExtendedResourceName}):
 *
 * <ul>
 *   <li>a name containing {@code kubernetes.io/} is a native resource, never an extended one;
 *   <li>{@code requests.} + the name must be a qualified name: a DNS-subdomain prefix of at most 253
 *       characters (so the vendor domain itself has at most 244), one {@code /}, and a name of at
 *       most 63 characters of {@code [A-Za-z0-9_.-]} that starts and ends alphanumeric.
 * </ul>
 *
 * <p>Used three ways from here: the CRD schema ({@link #PATTERN}, {@link #MAX_LENGTH} and the CEL
 * rules below on {@code spec.resourceName}), the operator's own validation and the node agent's
 * {@code ResourceName} value type (both through {@link #problem(String)}), so a name refused by one
 * is refused by all three with the same words.
 */
public final class ResourceNameRule {
  /** The kubelet's marker of native resources ({@code v1.ResourceDefaultNamespacePrefix}). */
  public static final String NATIVE_MARKER = "kubernetes.io/";

  /** The kubelet prefixes this to the name and checks the result is a qualified name. */
  public static final String QUOTA_PREFIX = "requests.";

  /** Longest name after the {@code /} (a qualified name's name part). */
  public static final int MAX_NAME_LENGTH = 63;

  /** Longest vendor domain: {@code requests.<domain>} must fit the 253 characters of a DNS subdomain. */
  public static final int MAX_DOMAIN_LENGTH = 253 - 9;

  /** Longest whole name: domain, slash, name. */
  public static final int MAX_LENGTH = MAX_DOMAIN_LENGTH + 1 + MAX_NAME_LENGTH;

  /** The shape: a DNS-subdomain vendor domain, one slash, a name of 1 to 63 characters. */
  public static final String PATTERN =
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
          + "/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

  /** What the shape looks like, for messages. */
  public static final String EXAMPLE = "<vendor domain>/<name>, e.g. nvidia.com/GA102GL_A10";

  /*
   * CEL rules for what the pattern cannot say. Each pairs with a message an admin sees from
   * kubectl apply; problem() words the same facts for the operator and the agent.
   */
  public static final String CEL_NOT_NATIVE = "!self.contains('" + NATIVE_MARKER + "')";
  public static final String NOT_NATIVE_MESSAGE =
      "a name containing 'kubernetes.io/' is a native resource, which every kubelet refuses from a device"
          + " plugin; use your own vendor domain, e.g. example.com/a10";
  public static final String CEL_NOT_QUOTA = "!self.startsWith('" + QUOTA_PREFIX + "')";
  public static final String NOT_QUOTA_MESSAGE =
      "the 'requests.' prefix is reserved for resource quota names; use a vendor domain, e.g. example.com/a10";
  public static final String CEL_DOMAIN_LENGTH = "self.matches('^[^/]{1," + MAX_DOMAIN_LENGTH + "}/')";
  public static final String DOMAIN_LENGTH_MESSAGE =
      "the vendor domain before '/' must be 1 to " + MAX_DOMAIN_LENGTH
          + " characters (the kubelet checks 'requests.<domain>' against the 253 of a DNS subdomain)";

  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");

  private ResourceNameRule() {}

  /** Why the kubelet would refuse {@code text} as an extended resource name, or empty when it would not. */
  public static Optional<String> problem(String text) {
    if (text == null || text.isBlank()) {
      return Optional.of("empty; expected " + EXAMPLE);
    }
    int slash = text.indexOf('/');
    if (slash < 0 || slash != text.lastIndexOf('/')) {
      return Optional.of("expected exactly one '/' as in " + EXAMPLE);
    }
    return problem(text.substring(0, slash), text.substring(slash + 1));
  }

  /** The same for a name already split at its slash. */
  public static Optional<String> problem(String domain, String name) {
    if (domain == null || domain.isEmpty()) {
      return Optional.of("the vendor domain before '/' is empty");
    }
    if (domain.length() > MAX_DOMAIN_LENGTH) {
      return Optional.of(DOMAIN_LENGTH_MESSAGE);
    }
    if (!DNS_SUBDOMAIN.matcher(domain).matches()) {
      return Optional.of("the vendor domain '" + domain
          + "' is not a DNS subdomain (lower-case letters, digits, '-', labels joined by '.')");
    }
    if ((domain + "/").contains(NATIVE_MARKER)) {
      return Optional.of("the kubernetes.io domain is reserved: " + NOT_NATIVE_MESSAGE);
    }
    if (domain.startsWith(QUOTA_PREFIX)) {
      return Optional.of(NOT_QUOTA_MESSAGE);
    }
    if (name == null || name.isEmpty()) {
      return Optional.of("the name after '/' is empty");
    }
    if (name.length() > MAX_NAME_LENGTH) {
      return Optional.of("the name is " + name.length() + " characters long; at most " + MAX_NAME_LENGTH
          + " are allowed");
    }
    if (!NAME.matcher(name).matches()) {
      return Optional.of("the name '" + name + "' may only contain letters, digits, '-', '_' and '.',"
          + " and must start and end with a letter or digit");
    }
    return Optional.empty();
  }
}
