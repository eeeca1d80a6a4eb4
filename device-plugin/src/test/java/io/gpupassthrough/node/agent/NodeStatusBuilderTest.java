package io.gpupassthrough.node.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus.Action;
import io.gpupassthrough.api.v1alpha1.DeviceHealth;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.KubeletRegistration;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.ConflictKind;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.plugin.KubeletConnection.Registration;
import io.gpupassthrough.node.plugin.KubeletConnection.State;
import io.gpupassthrough.node.plugin.ResourceName;
import java.nio.file.Path;
import java.time.Instant;
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
  private static final ResourceName A10 = ResourceName.parse("nvidia.com/GA102GL_A10");
  private static final Instant AT = Instant.parse("2025-01-02T03:04:05Z");
  private static final Map<ResourceName, Registration> REGISTERED = plugin(State.REGISTERED, true, "endpoint x.sock");

  private static Map<ResourceName, Registration> plugin(State state, boolean serving, String detail) {
    return Map.of(A10, new Registration(A10, Path.of("/plugins/gpupt-a10.sock"), state, serving, detail,
        state == State.REGISTERED ? Optional.of(AT) : Optional.empty(), true));
  }

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
    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(pass(report), problems, REGISTERED);

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

  static Stream<Arguments> kubeletStates() {
    return Stream.of(
        Arguments.of("registered: advertised, with the time of the registration", REGISTERED,
            KubeletRegistration.REGISTERED, true, "2025-01-02T03:04:05Z", "bound to vfio-pci and verified"),
        Arguments.of("served but no kubelet.sock: not advertised, Serving",
            plugin(State.WAITING_FOR_KUBELET, true, "/plugins/kubelet.sock does not exist yet"),
            KubeletRegistration.SERVING, false, null, "served on gpupt-a10.sock, but not registered with the"
                + " kubelet: /plugins/kubelet.sock does not exist yet"),
        Arguments.of("kubelet refused Register: not advertised, Refused",
            plugin(State.REJECTED, true, "kubelet answered INVALID_ARGUMENT: bad name"),
            KubeletRegistration.REFUSED, false, null, "kubelet refused to register nvidia.com/GA102GL_A10:"
                + " kubelet answered INVALID_ARGUMENT: bad name"),
        Arguments.of("registered state but the kubelet deleted the socket: serves nobody",
            plugin(State.REGISTERED, false, "endpoint x.sock"),
            KubeletRegistration.NOT_SERVING, false, null, "no device plugin serves nvidia.com/GA102GL_A10"),
        Arguments.of("no plugin server for its resource yet: NotServing", Map.of(),
            KubeletRegistration.NOT_SERVING, false, null, "no device plugin serves nvidia.com/GA102GL_A10 yet"));
  }

  /** Advertised means registered with the kubelet, not only served on a socket (issue 9, fix 6). */
  @ParameterizedTest(name = "{0}")
  @MethodSource("kubeletStates")
  void advertisedOnlyWhenThePluginServingTheDeviceIsRegistered(String name,
      Map<ResourceName, Registration> kubelet, KubeletRegistration expected, boolean advertised,
      String registeredSince, String message) {
    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(pass(verified(GPU, "a")), Map.of(), kubelet);

    DeviceStatus d = s.getDevices().get(0);
    assertThat(d.getKubelet()).isEqualTo(expected);
    assertThat(d.getAdvertised()).isEqualTo(advertised);
    assertThat(d.getReason()).isEqualTo(advertised ? null : Reason.NOT_REGISTERED);
    assertThat(d.getRegisteredSince()).isEqualTo(registeredSince);
    assertThat(d.getMessage()).contains(message);
    assertThat(d.getHealth()).isEqualTo(DeviceHealth.HEALTHY);
    assertThat(s.getKubelet()).isEqualTo(expected);
    assertThat(s.getDevicesReady()).isEqualTo(advertised ? 1 : 0);
    assertThat(condition(s, "Ready").getReason()).isEqualTo(advertised ? "AllDevicesAdvertised" : "NotRegistered");
  }

  @Test
  void nodeKubeletSummaryIsTheWorstOfTheServedDevices() {
    ResourceName other = ResourceName.parse("example.com/big");
    DeviceReport second = new DeviceReport(PciAddress.parse("0000:02:00.0"),
        Optional.of(Claims.gpu("0000:02:00.0", 0x10de, 0x2236, 0x030200, 2)), List.of(), Optional.empty(), "b",
        Optional.of(other), List.of(), true, Optional.empty(), "verified");
    Map<ResourceName, Registration> mixed = new java.util.HashMap<>(REGISTERED);
    mixed.put(other, new Registration(other, Path.of("/plugins/gpupt-big.sock"), State.WAITING_FOR_KUBELET, true,
        "kubelet answered UNAVAILABLE", Optional.empty(), true));

    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(pass(verified(GPU, "a"), second,
        blocked("0000:03:00.0", "a", Reason.NO_IOMMU, "no group")), Map.of(), mixed);

    assertThat(s.getDevices()).extracting(DeviceStatus::getKubelet).containsExactly(
        KubeletRegistration.REGISTERED, KubeletRegistration.SERVING, KubeletRegistration.NOT_SERVING);
    assertThat(s.getKubelet()).isEqualTo(KubeletRegistration.SERVING);
    assertThat(s.getDevicesReady()).isEqualTo(1);
  }

  /**
   * A GPU whose restore waits for the pod holding it stays listed to the kubelet, Unhealthy, under
   * its name: its plugin is still registered (node capacity keeps it), so neither it nor the node
   * reads NotServing (seen in the cluster e2e: KUBELET NotServing while the kubelet had the device).
   */
  @Test
  void restoreWaitingDeviceStillListedReportsItsPluginsRegistration() {
    DeviceReport waiting = blocked(GPU, "a", Reason.DEVICE_IN_USE,
        "restore requested: waiting for pod default/vm to release " + GPU);

    GpuPassthroughNodeStatus listed = NodeStatusBuilder.build(pass(waiting), Map.of(GPU, "held"), REGISTERED,
        Map.of(GPU, A10));

    DeviceStatus d = listed.getDevices().get(0);
    assertThat(d.getKubelet()).isEqualTo(KubeletRegistration.REGISTERED);
    assertThat(d.getRegisteredSince()).isEqualTo("2025-01-02T03:04:05Z");
    assertThat(d.getResourceName()).isEqualTo(A10.toString());
    assertThat(d.getHealth()).isEqualTo(DeviceHealth.UNHEALTHY);
    assertThat(d.getAdvertised()).isFalse();
    assertThat(d.getReason()).isEqualTo(Reason.DEVICE_IN_USE);
    assertThat(listed.getKubelet()).isEqualTo(KubeletRegistration.REGISTERED);
    assertThat(listed.getDevicesReady()).isZero();

    // A claim that lost the device to another claim is not what is listed under that address.
    DeviceStatus lost = NodeStatusBuilder.build(pass(verified(GPU, "a"),
        blocked(GPU, "b", Reason.CLAIM_CONFLICT, "also selected by a")), Map.of(), REGISTERED, Map.of(GPU, A10))
        .getDevices().get(1);
    assertThat(lost.getKubelet()).isEqualTo(KubeletRegistration.NOT_SERVING);
    assertThat(lost.getResourceName()).isNull();

    // Withdrawn (not published any more): nothing serves it.
    DeviceStatus gone = NodeStatusBuilder.build(pass(waiting), Map.of(), REGISTERED, Map.of()).getDevices().get(0);
    assertThat(gone.getKubelet()).isEqualTo(KubeletRegistration.NOT_SERVING);
    assertThat(gone.getHealth()).isEqualTo(DeviceHealth.UNKNOWN);
    assertThat(gone.getResourceName()).isNull();
  }

  @Test
  void verifiedDeviceCarriesHostFactsAndConflictActions() {
    DeviceStatus d = NodeStatusBuilder.build(pass(verified(GPU, "a")), Map.of(), REGISTERED).getDevices().get(0);

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

    assertThat(NodeStatusBuilder.build(p, Map.of(), REGISTERED))
        .usingRecursiveComparison().isEqualTo(NodeStatusBuilder.build(p, Map.of(), REGISTERED));
  }

  @Test
  void invalidClaimsAndRestoresAreReported() {
    PassResult p = new PassResult(3, List.of(),
        List.of(new RestoreReport("gone", true, List.of(GPU), "back on the original drivers: " + GPU)),
        List.of(new ClaimMatch.InvalidClaim(0, Optional.of("bad"), "spec.claims[0] (owner bad).selector is missing")),
        Optional.empty());

    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(p, Map.of(), REGISTERED);

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
    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(pass(), Map.of(), Map.of());

    assertThat(s.getDevicesTotal()).isZero();
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("True");
    assertThat(condition(s, "Ready").getReason()).isEqualTo("NothingClaimed");
  }

  private static Condition condition(GpuPassthroughNodeStatus s, String type) {
    return s.getConditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
  }
}
