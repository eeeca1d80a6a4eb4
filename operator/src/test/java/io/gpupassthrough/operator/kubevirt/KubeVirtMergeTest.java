package io.gpupassthrough.operator.kubevirt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class KubeVirtMergeTest {
  static Map<String, Object> entry(String selector, String name) {
    return Map.of("pciVendorSelector", selector, "resourceName", name, "externalResourceProvider", true);
  }

  static final Map<String, Object> FOREIGN = entry("8086:56C0", "intel.com/flex");
  static final Map<String, Object> A10 = entry("10DE:2236", "nvidia.com/A10");
  static final Map<String, Object> L4 = entry("10DE:27B8", "nvidia.com/L4");
  static final String A10_KEY = "10DE:2236=nvidia.com/A10";
  static final String L4_KEY = "10DE:27B8=nvidia.com/L4";

  static Stream<Arguments> cases() {
    PermittedDevice a10 = new PermittedDevice("10DE:2236", "nvidia.com/A10");
    PermittedDevice l4 = new PermittedDevice("10DE:27B8", "nvidia.com/L4");
    PermittedDevice foreignTwin = new PermittedDevice("8086:56c0", "intel.com/flex");
    return Stream.of(
        Arguments.of("adds to an empty list", List.of(), Set.of(), List.of(a10), List.of(A10), Set.of(A10_KEY), true),
        Arguments.of("keeps foreign entries when adding", List.of(FOREIGN), Set.of(), List.of(a10),
            List.of(FOREIGN, A10), Set.of(A10_KEY), true),
        Arguments.of("removes only its own stale entries", List.of(FOREIGN, A10, L4), Set.of(A10_KEY, L4_KEY),
            List.of(l4), List.of(FOREIGN, L4), Set.of(L4_KEY), true),
        Arguments.of("an equal foreign entry is not taken over", List.of(FOREIGN), Set.of(), List.of(foreignTwin),
            List.of(FOREIGN), Set.of(), false),
        Arguments.of("a foreign entry equal to one of ours survives our removal", List.of(FOREIGN, A10), Set.of(),
            List.of(), List.of(FOREIGN, A10), Set.of(), false),
        Arguments.of("nothing to do is no change", List.of(FOREIGN, A10), Set.of(A10_KEY), List.of(a10),
            List.of(FOREIGN, A10), Set.of(A10_KEY), false),
        Arguments.of("removes everything it owns on delete", List.of(A10, FOREIGN, L4), Set.of(A10_KEY, L4_KEY),
            List.of(), List.of(FOREIGN), Set.of(), true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void mergesWithoutTouchingForeignEntries(String name, List<Map<String, Object>> current, Set<String> owned,
      List<PermittedDevice> desired, List<Map<String, Object>> entries, Set<String> nowOwned, boolean changed) {
    KubeVirtMerge.Result r = KubeVirtMerge.merge(current, owned, desired);
    assertThat(r.entries()).isEqualTo(entries);
    assertThat(r.owned()).isEqualTo(nowOwned);
    assertThat(r.changed()).isEqualTo(changed);
  }
}
