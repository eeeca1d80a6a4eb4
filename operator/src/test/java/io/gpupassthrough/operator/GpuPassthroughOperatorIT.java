package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.MockCluster.NAMESPACE;
import static io.gpupassthrough.operator.MockCluster.device;
import static io.gpupassthrough.operator.MockCluster.gpt;
import static io.gpupassthrough.operator.MockCluster.vendors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.operator.agent.AgentManifests;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The operator against the fabric8 mock API server (CRUD mode) with the generated CRDs loaded. */
class GpuPassthroughOperatorIT {
  private MockCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = new MockCluster().start(Duration.ofMinutes(5));
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  static Optional<Condition> condition(GpuPassthrough g, String type) {
    if (g == null || g.getStatus() == null) {
      return Optional.empty();
    }
    return g.getStatus().getConditions().stream().filter(c -> c.getType().equals(type)).findFirst();
  }

  static String conditionStatus(GpuPassthrough g, String type) {
    return condition(g, type).map(Condition::getStatus).orElse(null);
  }

  @Test
  void newResourceRollsOutAgentRbacAndOneNodeStatePerMatchedNode() {
    Node a = cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.node("gpu-b", Map.of("gpu", "true"));
    cluster.node("cpu-c", Map.of());
    cluster.create(gpt("a10", Map.of("gpu", "true"), vendors("10de")));

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(cluster.state("gpu-a")).isNotNull();
      assertThat(cluster.state("gpu-b")).isNotNull();
      assertThat(cluster.client.apps().daemonSets().inNamespace(NAMESPACE).withName(AgentManifests.NAME).get()).isNotNull();
    });
    assertThat(cluster.state("cpu-c")).isNull();
    GpuPassthroughNode state = cluster.state("gpu-a");
    assertThat(state.getMetadata().getOwnerReferences()).singleElement()
        .satisfies(o -> {
          assertThat(o.getKind()).isEqualTo("Node");
          assertThat(o.getUid()).isEqualTo(a.getMetadata().getUid());
        });
    assertThat(state.getSpec().getClaims()).singleElement().satisfies(c -> {
      assertThat(c.getOwner()).isEqualTo("a10");
      assertThat(c.getSelector().getVendorIds()).containsExactly("10de");
      assertThat(c.getResourceName()).isNull();
    });

    DaemonSet ds = cluster.client.apps().daemonSets().inNamespace(NAMESPACE).withName(AgentManifests.NAME).get();
    var pod = ds.getSpec().getTemplate().getSpec();
    assertThat(pod.getContainers().get(0).getSecurityContext().getPrivileged()).isTrue();
    assertThat(pod.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
        .getNodeSelectorTerms()).singleElement()
        .satisfies(t -> assertThat(t.getMatchExpressions()).singleElement().satisfies(r -> {
          assertThat(r.getKey()).isEqualTo("gpu");
          assertThat(r.getOperator()).isEqualTo("In");
          assertThat(r.getValues()).containsExactly("true");
        }));

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      GpuPassthrough g = cluster.get("a10");
      assertThat(conditionStatus(g, "Progressing")).isEqualTo("True");
      assertThat(g.getStatus().getNodesMatched()).isEqualTo(2);
      assertThat(condition(g, "Ready").map(Condition::getReason)).contains("NodesSyncing");
      assertThat(g.getMetadata().getFinalizers()).isNotEmpty();
    });
  }

  @Test
  void nodeReportsDriveConditionsAndCounts() {
    cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.node("gpu-b", Map.of("gpu", "true"));
    cluster.create(gpt("a10", Map.of("gpu", "true"), vendors("10de")));
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.state("gpu-a") != null && cluster.state("gpu-b") != null);

    String rn = "nvidia.com/GA102GL_A10";
    cluster.report("gpu-a", List.of(device("a10", "0000:01:00.0", rn, true, null),
        device("a10", "0000:02:00.0", rn, true, null)), List.of());
    cluster.report("gpu-b", List.of(device("a10", "0000:01:00.0", rn, true, null)), List.of());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      GpuPassthrough g = cluster.get("a10");
      assertThat(conditionStatus(g, "Ready")).isEqualTo("True");
      assertThat(conditionStatus(g, "Progressing")).isEqualTo("False");
      assertThat(conditionStatus(g, "Degraded")).isEqualTo("False");
      assertThat(g.getStatus().getNodesReady()).isEqualTo(2);
      assertThat(g.getStatus().getDevicesAdvertised()).isEqualTo(3);
      assertThat(g.getStatus().getObservedGeneration()).isEqualTo(g.getMetadata().getGeneration());
    });

    cluster.report("gpu-b", List.of(device("a10", "0000:01:00.0", rn, false, Reason.NO_IOMMU)), List.of());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      GpuPassthrough g = cluster.get("a10");
      assertThat(conditionStatus(g, "Ready")).isEqualTo("False");
      assertThat(condition(g, "Degraded")).hasValueSatisfying(c -> {
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo("NoIommu");
        assertThat(c.getMessage()).contains("gpu-b 0000:01:00.0 NoIommu");
      });
      assertThat(g.getStatus().getDevicesBlocked()).isEqualTo(1);
      assertThat(g.getStatus().getDevicesAdvertised()).isEqualTo(2);
      assertThat(g.getStatus().getNodesReady()).isEqualTo(1);
    });
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(cluster.client.v1().events().inNamespace(NAMESPACE).list().getItems())
            .extracting(e -> e.getType() + "/" + e.getReason())
            .contains("Normal/AllDevicesAdvertised", "Warning/NoIommu"));
  }

  @Test
  void laterResourceSelectingTheSameDevicesGetsConflict() throws Exception {
    cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.create(gpt("all-nvidia", Map.of("gpu", "true"), vendors("10de")));
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.state("gpu-a") != null);
    // creationTimestamp has one-second resolution; make the second resource unambiguously later.
    await().pollDelay(Duration.ofMillis(1100)).until(() -> true);
    cluster.create(gpt("a10-only", Map.of(), MockCluster.model("10de", "2236")));

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      GpuPassthrough later = cluster.get("a10-only");
      assertThat(condition(later, "Conflict")).hasValueSatisfying(c -> {
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo("ClaimConflict");
        assertThat(c.getMessage()).contains("'all-nvidia'", "gpu-a");
      });
      assertThat(conditionStatus(later, "Ready")).isEqualTo("False");
      assertThat(conditionStatus(cluster.get("all-nvidia"), "Conflict")).isEqualTo("False");
    });
    assertThat(cluster.state("gpu-a").getSpec().getClaims()).extracting(c -> c.getOwner()).containsExactly("all-nvidia");
  }

  @Test
  void deletionWithRestoreWaitsForTheNodesToGiveDevicesBack() {
    cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.create(gpt("a10", Map.of("gpu", "true"), vendors("10de")));
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.state("gpu-a") != null);
    cluster.report("gpu-a", List.of(device("a10", "0000:01:00.0", "nvidia.com/GA102GL_A10", true, null)), List.of());
    await().atMost(Duration.ofSeconds(20)).until(() -> "True".equals(conditionStatus(cluster.get("a10"), "Ready")));

    cluster.client.resources(GpuPassthrough.class).withName("a10").delete();
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      GpuPassthroughNode state = cluster.state("gpu-a");
      assertThat(state.getSpec().getClaims()).isEmpty();
      assertThat(state.getSpec().getRestore()).singleElement().satisfies(r -> {
        assertThat(r.getOwner()).isEqualTo("a10");
        assertThat(r.getAddresses()).containsExactly("0000:01:00.0");
      });
      assertThat(conditionStatus(cluster.get("a10"), "Progressing")).isEqualTo("True");
    });
    // The finalizer holds the resource while the node has not answered.
    assertThat(cluster.get("a10")).isNotNull();

    io.gpupassthrough.api.v1alpha1.RestoreResult done = new io.gpupassthrough.api.v1alpha1.RestoreResult();
    done.setOwner("a10");
    done.setState(io.gpupassthrough.api.v1alpha1.RestoreResult.State.DONE);
    done.setRestored(List.of("0000:01:00.0"));
    cluster.report("gpu-a", List.of(), List.of(done));
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(cluster.get("a10")).isNull();
      assertThat(cluster.state("gpu-a")).isNull();
      assertThat(cluster.client.apps().daemonSets().inNamespace(NAMESPACE).withName(AgentManifests.NAME).get()).isNull();
    });
    assertThat(cluster.client.v1().events().inNamespace(NAMESPACE).list().getItems())
        .extracting(e -> e.getReason()).contains("Restored");
  }

  @Test
  void invalidSpecIsDegradedWithAClearMessageAndAppliesNothing() {
    cluster.node("gpu-a", Map.of());
    cluster.create(gpt("typo", Map.of(), MockCluster.addresses("0000:1:00.0")));
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      GpuPassthrough g = cluster.get("typo");
      assertThat(condition(g, "Degraded")).hasValueSatisfying(c -> {
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo("InvalidSpec");
        assertThat(c.getMessage()).contains(
            "spec.devices.addresses[0]: '0000:1:00.0' is malformed; expected DDDD:BB:DD.F in lower-case hex");
      });
      assertThat(conditionStatus(g, "Ready")).isEqualTo("False");
    });
    assertThat(cluster.state("gpu-a")).isNull();
    assertThat(cluster.client.v1().events().inNamespace(NAMESPACE).list().getItems())
        .anySatisfy(e -> {
          assertThat(e.getType()).isEqualTo("Warning");
          assertThat(e.getReason()).isEqualTo("InvalidSpec");
          assertThat(e.getInvolvedObject().getName()).isEqualTo("typo");
        });
  }

  @Test
  void probesAndMetricsAreServed() throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + cluster.operator().probePort();
    for (String path : List.of("/healthz", "/readyz")) {
      var resp = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + path)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(resp.statusCode()).as(path).isEqualTo(200);
    }
    cluster.node("gpu-a", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.get("a10").getStatus() != null);
    var metrics = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/metrics")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("gpupt_operator_status_writes_total", "gpupt_operator_reconcile_seconds_count",
        "gpupt_operator_managed_nodes 1.0", "operator_sdk_reconciliations_");
  }

  @Test
  void unexpectedFailureShowsAsNotReadyWithTheError() {
    for (String name : List.of("kubevirt", "kubevirt-copy")) {
      cluster.client.genericKubernetesResources("kubevirt.io/v1", "KubeVirt").inNamespace("kubevirt")
          .resource(new io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder()
              .withApiVersion("kubevirt.io/v1").withKind("KubeVirt")
              .withNewMetadata().withName(name).withNamespace("kubevirt").endMetadata().build())
          .create();
    }
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
        assertThat(condition(cluster.get("a10"), "Ready")).hasValueSatisfying(c -> {
          assertThat(c.getStatus()).isEqualTo("False");
          assertThat(c.getReason()).isEqualTo("ReconcileError");
          assertThat(c.getMessage()).contains("found 2 KubeVirt resources in namespace kubevirt");
        }));
  }

  @Test
  void settledClusterIsNotRewrittenAndNodesLeavingTheSelectorLoseTheirState() {
    cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.node("gpu-b", Map.of("gpu", "true"));
    cluster.create(gpt("a10", Map.of("gpu", "true"), vendors("10de")));
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.state("gpu-a") != null && cluster.state("gpu-b") != null);
    cluster.report("gpu-a", List.of(device("a10", "0000:01:00.0", "nvidia.com/GA102GL_A10", true, null)), List.of());
    cluster.report("gpu-b", List.of(device("a10", "0000:01:00.0", "nvidia.com/GA102GL_A10", true, null)), List.of());
    await().atMost(Duration.ofSeconds(20)).until(() -> "True".equals(conditionStatus(cluster.get("a10"), "Ready")));
    String settled = cluster.get("a10").getMetadata().getResourceVersion();
    double writes = cluster.operator().metrics().statusWrites();

    // An unrelated node triggers a full pass; nothing about a10 changed, so nothing is written.
    cluster.node("cpu-c", Map.of());
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.registry.get("gpupt_operator_status_writes_skipped")
        .counter().count() > 0 && cluster.operator().metrics().reconcile().count() > 3);
    assertThat(cluster.get("a10").getMetadata().getResourceVersion()).isEqualTo(settled);
    assertThat(cluster.operator().metrics().statusWrites()).isEqualTo(writes);

    cluster.client.nodes().withName("gpu-b").edit(n -> {
      n.getMetadata().getLabels().remove("gpu");
      return n;
    });
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(cluster.state("gpu-b")).isNull();
      GpuPassthrough g = cluster.get("a10");
      assertThat(g.getStatus().getNodesMatched()).isEqualTo(1);
      assertThat(g.getStatus().getDevicesAdvertised()).isEqualTo(1);
    });
  }
}
