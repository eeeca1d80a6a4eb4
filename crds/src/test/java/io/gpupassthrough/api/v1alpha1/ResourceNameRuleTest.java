package io.gpupassthrough.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The kubelet's extended-resource rule (v1.28 IsExtendedResourceName), case by case. */
class ResourceNameRuleTest {

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("pci.ids default", "nvidia.com/GA102GL_A10", null),
        Arguments.of("hex fallback", "gpupassthrough.io/10de_2236", null),
        Arguments.of("dots and dashes in the name", "example.com/gpu.large-1", null),
        Arguments.of("244-character domain", "a".repeat(240) + ".com/gpu", null),
        Arguments.of("63-character name", "example.com/" + "a".repeat(63), null),
        Arguments.of("kubernetes.io itself", "kubernetes.io/gpu", "kubernetes.io domain is reserved"),
        Arguments.of("a kubernetes.io subdomain", "node.kubernetes.io/gpu", "kubernetes.io domain is reserved"),
        // The kubelet tests strings.Contains(name, "kubernetes.io/"), not the domain's labels.
        Arguments.of("a domain ending in kubernetes.io", "examplekubernetes.io/gpu", "kubernetes.io domain is reserved"),
        Arguments.of("quota prefix", "requests.example.com/gpu", "'requests.' prefix is reserved"),
        Arguments.of("245-character domain", "a".repeat(241) + ".com/gpu", "1 to 244 characters"),
        Arguments.of("no slash", "gpu", "exactly one '/'"),
        Arguments.of("two slashes", "a.com/b/c", "exactly one '/'"),
        Arguments.of("empty", "", "empty"),
        Arguments.of("upper-case domain", "NVIDIA.com/gpu", "not a DNS subdomain"),
        Arguments.of("empty domain", "/gpu", "vendor domain before '/' is empty"),
        Arguments.of("empty name", "nvidia.com/", "name after '/' is empty"),
        Arguments.of("64-character name", "nvidia.com/" + "a".repeat(64), "at most 63"),
        Arguments.of("space in the name", "nvidia.com/A 10", "may only contain"),
        Arguments.of("name ending in a dash", "nvidia.com/a10-", "must start and end"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void refusesWhatTheKubeletRefuses(String name, String text, String problem) {
    if (problem == null) {
      assertThat(ResourceNameRule.problem(text)).isEmpty();
    } else {
      assertThat(ResourceNameRule.problem(text)).hasValueSatisfying(p -> assertThat(p).contains(problem));
    }
  }

  /** Every name the Java rule accepts fits the CRD's shape, so the two never disagree on a valid name. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void acceptedNamesMatchTheSchemaPattern(String name, String text, String problem) {
    if (problem == null) {
      assertThat(Pattern.compile(ResourceNameRule.PATTERN).matcher(text).find()).isTrue();
      assertThat(text.length()).isLessThanOrEqualTo(ResourceNameRule.MAX_LENGTH);
    }
  }

  @Test
  void domainBoundIsWhatRequestsPrefixLeavesOfADnsSubdomain() {
    assertThat(ResourceNameRule.MAX_DOMAIN_LENGTH).isEqualTo(253 - ResourceNameRule.QUOTA_PREFIX.length());
  }
}
