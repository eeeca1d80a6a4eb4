package io.gpupassthrough.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughStatus;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.operator.plan.InvalidSpecException;
import io.gpupassthrough.operator.kubevirt.KubeVirtPermissions.State;
import io.gpupassthrough.operator.plan.NodeConflict;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StatusAggregatorTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final KubeVirtStanding KV = new KubeVirtStanding(true, State.PERMITTED, "kubevirt/kubevirt");

  static DeviceStatus dev(String address, boolean advertised, Reason reason) {
    DeviceStatus d = new DeviceStatus();
    d.setAddress(address);
    d.setAdvertised(advertised);
    d.setReason(reason);
    return d;
  }

  static NodeReport ready(String node, int gpus) {
    return new NodeReport(node, true, true,
        Stream.iterate(1, i -> i + 1).limit(gpus).map(i -> dev("0000:0" + i + ":00.0", true, null)).toList());
  }

  static Map<String, String> summary(GpuPassthroughStatus s) {
    return s.getConditions().stream()
        .collect(Collectors.toMap(Condition::getType, c -> c.getStatus() + "/" + c.getReason()));
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("no node matches", List.of(), List.of(),
            Map.of("Ready", "False/NoMatchingNodes", "Progressing", "False/AllNodesSynced",
                "Degraded", "False/NoBlockedDevices", "Conflict", "False/NoConflict"), new int[] {0, 0, 0, 0}),
        Arguments.of("a node has not reported yet",
            List.of(ready("a", 2), new NodeReport("b", true, false, List.of())), List.of(),
            Map.of("Ready", "False/NodesSyncing", "Progressing", "True/NodesSyncing",
                "Degraded", "False/NoBlockedDevices", "Conflict", "False/NoConflict"), new int[] {2, 1, 2, 0}),
        Arguments.of("every device advertised", List.of(ready("a", 2), ready("b", 8)), List.of(),
            Map.of("Ready", "True/AllDevicesAdvertised", "Progressing", "False/AllNodesSynced",
                "Degraded", "False/NoBlockedDevices", "Conflict", "False/NoConflict"), new int[] {2, 2, 10, 0}),
        Arguments.of("one blocked reason becomes the condition reason",
            List.of(ready("a", 1), new NodeReport("b", true, true, List.of(dev("0000:01:00.0", false, Reason.NO_IOMMU)))),
            List.of(),
            Map.of("Ready", "False/NoIommu", "Progressing", "False/AllNodesSynced",
                "Degraded", "True/NoIommu", "Conflict", "False/NoConflict"), new int[] {2, 1, 1, 1}),
        // advertised means registered with the kubelet: a device only served on a socket is not counted
        Arguments.of("a node whose kubelet has not registered the plugin",
            List.of(ready("a", 1), new NodeReport("b", true, true, List.of(dev("0000:01:00.0", false, Reason.NOT_REGISTERED)))),
            List.of(),
            Map.of("Ready", "False/NotRegistered", "Progressing", "False/AllNodesSynced",
                "Degraded", "True/NotRegistered", "Conflict", "False/NoConflict"), new int[] {2, 1, 1, 1}),
        Arguments.of("mixed blocked reasons",
            List.of(new NodeReport("b", true, true, List.of(dev("0000:01:00.0", false, Reason.NO_IOMMU),
                dev("0000:02:00.0", false, Reason.CONSOLE_CONFLICT)))),
            List.of(),
            Map.of("Ready", "False/DevicesBlocked", "Progressing", "False/AllNodesSynced",
                "Degraded", "True/DevicesBlocked", "Conflict", "False/NoConflict"), new int[] {1, 0, 0, 2}),
        Arguments.of("matched nodes without matching devices", List.of(new NodeReport("a", true, true, List.of())),
            List.of(),
            Map.of("Ready", "False/NoMatchingDevices", "Progressing", "False/AllNodesSynced",
                "Degraded", "False/NoBlockedDevices", "Conflict", "False/NoConflict"), new int[] {1, 1, 0, 0}),
        Arguments.of("older resource wins on a node",
            List.of(ready("a", 1), new NodeReport("b", false, false, List.of())),
            List.of(new NodeConflict("b", "older")),
            Map.of("Ready", "False/ClaimConflict", "Progressing", "False/AllNodesSynced",
                "Degraded", "False/NoBlockedDevices", "Conflict", "True/ClaimConflict"), new int[] {2, 1, 1, 0}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void conditionsAndCountsFollowTheNodeReports(
      String name, List<NodeReport> reports, List<NodeConflict> conflicts, Map<String, String> expected, int[] counts) {
    GpuPassthroughStatus s = StatusAggregator.aggregate(3, null, Optional.empty(), reports, conflicts, KV, T0);
    Map<String, String> withKubeVirt = new java.util.HashMap<>(expected);
    withKubeVirt.put("KubeVirtPermitted", "True/PermittedInKubeVirt");
    assertThat(summary(s)).isEqualTo(withKubeVirt);
    assertThat(new int[] {s.getNodesMatched(), s.getNodesReady(), s.getDevicesAdvertised(), s.getDevicesBlocked()})
        .isEqualTo(counts);
    assertThat(s.getObservedGeneration()).isEqualTo(3);
    assertThat(s.getConditions()).allSatisfy(c -> assertThat(c.getObservedGeneration()).isEqualTo(3));
  }

  @Test
  void invalidSpecIsDegradedAndNotReady() {
    GpuPassthroughStatus s = StatusAggregator.aggregate(1, null,
        Optional.of(new InvalidSpecException(List.of("spec.devices: give addresses, vendorIds or classes"))),
        List.of(ready("a", 1)), List.of(), KV, T0);
    assertThat(summary(s)).containsEntry("Ready", "False/InvalidSpec").containsEntry("Degraded", "True/InvalidSpec");
    assertThat(s.getConditions().get(0).getMessage()).contains("spec.devices: give addresses, vendorIds or classes");
    assertThat(s.getDevicesAdvertised()).isZero();
  }

  @Test
  void sameInputsGiveAnEqualStatusSoNothingIsWritten() {
    List<NodeReport> reports = List.of(ready("a", 2), new NodeReport("b", true, false, List.of()));
    GpuPassthroughStatus first = StatusAggregator.aggregate(1, null, Optional.empty(), reports, List.of(), KV, T0);
    GpuPassthroughStatus again =
        StatusAggregator.aggregate(1, first, Optional.empty(), reports, List.of(), KV, T0.plusSeconds(60));
    assertThat(again).isEqualTo(first);
  }

  @Test
  void transitionTimeMovesOnlyWhenAConditionFlips() {
    GpuPassthroughStatus syncing = StatusAggregator.aggregate(1, null, Optional.empty(),
        List.of(new NodeReport("a", true, false, List.of())), List.of(), KV, T0);
    GpuPassthroughStatus ready = StatusAggregator.aggregate(1, syncing, Optional.empty(),
        List.of(ready("a", 1)), List.of(), KV, T0.plusSeconds(30));
    Map<String, String> times = ready.getConditions().stream()
        .collect(Collectors.toMap(Condition::getType, Condition::getLastTransitionTime));
    assertThat(times).containsEntry("Ready", "2026-01-01T00:00:30Z").containsEntry("Progressing", "2026-01-01T00:00:30Z")
        .containsEntry("Degraded", "2026-01-01T00:00:00Z").containsEntry("Conflict", "2026-01-01T00:00:00Z");
  }

  @Test
  void longNodeListsAreCutSoMessagesStayShortAndStable() {
    List<NodeReport> reports = Stream.of("n5", "n1", "n4", "n2", "n3")
        .map(n -> new NodeReport(n, true, false, List.of())).toList();
    GpuPassthroughStatus s = StatusAggregator.aggregate(1, null, Optional.empty(), reports, List.of(), KV, T0);
    assertThat(s.getConditions()).filteredOn(c -> c.getType().equals("Progressing")).singleElement()
        .extracting(Condition::getMessage).asString().endsWith("n1, n2, n3 and 2 more");
  }

  @Test
  void deletionWaitingForAHolderSaysWhoKeepsWhichDevice() {
    GpuPassthroughStatus s = StatusAggregator.restoring(4, null, List.of("gpu-node-1"),
        List.of("gpu-node-1: waiting for pod default/virt-launcher-vm1-x to release 0000:41:00.0 (pod"
            + " default/virt-launcher-vm1-x (container compute)); it stays on vfio-pci until then"), T0);

    assertThat(summary(s)).containsEntry("Progressing", "True/Restoring").containsEntry("Ready", "False/Restoring");
    assertThat(s.getConditions()).filteredOn(c -> c.getType().equals("Progressing")).singleElement()
        .extracting(Condition::getMessage).asString()
        .contains("waiting for pod default/virt-launcher-vm1-x to release 0000:41:00.0", "gpu-node-1");
  }

  @Test
  void deletionWithoutHoldersStillCountsTheNodesThatHaveNotAnswered() {
    GpuPassthroughStatus s = StatusAggregator.restoring(4, null, List.of("a", "b"), T0);
    assertThat(s.getConditions()).filteredOn(c -> c.getType().equals("Progressing")).singleElement()
        .extracting(Condition::getMessage).asString().isEqualTo("deleting: waiting for 2 nodes to give the devices back: a, b");
  }

  static Stream<Arguments> kubevirtCases() {
    return Stream.of(
        Arguments.of("permitted", true, State.PERMITTED, "kubevirt/kubevirt", "True/PermittedInKubeVirt", "kubevirt/kubevirt"),
        Arguments.of("KubeVirt not installed", true, State.NOT_INSTALLED, "kubevirts.kubevirt.io",
            "False/KubeVirtNotInstalled", "install KubeVirt"),
        Arguments.of("no KubeVirt CR in the namespace", true, State.NO_RESOURCE, "kubevirt",
            "False/KubeVirtNotFound", "GPUPT_KUBEVIRT_NAMESPACE"),
        Arguments.of("opted out, whatever KubeVirt's state", false, State.NOT_INSTALLED, "kubevirts.kubevirt.io",
            "False/PermitDisabled", "spec.kubevirt.permit is false"));
  }

  /** KubeVirt's state is its own condition; Ready, the other conditions and the counts do not move with it. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("kubevirtCases")
  void kubevirtIsItsOwnConditionAndLeavesTheRestAlone(
      String name, boolean requested, State state, String where, String expected, String messagePart) {
    List<NodeReport> reports = List.of(ready("a", 2));
    GpuPassthroughStatus s = StatusAggregator.aggregate(1, null, Optional.empty(), reports, List.of(),
        new KubeVirtStanding(requested, state, where), T0);
    GpuPassthroughStatus permitted = StatusAggregator.aggregate(1, null, Optional.empty(), reports, List.of(), KV, T0);
    assertThat(summary(s)).containsEntry("KubeVirtPermitted", expected);
    assertThat(s.getConditions()).filteredOn(c -> c.getType().equals("KubeVirtPermitted")).singleElement()
        .extracting(Condition::getMessage).asString().contains(messagePart);
    Map<String, String> rest = summary(s);
    rest.remove("KubeVirtPermitted");
    Map<String, String> restPermitted = summary(permitted);
    restPermitted.remove("KubeVirtPermitted");
    assertThat(rest).isEqualTo(restPermitted).containsEntry("Ready", "True/AllDevicesAdvertised");
    assertThat(new int[] {s.getNodesMatched(), s.getNodesReady(), s.getDevicesAdvertised(), s.getDevicesBlocked()})
        .containsExactly(1, 1, 2, 0);
  }
}
