package io.gpupassthrough.node.agent;

import static io.gpupassthrough.node.agent.Claims.byAddress;
import static io.gpupassthrough.node.agent.Claims.byClass;
import static io.gpupassthrough.node.agent.Claims.byVendor;
import static io.gpupassthrough.node.agent.Claims.gpu;
import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ClaimMatcherTest {
  /** Two A10s (10de:2236, 3D class), one AMD VGA card, one Intel iGPU. */
  private static final List<PciDevice> HOST = List.of(
      gpu("0000:01:00.0", 0x10de, 0x2236, 0x030200, 1),
      gpu("0000:02:00.0", 0x10de, 0x2236, 0x030200, 2),
      gpu("0000:03:00.0", 0x1002, 0x73bf, 0x030000, 3),
      gpu("0000:00:02.0", 0x8086, 0x4680, 0x030000, 4));

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("vendor filter takes every GPU of the vendor",
            List.of(byVendor("a", "10de")),
            Map.of("a", List.of("0000:01:00.0", "0000:02:00.0")), List.of(), List.of()),
        Arguments.of("vendor and device filters must both match",
            List.of(byVendor("a", "10de", "1111")),
            Map.of("a", List.of()), List.of(), List.of()),
        Arguments.of("class filter takes VGA-class only",
            List.of(byClass("a", "0300")),
            Map.of("a", List.of("0000:00:02.0", "0000:03:00.0")), List.of(), List.of()),
        Arguments.of("explicit addresses are passed on even when no GPU is there",
            List.of(byAddress("a", "0000:02:00.0", "0000:09:00.0")),
            Map.of("a", List.of("0000:02:00.0", "0000:09:00.0")), List.of(), List.of()),
        Arguments.of("first claim wins, the later one is a conflict per device",
            List.of(byVendor("old", "10de"), byAddress("new", "0000:02:00.0", "0000:03:00.0")),
            Map.of("old", List.of("0000:01:00.0", "0000:02:00.0"), "new", List.of("0000:03:00.0")),
            List.of("0000:02:00.0 new<old"), List.of()),
        Arguments.of("an invalid claim is reported and does not block the others",
            List.of(byVendor("bad", "nvidia"), byVendor("good", "1002")),
            Map.of("good", List.of("0000:03:00.0")), List.of(),
            List.of("spec.claims[0] (owner bad).selector.vendorIds: 'nvidia' is not a PCI ID;"
                + " expected four hex digits, e.g. 10de")),
        Arguments.of("an empty selector selects nothing instead of every GPU",
            List.of(Claims.claim("empty", new DeviceSelector())),
            Map.of(), List.of(),
            List.of("spec.claims[0] (owner empty).selector selects nothing; give addresses,"
                + " vendorIds or classes")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void matchesClaimsInPrecedenceOrder(String name, List<DeviceClaim> claims,
      Map<String, List<String>> won, List<String> conflicts, List<String> invalid) {
    ClaimMatch match = ClaimMatcher.match(HOST, claims);

    Map<String, List<String>> actual = new LinkedHashMap<>();
    match.won().forEach((claim, addresses) ->
        actual.put(claim.owner(), addresses.stream().sorted().map(PciAddress::toString).toList()));
    assertThat(actual).isEqualTo(won);
    List<String> actualConflicts = new ArrayList<>();
    match.conflicts().forEach(c ->
        actualConflicts.add(c.address() + " " + c.loser().owner() + "<" + c.winner().owner()));
    assertThat(actualConflicts).isEqualTo(conflicts);
    assertThat(match.invalid()).extracting(ClaimMatch.InvalidClaim::message).isEqualTo(invalid);
  }
}
