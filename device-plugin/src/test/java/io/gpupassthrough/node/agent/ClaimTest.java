package io.gpupassthrough.node.agent;

import static io.gpupassthrough.node.agent.Claims.byAddress;
import static io.gpupassthrough.node.agent.Claims.byVendor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.node.host.PciAddress;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ClaimTest {
  @Test
  void vendorAndDeviceListsBecomeEveryPairAndDefaultsApply() {
    DeviceClaim c = byVendor("a10s", "10de", "2236", "2237");
    c.setConsoleConflicts(null);
    c.setIncludeIommuGroupCompanions(null);

    Claim claim = Claim.from(0, c);

    assertThat(claim.selection().matches(PciAddress.parse("0000:01:00.0"), 0x10de, 0x2237, 0x030200)).isTrue();
    assertThat(claim.selection().matches(PciAddress.parse("0000:01:00.0"), 0x10de, 0x1111, 0x030200)).isFalse();
    assertThat(claim.policy()).isEqualTo(ConsoleConflictPolicy.DETACH);
    assertThat(claim.companions()).isTrue();
    assertThat(claim.resourceName()).isEmpty();
  }

  @Test
  void explicitResourceNameIsParsed() {
    Claim claim = Claim.from(2, Claims.named(byAddress("one", "0000:41:00.0"), "example.com/big-gpu"));

    assertThat(claim.resourceName()).hasValueSatisfying(r -> assertThat(r.toString()).isEqualTo("example.com/big-gpu"));
    assertThat(claim.index()).isEqualTo(2);
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("missing owner", (Supplier<DeviceClaim>) () -> byVendor(null, "10de"),
            "spec.claims[0].owner is missing"),
        Arguments.of("missing selector", (Supplier<DeviceClaim>) () -> Claims.claim("x", null),
            "spec.claims[0] (owner x).selector is missing"),
        Arguments.of("bad address", (Supplier<DeviceClaim>) () -> byAddress("x", "01:00.0"),
            "spec.claims[0] (owner x).selector.addresses: '01:00.0' is not a PCI address"),
        Arguments.of("device IDs without vendor", (Supplier<DeviceClaim>) () -> {
              DeviceSelector s = new DeviceSelector();
              s.setDeviceIds(List.of("2236"));
              s.setClasses(List.of("0302"));
              return Claims.claim("x", s);
            },
            "spec.claims[0] (owner x).selector.deviceIds requires vendorIds"),
        Arguments.of("addresses mixed with filters", (Supplier<DeviceClaim>) () -> {
              DeviceSelector s = new DeviceSelector();
              s.setAddresses(List.of("0000:01:00.0"));
              s.setVendorIds(List.of("10de"));
              return Claims.claim("x", s);
            },
            "addresses cannot be combined with vendorIds"),
        Arguments.of("bad resource name",
            (Supplier<DeviceClaim>) () -> Claims.named(byVendor("x", "10de"), "kubernetes.io/gpu"),
            "spec.claims[0] (owner x).resourceName: invalid resource name 'kubernetes.io/gpu'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void invalidClaimIsRejectedNamingTheField(String name, Supplier<DeviceClaim> claim, String message) {
    assertThatThrownBy(() -> Claim.from(0, claim.get()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }
}
