package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.ApiCluster.device;
import static io.gpupassthrough.operator.ApiCluster.gpt;
import static io.gpupassthrough.operator.ApiCluster.vendors;
import static io.gpupassthrough.operator.GpuPassthroughOperatorIT.condition;
import static io.gpupassthrough.operator.GpuPassthroughOperatorIT.conditionStatus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.operator.kubevirt.KubeVirtPermissions;
import io.gpupassthrough.operator.kubevirt.KubeVirtWatch;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * KubeVirt's CR on a real API server with KubeVirt's own CRD: the operator adds and removes only
 * its own pciHostDevices entries, reports KubeVirt's absence as its own condition while the rest of
 * the status stays true, and picks KubeVirt up when it is installed later, without a restart.
 */
class KubeVirtPermissionsIT {
  static final Map<String, Object> FOREIGN =
      Map.of("pciVendorSelector", "8086:56C0", "resourceName", "intel.com/flex", "externalResourceProvider", true);
  static final String RN = "nvidia.com/GA102GL_A10";
  static final Map<String, Object> A10 =
      Map.of("pciVendorSelector", "10DE:2236", "resourceName", RN, "externalResourceProvider", true);
  static ApiCluster cluster;

  @BeforeAll
  static void startServer() {
    cluster = ApiCluster.start();
  }

  @AfterAll
  static void stopServer() {
    cluster.close();
  }

  @BeforeEach
  void startOperator() {
    cluster.startOperator(Duration.ofMinutes(5));
  }

  @AfterEach
  void reset() {
    cluster.reset();
  }

