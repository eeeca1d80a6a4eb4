package io.gpupassthrough.node.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus.Action;
import io.gpupassthrough.api.v1alpha1.DeviceHealth;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.ConflictKind;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.plugin.ResourceName;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class NodeStatusBuilderTest {
  private static final String GPU = "0000:01:00.0";

  private static DeviceReport verified(String address, String owner) {
    return new DeviceReport(PciAddress.parse(address),
        Optional.of(Claims.gpu(address, 0x10de, 0x2236, 0x030200, 1)),
        List.of(PciAddress.parse(address)), Optional.of("nouveau"), owner,
        Optional.of(ResourceName.parse("nvidia.com/GA102GL_A10")),
        List.of(new DeviceReport.ConflictReport(new Conflict(ConflictKind.FRAMEBUFFER,
            "efi-framebuffer.0", Optional.of("efifb"), 0x80000000L, 0x802fffffL,
            Conflict.Release.DETACH), Action.DETACHED)),
        true, Optional.empty(), "bound to vfio-pci and verified");
  }

  private static DeviceReport blocked(String address, String owner, Reason reason, String message) {
    return new DeviceReport(PciAddress.parse(address), Optional.empty(), List.of(), Optional.empty(),
        owner, Optional.empty(), List.of(), false, Optional.of(reason), message);
  }

  private static PassResult pass(DeviceReport... devices) {
    return new PassResult(7, List.of(devices), List.of(), List.of(), Optional.empty());
  }

  static Stream<Arguments> devices() {
    return Stream.of(
        Arguments.of("verified and healthy: advertised, no reason", verified(GPU, "a"), Map.of(),
            true, DeviceHealth.HEALTHY, null),
        Arguments.of("verified but its group node went away: not advertised, Unhealthy",
            verified(GPU, "a"), Map.of(GPU, "/dev/vfio/1 is missing"),
            false, DeviceHealth.UNHEALTHY, Reason.UNHEALTHY),
        Arguments.of("refused by the engine: the engine's reason, health unknown",
            blocked(GPU, "a", Reason.NO_IOMMU, "no iommu_group"), Map.of(),
            false, DeviceHealth.UNKNOWN, Reason.NO_IOMMU),
        Arguments.of("lost to an earlier claim: ClaimConflict",
            blocked(GPU, "b", Reason.CLAIM_CONFLICT, "also selected by a"), Map.of(),
            false, DeviceHealth.UNKNOWN, Reason.CLAIM_CONFLICT));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("devices")
  void deviceStatusSaysWhetherItIsAdvertisedAndWhyNot(String name, DeviceReport report,
      Map<String, String> problems, boolean advertised, DeviceHealth health, Reason reason) {
    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(pass(report), problems);

    DeviceStatus d = s.getDevices().get(0);
    assertThat(d.getAdvertised()).isEqualTo(advertised);
    assertThat(d.getHealth()).isEqualTo(health);
    assertThat(d.getReason()).isEqualTo(reason);
    assertThat(d.getMessage()).isNotBlank();
    assertThat(s.getDevicesReady()).isEqualTo(advertised ? 1 : 0);
    assertThat(condition(s, "Ready").getStatus()).isEqualTo(advertised ? "True" : "False");
    assertThat(condition(s, "Degraded").getStatus()).isEqualTo(advertised ? "False" : "True");
    if (reason != null) {
      assertThat(condition(s, "Degraded").getReason()).isEqualTo(reason.code());
      assertThat(s.getMessage()).contains(reason.code());
    }
  }

  @Test
  void verifiedDeviceCarriesHostFactsAndConflictActions() {
    DeviceStatus d = NodeStatusBuilder.build(pass(verified(GPU, "a")), Map.of()).getDevices().get(0);

    assertThat(d.getVendor()).isEqualTo("10de");
    assertThat(d.getDevice()).isEqualTo("2236");
    assertThat(d.getDeviceName()).isEqualTo("GA102GL [A10]");
    assertThat(d.getPciClass()).isEqualTo("030200");
    assertThat(d.getIommuGroup()).isEqualTo(1);
    assertThat(d.getNumaNode()).isZero();
    assertThat(d.getDriver()).isEqualTo("vfio-pci");
    assertThat(d.getOriginalDriver()).isEqualTo("nouveau");
    assertThat(d.getResourceName()).isEqualTo("nvidia.com/GA102GL_A10");
    assertThat(d.getConsoleConflicts()).singleElement().satisfies(c -> {
      assertThat(c.getName()).isEqualTo("efi-framebuffer.0");
      assertThat(c.getStart()).isEqualTo("80000000");
      assertThat(c.getEnd()).isEqualTo("802fffff");
      assertThat(c.getAction()).isEqualTo(Action.DETACHED);
    });
  }

  @Test
  void sameInputsBuildEqualStatusesSoTheRecorderCanSkipTheWrite() {
    PassResult p = pass(verified(GPU, "a"), blocked("0000:02:00.0", "a", Reason.NO_IOMMU, "x"));

    assertThat(NodeStatusBuilder.build(p, Map.of()))
        .usingRecursiveComparison().isEqualTo(NodeStatusBuilder.build(p, Map.of()));
  }

  @Test
  void invalidClaimsAndRestoresAreReported() {
    PassResult p = new PassResult(3, List.of(),
        List.of(new RestoreReport("gone", true, List.of(GPU), "back on the original drivers: " + GPU)),
        List.of(new ClaimMatch.InvalidClaim(0, Optional.of("bad"), "spec.claims[0] (owner bad).selector is missing")),
        Optional.empty());

    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(p, Map.of());

    assertThat(s.getObservedGeneration()).isEqualTo(3);
    assertThat(condition(s, "Ready").getReason()).isEqualTo("InvalidSpec");
    assertThat(condition(s, "Degraded").getMessage()).contains("spec.claims[0] (owner bad)");
    assertThat(s.getRestores()).singleElement().satisfies(r -> {
      assertThat(r.getState()).isEqualTo(RestoreResult.State.DONE);
      assertThat(r.getRestored()).containsExactly(GPU);
    });
  }

  @Test
  void nothingClaimedIsReadyWithZeroCounts() {
    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(pass(), Map.of());

    assertThat(s.getDevicesTotal()).isZero();
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("True");
    assertThat(condition(s, "Ready").getReason()).isEqualTo("NothingClaimed");
  }

  private static Condition condition(GpuPassthroughNodeStatus s, String type) {
    return s.getConditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
  }
}
