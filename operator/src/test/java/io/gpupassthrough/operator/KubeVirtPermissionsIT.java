package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.MockCluster.device;
import static io.gpupassthrough.operator.MockCluster.gpt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The KubeVirt CR's pciHostDevices: ours are added and removed, everyone else's are left alone. */
class KubeVirtPermissionsIT {
  private static final Map<String, Object> FOREIGN =
      Map.of("pciVendorSelector", "8086:56C0", "resourceName", "intel.com/flex", "externalResourceProvider", true);
  private MockCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = new MockCluster();
    GenericKubernetesResource kv = new GenericKubernetesResourceBuilder()
        .withApiVersion("kubevirt.io/v1").withKind("KubeVirt")
        .withNewMetadata().withName("kubevirt").withNamespace("kubevirt").endMetadata()
        .withAdditionalProperties(Map.of("spec", Map.of("configuration", Map.of("permittedHostDevices",
            Map.of("pciHostDevices", List.of(FOREIGN))))))
        .build();
    cluster.client.genericKubernetesResources("kubevirt.io/v1", "KubeVirt").inNamespace("kubevirt").resource(kv).create();
    cluster.start(Duration.ofMinutes(5));
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> entries(GenericKubernetesResource kv) {
    Map<String, Object> spec = (Map<String, Object>) kv.getAdditionalProperties().get("spec");
    Map<String, Object> conf = (Map<String, Object>) spec.get("configuration");
    Map<String, Object> phd = (Map<String, Object>) conf.get("permittedHostDevices");
    return (List<Map<String, Object>>) phd.get("pciHostDevices");
  }

  @Test
  void mergesOwnEntriesFromSpecAndNodeReportsAndRemovesOnlyThemOnDelete() {
    cluster.node("gpu-a", Map.of());
    GpuPassthrough explicit = gpt("a10", Map.of(), MockCluster.model("10de", "2236"));
    explicit.getSpec().setResourceName("example.com/a10");
    cluster.create(explicit);
    GpuPassthrough derived = gpt("l4", Map.of(), MockCluster.model("10de", "27b8"));
    derived.getSpec().setRestoreOnDelete(false);
    cluster.create(derived);

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(entries(cluster.kubeVirt()))
        .contains(FOREIGN, Map.of("pciVendorSelector", "10DE:2236", "resourceName", "example.com/a10",
            "externalResourceProvider", true)));

    // The default name is derived on the node; the operator learns it from the node's report.
    var l4 = device("l4", "0000:02:00.0", "nvidia.com/AD104GL_L4", true, null);
    l4.setDevice("27b8");
    cluster.report("gpu-a", List.of(l4), List.of());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(entries(cluster.kubeVirt()))
        .containsExactlyInAnyOrder(FOREIGN,
            Map.of("pciVendorSelector", "10DE:2236", "resourceName", "example.com/a10", "externalResourceProvider", true),
            Map.of("pciVendorSelector", "10DE:27B8", "resourceName", "nvidia.com/AD104GL_L4",
                "externalResourceProvider", true)));

    cluster.client.resources(GpuPassthrough.class).withName("l4").delete();
    cluster.client.resources(GpuPassthrough.class).withName("a10").delete();
    // a10 restores on delete; answer for the node as its agent would.
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.get("l4") == null);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      if (cluster.get("a10") != null && cluster.state("gpu-a") != null) {
        var done = new io.gpupassthrough.api.v1alpha1.RestoreResult();
        done.setOwner("a10");
        done.setState(io.gpupassthrough.api.v1alpha1.RestoreResult.State.DONE);
        cluster.report("gpu-a", List.of(), List.of(done));
      }
      assertThat(cluster.get("a10")).isNull();
    });
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      GenericKubernetesResource kv = cluster.kubeVirt();
      assertThat(entries(kv)).containsExactly(FOREIGN);
      assertThat(kv.getMetadata().getAnnotations()).containsEntry(
          io.gpupassthrough.operator.kubevirt.KubeVirtPermissions.OWNED_ANNOTATION, "[]");
    });
  }
}
