package io.gpupassthrough.node.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class PreferredAllocationTest {
  /** Two NUMA nodes: three GPUs on node 0, two on node 1, one without NUMA information. */
  private static final Map<String, AdvertisedDevice> HOST = new LinkedHashMap<>();

  static {
    add("0000:01:00.0", 0);
    add("0000:02:00.0", 0);
    add("0000:03:00.0", 0);
    add("0000:81:00.0", 1);
    add("0000:82:00.0", 1);
    add("0000:c1:00.0", -1);
  }

  private static void add(String address, int numa) {
    HOST.put(
        address,
        new AdvertisedDevice(
            address, 0x10de, 0x2236, Optional.empty(), HOST.size(),
            numa < 0 ? OptionalInt.empty() : OptionalInt.of(numa), Optional.empty(),
            DeviceHealth.HEALTHY, Optional.empty()));
  }

  static Stream<Arguments> cases() {
    List<String> all = List.copyOf(HOST.keySet());
    return Stream.of(
        Arguments.of("two fit on the fuller node", all, List.of(), 2, List.of("0000:01:00.0", "0000:02:00.0")),
        Arguments.of("must-include pulls to its node", all, List.of("0000:82:00.0"), 2, List.of("0000:82:00.0", "0000:81:00.0")),
        Arguments.of("node that can hold the request wins over the must-include node", all, List.of("0000:82:00.0"), 3, List.of("0000:82:00.0", "0000:01:00.0", "0000:02:00.0")),
        Arguments.of("only node 1 free", List.of("0000:03:00.0", "0000:81:00.0", "0000:82:00.0"), List.of(), 2, List.of("0000:81:00.0", "0000:82:00.0")),
        Arguments.of("spill over when no node is big enough", List.of("0000:01:00.0", "0000:81:00.0", "0000:c1:00.0"), List.of(), 3, List.of("0000:01:00.0", "0000:81:00.0", "0000:c1:00.0")),
        Arguments.of("must-include alone fills the request", all, List.of("0000:c1:00.0"), 1, List.of("0000:c1:00.0")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void staysOnOneNumaNodeWhereItCan(
      String name, List<String> available, List<String> must, int size, List<String> expected) {
    assertThat(PreferredAllocation.choose(HOST, available, must, size)).containsExactlyElementsOf(expected);
  }

  @Test
  void unknownDeviceIsRefused() {
    assertThatThrownBy(() -> PreferredAllocation.choose(HOST, List.of("0000:99:00.0"), List.of(), 1))
        .isInstanceOf(DeviceRequestException.class)
        .hasMessageContaining("0000:99:00.0");
  }
}
