package io.gpupassthrough.operator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughSpec;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.operator.kubevirt.PermittedDevice;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ClusterPlannerTest {

  static GpuPassthrough gpt(String name, String created, Map<String, String> nodeLabels, DeviceSelector devices) {
    GpuPassthrough g = new GpuPassthrough();
    g.setMetadata(new ObjectMetaBuilder().withName(name).withCreationTimestamp(created).withGeneration(1L).build());
    GpuPassthroughSpec spec = new GpuPassthroughSpec();
    if (!nodeLabels.isEmpty()) {
      spec.setNodeSelector(new LabelSelectorBuilder().withMatchLabels(nodeLabels).build());
    }
    spec.setDevices(devices);
    g.setSpec(spec);
    return g;
  }

  static DeviceSelector sel(List<String> vendors, List<String> devices, List<String> addresses) {
    DeviceSelector s = new DeviceSelector();
    s.setVendorIds(vendors);
    s.setDeviceIds(devices);
    s.setAddresses(addresses);
    return s;
  }

  static Node node(String name, Map<String, String> labels) {
    return new NodeBuilder().withNewMetadata().withName(name).withUid("uid-" + name).withLabels(labels).endMetadata()
        .build();
  }

  static GpuPassthroughNode reported(String node, DeviceStatus... devices) {
    GpuPassthroughNode n = new GpuPassthroughNode();
    n.setMetadata(new ObjectMetaBuilder().withName(node).withGeneration(1L).build());
    GpuPassthroughNodeStatus s = new GpuPassthroughNodeStatus();
    s.setDevices(List.of(devices));
    n.setStatus(s);
    return n;
  }

  static DeviceStatus dev(String owner, String address, String vendor, String device, String resourceName) {
    DeviceStatus d = new DeviceStatus();
    d.setOwner(owner);
    d.setAddress(address);
    d.setVendor(vendor);
    d.setDevice(device);
    d.setResourceName(resourceName);
    d.setAdvertised(true);
    return d;
  }

  static final String T1 = "2026-01-01T00:00:00Z";
  static final String T2 = "2026-01-01T00:00:05Z";

  static Stream<Arguments> overlaps() {
    DeviceSelector nvidia = sel(List.of("10de"), null, null);
    DeviceSelector a10 = sel(List.of("10de"), List.of("2236"), null);
    DeviceSelector l4 = sel(List.of("10de"), List.of("27b8"), null);
    DeviceSelector amd = sel(List.of("1002"), null, null);
    DeviceSelector slot1 = sel(null, null, List.of("0000:01:00.0"));
    DeviceSelector slot2 = sel(null, null, List.of("0000:02:00.0"));
    return Stream.of(
        Arguments.of("vendor contains model", nvidia, a10, List.of(), true),
        Arguments.of("two models of one vendor", a10, l4, List.of(), false),
        Arguments.of("two vendors", nvidia, amd, List.of(), false),
        Arguments.of("same address", slot1, sel(null, null, List.of("0000:03:00.0", "0000:01:00.0")), List.of(), true),
        Arguments.of("different addresses", slot1, slot2, List.of(), false),
        Arguments.of("address of a reported A10 against the A10 model", a10, slot1,
            List.of(dev("x", "0000:01:00.0", "10de", "2236", null)), true),
        Arguments.of("address of a reported L4 against the A10 model", a10, slot1,
            List.of(dev("x", "0000:01:00.0", "10de", "27b8", null)), false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("overlaps")
  void laterResourceConflictsOnlyWhenSelectorsCanPickTheSameDevice(
      String name, DeviceSelector older, DeviceSelector later, List<DeviceStatus> reported, boolean conflict) {
    GpuPassthroughNode state = reported("n1", reported.toArray(DeviceStatus[]::new));
    ClusterPlan plan = ClusterPlanner.plan(new ClusterView(
        List.of(gpt("later", T2, Map.of(), later), gpt("older", T1, Map.of(), older)),
        List.of(node("n1", Map.of())), Map.of("n1", state)), Set.of());
    if (conflict) {
      assertThat(plan.conflicts("later")).containsExactly(new NodeConflict("n1", "older"));
      assertThat(plan.nodeSpecs().get("n1").getClaims()).extracting(DeviceClaim::getOwner).containsExactly("older");
    } else {
      assertThat(plan.conflicts("later")).isEmpty();
      assertThat(plan.nodeSpecs().get("n1").getClaims()).extracting(DeviceClaim::getOwner)
          .containsExactly("older", "later");
    }
    assertThat(plan.conflicts("older")).isEmpty();
  }

  @Test
  void sameCreationTimeFallsBackToNameOrder() {
    DeviceSelector nvidia = sel(List.of("10de"), null, null);
    ClusterPlan plan = ClusterPlanner.plan(new ClusterView(
        List.of(gpt("b", T1, Map.of(), nvidia), gpt("a", T1, Map.of(), nvidia)),
        List.of(node("n1", Map.of())), Map.of()), Set.of());
    assertThat(plan.conflicts("b")).containsExactly(new NodeConflict("n1", "a"));
  }

  @Test
  void nodesOutsideEverySelectorGetNoStateAndTheAgentFollowsTheUnionOfSelectors() {
    ClusterPlan plan = ClusterPlanner.plan(new ClusterView(
        List.of(gpt("a", T1, Map.of("pool", "a10"), sel(List.of("10de"), null, null)),
            gpt("b", T2, Map.of("pool", "l4"), sel(List.of("1002"), null, null))),
        List.of(node("n1", Map.of("pool", "a10")), node("n2", Map.of("pool", "l4")), node("n3", Map.of())),
        Map.of()), Set.of());
    assertThat(plan.nodeSpecs()).containsOnlyKeys("n1", "n2");
    assertThat(plan.matchedNodes("a")).containsExactly("n1");
    assertThat(plan.agentPlacement()).hasValueSatisfying(terms -> assertThat(terms).hasSize(2));
  }

  @Test
  void anEmptySelectorPlacesTheAgentOnEveryNodeAndNoResourceRemovesIt() {
    ClusterPlan all = ClusterPlanner.plan(new ClusterView(
        List.of(gpt("a", T1, Map.of("pool", "a10"), sel(List.of("10de"), null, null)),
            gpt("b", T2, Map.of(), sel(List.of("1002"), null, null))),
        List.of(), Map.of()), Set.of());
    assertThat(all.agentPlacement()).contains(List.of());
    ClusterPlan none = ClusterPlanner.plan(new ClusterView(List.of(), List.of(node("n1", Map.of())), Map.of()), Set.of());
    assertThat(none.agentPlacement()).isEmpty();
    assertThat(none.nodeSpecs()).isEmpty();
  }

  @Test
  void deletedResourceAsksForARestoreThatStaysUntilFinished() {
    GpuPassthrough deleting = gpt("a", T1, Map.of(), sel(List.of("10de"), null, null));
    deleting.getMetadata().setDeletionTimestamp(T2);
    ClusterView reporting = new ClusterView(List.of(deleting), List.of(node("n1", Map.of())),
        Map.of("n1", reported("n1", dev("a", "0000:02:00.0", "10de", "2236", "nvidia.com/A10"),
            dev("a", "0000:01:00.0", "10de", "2236", "nvidia.com/A10"))));
    ClusterPlan plan = ClusterPlanner.plan(reporting, Set.of());
    GpuPassthroughNodeSpec spec = plan.nodeSpecs().get("n1");
    assertThat(spec.getClaims()).isEmpty();
    assertThat(spec.getRestore()).singleElement().satisfies(r -> {
      assertThat(r.getOwner()).isEqualTo("a");
      assertThat(r.getAddresses()).containsExactly("0000:01:00.0", "0000:02:00.0");
    });
    assertThat(plan.permitted()).as("deleted resources are not permitted in KubeVirt").isEmpty();
    assertThat(plan.agentPlacement()).as("the agent stays to do the restore").isPresent();

    // After the restore the agent reports no devices; the request must not vanish with them.
    GpuPassthroughNode restored = reported("n1");
    restored.setSpec(spec);
    ClusterPlan after = ClusterPlanner.plan(
        new ClusterView(List.of(deleting), List.of(node("n1", Map.of())), Map.of("n1", restored)), Set.of());
    assertThat(after.nodeSpecs().get("n1").getRestore()).extracting(RestoreRequest::getOwner).containsExactly("a");

    ClusterPlan finished = ClusterPlanner.plan(
        new ClusterView(List.of(deleting), List.of(node("n1", Map.of())), Map.of("n1", restored)), Set.of("a"));
    assertThat(finished.nodeSpecs()).isEmpty();
    assertThat(finished.agentPlacement()).isEmpty();
  }

  @Test
  void kubevirtEntriesComeFromExplicitNamesAndFromWhatNodesReport() {
    GpuPassthrough explicit = gpt("a", T1, Map.of(), sel(List.of("10de"), List.of("2236", "2237"), null));
    explicit.getSpec().setResourceName("example.com/a10");
    GpuPassthrough derived = gpt("b", T2, Map.of(), sel(List.of("1002"), null, null));
    GpuPassthrough notPermitted = gpt("c", T2, Map.of(), sel(null, null, List.of("0000:09:00.0")));
    notPermitted.getSpec().getKubevirt().setPermit(false);
    ClusterPlan plan = ClusterPlanner.plan(new ClusterView(List.of(explicit, derived, notPermitted),
        List.of(node("n1", Map.of())),
        Map.of("n1", reported("n1", dev("b", "0000:03:00.0", "1002", "74a1", "amd.com/MI300X"),
            dev("c", "0000:09:00.0", "10de", "27b8", "nvidia.com/L4")))), Set.of());
    assertThat(plan.permitted()).containsExactlyInAnyOrder(
        new PermittedDevice("10DE:2236", "example.com/a10"),
        new PermittedDevice("10DE:2237", "example.com/a10"),
        new PermittedDevice("1002:74A1", "amd.com/MI300X"));
  }

  @Test
  void invalidResourcesAreReportedAndNotApplied() {
    ClusterPlan plan = ClusterPlanner.plan(new ClusterView(
        List.of(gpt("bad", T1, Map.of(), sel(null, List.of("2236"), null))),
        List.of(node("n1", Map.of())), Map.of()), Set.of());
    assertThat(plan.invalid()).containsKey("bad");
    assertThat(plan.invalid().get("bad").problems())
        .contains("spec.devices: deviceIds requires vendorIds (device IDs are only unique per vendor)");
    assertThat(plan.nodeSpecs()).isEmpty();
  }

  /**
   * A resource name every kubelet refuses is an invalid spec, decided before overlaps: neither the
   * invalid resource nor a valid one selecting the same devices is ever told ClaimConflict.
   */
  @ParameterizedTest(name = "invalid one is the {0}")
  @MethodSource("olderOrLater")
  void nativeResourceNameIsInvalidSpecAheadOfConflicts(String which, String invalidCreated, String validCreated) {
    GpuPassthrough invalid = gpt("native", invalidCreated, Map.of(), sel(List.of("10de"), null, null));
    invalid.getSpec().setResourceName("kubernetes.io/gpu");
    GpuPassthrough valid = gpt("a10", validCreated, Map.of(), sel(List.of("10de"), List.of("2236"), null));
    ClusterPlan plan = ClusterPlanner.plan(new ClusterView(List.of(invalid, valid), List.of(node("n1", Map.of())),
        Map.of()), Set.of());
    assertThat(plan.invalid()).containsOnlyKeys("native");
    assertThat(plan.invalid().get("native").getMessage()).contains("kubernetes.io domain is reserved");
    assertThat(plan.conflicts("native")).isEmpty();
    assertThat(plan.conflicts("a10")).isEmpty();
    assertThat(plan.nodeSpecs().get("n1").getClaims()).extracting(DeviceClaim::getOwner).containsExactly("a10");
  }

  static Stream<Arguments> olderOrLater() {
    return Stream.of(Arguments.of("older", T1, T2), Arguments.of("later", T2, T1));
  }
}