  /** The admin's KubeVirt CR with a host device of their own, as KubeVirt's docs configure one. */
  static Map<String, Object> specWithForeignEntry() {
    return Map.of("imagePullPolicy", "IfNotPresent", "configuration", Map.of(
        "developerConfiguration", Map.of("featureGates", List.of("HostDevices")),
        "permittedHostDevices", Map.of("pciHostDevices", List.of(FOREIGN))));
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> entries(GenericKubernetesResource kv) {
    Map<String, Object> spec = (Map<String, Object>) kv.getAdditionalProperties().get("spec");
    Map<String, Object> conf = (Map<String, Object>) spec.get("configuration");
    Map<String, Object> phd = (Map<String, Object>) conf.get("permittedHostDevices");
    return phd == null ? List.of() : (List<Map<String, Object>>) phd.get("pciHostDevices");
  }

  @Test
  void withoutKubeVirtTheRestStaysTrueAndKubeVirtIsPickedUpWhenInstalled() {
    cluster.node("gpu-a", Map.of());
    cluster.create(gpt("a10", Map.of(), ApiCluster.model("10de", "2236")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-a") != null);
    cluster.report("gpu-a", List.of(device("a10", "0000:01:00.0", RN, true, null)), List.of());

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      GpuPassthrough g = cluster.get("a10");
      assertThat(conditionStatus(g, "Ready")).isEqualTo("True");
      assertThat(g.getStatus().getNodesReady()).isEqualTo(1);
      assertThat(g.getStatus().getDevicesAdvertised()).isEqualTo(1);
      assertThat(condition(g, "KubeVirtPermitted")).hasValueSatisfying(c -> {
        assertThat(c.getStatus()).isEqualTo("False");
        assertThat(c.getReason()).isEqualTo("KubeVirtNotInstalled");
        assertThat(c.getMessage()).contains("install KubeVirt", "spec.kubevirt.permit: false");
      });
    });
    assertThat(cluster.events("a10")).anySatisfy(e -> {
      assertThat(e.getType()).isEqualTo("Warning");
      assertThat(e.getReason()).isEqualTo("KubeVirtNotInstalled");
    });

    // KubeVirt's operator manifest installs the CRD first; the CR follows later.
    cluster.installKubeVirtCrd();
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(condition(cluster.get("a10"),
        "KubeVirtPermitted")).hasValueSatisfying(c -> {
          assertThat(c.getReason()).isEqualTo("KubeVirtNotFound");
          assertThat(c.getMessage()).contains("namespace kubevirt", "GPUPT_KUBEVIRT_NAMESPACE");
        }));
    assertThat(conditionStatus(cluster.get("a10"), "Ready")).isEqualTo("True");

    cluster.createKubeVirt("kubevirt", specWithForeignEntry());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(entries(cluster.kubeVirt())).containsExactly(FOREIGN, A10);
      assertThat(condition(cluster.get("a10"), "KubeVirtPermitted")).hasValueSatisfying(c -> {
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo("PermittedInKubeVirt");
        assertThat(c.getMessage()).contains("kubevirt/kubevirt");
      });
    });
    assertThat(cluster.leaseLost).hasValue(0);
  }

  @Test
  void mergesOwnEntriesFromSpecAndNodeReportsAndRemovesOnlyThemOnDelete() {
    cluster.installKubeVirtCrd();
    cluster.createKubeVirt("kubevirt", specWithForeignEntry());
    cluster.node("gpu-a", Map.of());
    GpuPassthrough explicit = gpt("a10", Map.of(), ApiCluster.model("10de", "2236"));
    explicit.getSpec().setResourceName("example.com/a10");
    cluster.create(explicit);
    GpuPassthrough derived = gpt("l4", Map.of(), ApiCluster.model("10de", "27b8"));
    derived.getSpec().setRestoreOnDelete(false);
    cluster.create(derived);
    Map<String, Object> explicitEntry =
        Map.of("pciVendorSelector", "10DE:2236", "resourceName", "example.com/a10", "externalResourceProvider", true);

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(entries(cluster.kubeVirt()))
        .containsExactly(FOREIGN, explicitEntry));

    // The default name is derived on the node; the operator learns it from the node's report.
    var l4 = device("l4", "0000:02:00.0", "nvidia.com/AD104GL_L4", true, null);
    l4.setDevice("27b8");
    cluster.report("gpu-a", List.of(l4), List.of());
    Map<String, Object> reportedEntry = Map.of("pciVendorSelector", "10DE:27B8", "resourceName",
        "nvidia.com/AD104GL_L4", "externalResourceProvider", true);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(entries(cluster.kubeVirt()))
        .containsExactlyInAnyOrder(FOREIGN, explicitEntry, reportedEntry));

    cluster.delete("l4");
    cluster.delete("a10");
    // Nothing to restore: the node reported no device of a10's, so its finalizer goes at once.
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(cluster.get("l4")).isNull();
      assertThat(cluster.get("a10")).isNull();
      GenericKubernetesResource kv = cluster.kubeVirt();
      assertThat(entries(kv)).containsExactly(FOREIGN);
      assertThat(kv.getMetadata().getAnnotations()).containsEntry(KubeVirtPermissions.OWNED_ANNOTATION, "[]");
    });
  }

  /** The CR is watched: an admin's edit that drops our entry is repaired within a pass, not after minutes. */
  @Test
  void anEditThatDropsOurEntryIsRepairedAtOnce() {
    cluster.installKubeVirtCrd();
    cluster.createKubeVirt("kubevirt", specWithForeignEntry());
    cluster.node("gpu-a", Map.of());
    GpuPassthrough explicit = gpt("a10", Map.of(), ApiCluster.model("10de", "2236"));
    explicit.getSpec().setResourceName(RN);
    cluster.create(explicit);
    await().atMost(Duration.ofSeconds(30)).until(() -> entries(cluster.kubeVirt()).contains(A10));

    cluster.admin.genericKubernetesResources(KubeVirtWatch.KIND.apiVersion(), KubeVirtWatch.KIND.getKind())
        .inNamespace(ApiCluster.KUBEVIRT_NAMESPACE).withName("kubevirt").edit(kv -> {
          entries(kv).clear();
          return kv;
        });
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(entries(cluster.kubeVirt()))
        .containsExactly(A10));
  }

  @Test
  void optingOutIsItsOwnReasonAndWritesNothing() {
    cluster.installKubeVirtCrd();
    cluster.createKubeVirt("kubevirt", specWithForeignEntry());
    GpuPassthrough g = gpt("a10", Map.of(), ApiCluster.model("10de", "2236"));
    g.getSpec().setResourceName(RN);
    g.getSpec().getKubevirt().setPermit(false);
    cluster.create(g);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(condition(cluster.get("a10"),
        "KubeVirtPermitted")).hasValueSatisfying(c -> {
          assertThat(c.getStatus()).isEqualTo("False");
          assertThat(c.getReason()).isEqualTo("PermitDisabled");
        }));
    assertThat(entries(cluster.kubeVirt())).containsExactly(FOREIGN);
  }

  @Test
  void unexpectedFailureShowsAsNotReadyWithTheError() {
    cluster.installKubeVirtCrd();
    cluster.createKubeVirt("kubevirt", Map.of());
    cluster.createKubeVirt("kubevirt-copy", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(condition(cluster.get("a10"), "Ready")).hasValueSatisfying(c -> {
          assertThat(c.getStatus()).isEqualTo("False");
          assertThat(c.getReason()).isEqualTo("ReconcileError");
          assertThat(c.getMessage()).contains("found 2 KubeVirt resources in namespace kubevirt");
        }));
  }
}
