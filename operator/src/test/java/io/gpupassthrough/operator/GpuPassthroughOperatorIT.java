package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.ApiCluster.NAMESPACE;
import static io.gpupassthrough.operator.ApiCluster.device;
import static io.gpupassthrough.operator.ApiCluster.gpt;
import static io.gpupassthrough.operator.ApiCluster.restored;
import static io.gpupassthrough.operator.ApiCluster.vendors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.gpupassthrough.api.testing.GarbageCollector;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.ResourceNameRule;
import io.gpupassthrough.operator.agent.AgentManifests;
import io.gpupassthrough.operator.status.EventRecorder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator on a real API server as its ServiceAccount, with the CRDs and RBAC of deploy/base,
 * node agents simulated as status patches under the agent's ServiceAccount ({@link ApiCluster}).
 */
class GpuPassthroughOperatorIT {
  static final String RN = "nvidia.com/GA102GL_A10";
  static ApiCluster cluster;
  static GarbageCollector gc;

  @BeforeAll
  static void startServer() {
    cluster = ApiCluster.start();
    // After deploy/base: the collector discovers the CRDs when it starts.
    gc = cluster.api.startGarbageCollector();
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
  void newResourceRollsOutTheAgentAndOneNodeStatePerMatchedNode() {
    Node a = cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.node("gpu-b", Map.of("gpu", "true"));
    cluster.node("cpu-c", Map.of());
    cluster.create(gpt("a10", Map.of("gpu", "true"), vendors("10de")));

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(cluster.state("gpu-a")).isNotNull();
      assertThat(cluster.state("gpu-b")).isNotNull();
      assertThat(cluster.admin.apps().daemonSets().inNamespace(NAMESPACE).withName(AgentManifests.NAME).get()).isNotNull();
    });
    assertThat(cluster.state("cpu-c")).isNull();
    GpuPassthroughNode state = cluster.state("gpu-a");
    assertThat(state.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getKind()).isEqualTo("Node");
      assertThat(o.getUid()).isEqualTo(a.getMetadata().getUid());
    });
    assertThat(state.getSpec().getClaims()).singleElement().satisfies(c -> {
      assertThat(c.getOwner()).isEqualTo("a10");
      assertThat(c.getSelector().getVendorIds()).containsExactly("10de");
      assertThat(c.getResourceName()).isNull();
    });

    DaemonSet ds = cluster.admin.apps().daemonSets().inNamespace(NAMESPACE).withName(AgentManifests.NAME).get();
    var pod = ds.getSpec().getTemplate().getSpec();
    assertThat(pod.getServiceAccountName()).isEqualTo("gpupt-node-agent");
    assertThat(pod.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
        .getNodeSelectorTerms()).singleElement()
        .satisfies(t -> assertThat(t.getMatchExpressions()).singleElement().satisfies(r -> {
          assertThat(r.getKey()).isEqualTo("gpu");
          assertThat(r.getOperator()).isEqualTo("In");
          assertThat(r.getValues()).containsExactly("true");
        }));

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      GpuPassthrough g = cluster.get("a10");
      assertThat(conditionStatus(g, "Progressing")).isEqualTo("True");
      assertThat(g.getStatus().getNodesMatched()).isEqualTo(2);
      assertThat(condition(g, "Ready").map(Condition::getReason)).contains("NodesSyncing");
      assertThat(g.getMetadata().getFinalizers()).isNotEmpty();
    });
  }

  @Test
  void nodeReportsDriveConditionsCountsAndEvents() {
    cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.node("gpu-b", Map.of("gpu", "true"));
    cluster.create(gpt("a10", Map.of("gpu", "true"), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-a") != null && cluster.state("gpu-b") != null);

    cluster.report("gpu-a", List.of(device("a10", "0000:01:00.0", RN, true, null),
        device("a10", "0000:02:00.0", RN, true, null)), List.of());
    cluster.report("gpu-b", List.of(device("a10", "0000:01:00.0", RN, true, null)), List.of());
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      GpuPassthrough g = cluster.get("a10");
      assertThat(conditionStatus(g, "Ready")).isEqualTo("True");
      assertThat(conditionStatus(g, "Progressing")).isEqualTo("False");
      assertThat(conditionStatus(g, "Degraded")).isEqualTo("False");
      assertThat(g.getStatus().getNodesReady()).isEqualTo(2);
      assertThat(g.getStatus().getDevicesAdvertised()).isEqualTo(3);
      assertThat(g.getStatus().getObservedGeneration()).isEqualTo(g.getMetadata().getGeneration());
    });

    cluster.report("gpu-b", List.of(device("a10", "0000:01:00.0", RN, false, Reason.NO_IOMMU)), List.of());
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
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
    // Events about a cluster-scoped object land in "default" (the API server refuses them anywhere
    // else), and the admin finds them by involvedObject as kubectl describe does.
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(cluster.events("a10"))
        .extracting(e -> e.getMetadata().getNamespace() + " " + e.getType() + "/" + e.getReason())
        .contains("default Normal/AllDevicesAdvertised", "default Warning/NoIommu"));
  }

  @Test
  void kubectlDescribeShowsTheConditionsAndEvents() {
    cluster.node("gpu-a", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-a") != null);
    cluster.report("gpu-a", List.of(device("a10", "0000:01:00.0", RN, true, null)), List.of());
    await().atMost(Duration.ofSeconds(30)).until(() -> "True".equals(conditionStatus(cluster.get("a10"), "Ready")));

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      String describe = cluster.api.kubectl("describe", "gpt", "a10");
      assertThat(describe).contains("Type:", "Ready", "AllDevicesAdvertised", "KubeVirtNotInstalled");
      String events = describe.substring(describe.indexOf("Events:"));
      assertThat(events).doesNotContain("<none>")
          .contains("Normal", "AllDevicesAdvertised", "Ready=True: 1 devices advertised on 1 nodes", EventRecorder.COMPONENT)
          .contains("Warning", "KubeVirtNotInstalled");
    });
    String table = cluster.api.kubectl("get", "gpt", "a10");
    assertThat(table.lines().findFirst().orElseThrow().split("\\s+"))
        .contains("NAME", "READY", "REASON", "NODES", "NODES-READY", "ADVERTISED", "BLOCKED", "KUBEVIRT", "AGE");
  }

  @Test
  void laterResourceSelectingTheSameDevicesGetsConflict() {
    cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.create(gpt("all-nvidia", Map.of("gpu", "true"), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-a") != null);
    // creationTimestamp has one-second resolution; make the second resource unambiguously later.
    await().pollDelay(Duration.ofMillis(1100)).until(() -> true);
    cluster.create(gpt("a10-only", Map.of(), ApiCluster.model("10de", "2236")));

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
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
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-a") != null);
    cluster.report("gpu-a", List.of(device("a10", "0000:01:00.0", RN, true, null)), List.of());
    await().atMost(Duration.ofSeconds(30)).until(() -> "True".equals(conditionStatus(cluster.get("a10"), "Ready")));

    cluster.delete("a10");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      GpuPassthroughNode state = cluster.state("gpu-a");
      assertThat(state.getSpec().getClaims()).isEmpty();
      assertThat(state.getSpec().getRestore()).singleElement().satisfies(r -> {
        assertThat(r.getOwner()).isEqualTo("a10");
        assertThat(r.getAddresses()).containsExactly("0000:01:00.0");
      });
      assertThat(conditionStatus(cluster.get("a10"), "Progressing")).isEqualTo("True");
    });
    // The finalizer holds the resource on the real server while the node has not answered.
    assertThat(cluster.get("a10")).isNotNull();
    assertThat(cluster.get("a10").getMetadata().getDeletionTimestamp()).isNotNull();

    cluster.report("gpu-a", List.of(), List.of(restored("a10", "0000:01:00.0")));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(cluster.get("a10")).isNull();
      assertThat(cluster.state("gpu-a")).isNull();
      assertThat(cluster.admin.apps().daemonSets().inNamespace(NAMESPACE).withName(AgentManifests.NAME).get()).isNull();
    });
    assertThat(cluster.events("a10")).extracting(Event::getReason).contains("Restored");
  }

  /**
   * A resource the schema let through (here: the GpuPassthrough CRD of the release before the
   * resource-name CEL rules, still installed while the new operator runs) gets InvalidSpec from the
   * operator, ahead of conflict detection, and nothing is applied for it.
   */
  @Test
  void nameTheCrdLetThroughIsInvalidSpecNotAConflict() {
    CustomResourceDefinition generated =
        cluster.admin.apiextensions().v1().customResourceDefinitions().withName("gpupassthroughs.gpupassthrough.io").get();
    try {
      cluster.admin.apiextensions().v1().customResourceDefinitions().withName(generated.getMetadata().getName())
          .edit(crd -> {
            crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema().getProperties().get("spec")
                .getProperties().get("resourceName").setXKubernetesValidations(null);
            return crd;
          });
      cluster.node("gpu-a", Map.of());
      cluster.create(gpt("a10", Map.of(), ApiCluster.model("10de", "2236")));
      await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-a") != null);
      await().pollDelay(Duration.ofMillis(1100)).until(() -> true);
      GpuPassthrough nativeName = gpt("native", Map.of(), vendors("10de"));
      nativeName.getSpec().setResourceName("kubernetes.io/gpu");
      cluster.create(nativeName);

      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        GpuPassthrough g = cluster.get("native");
        assertThat(condition(g, "Degraded")).hasValueSatisfying(c -> {
          assertThat(c.getStatus()).isEqualTo("True");
          assertThat(c.getReason()).isEqualTo("InvalidSpec");
          assertThat(c.getMessage()).contains("spec.resourceName: 'kubernetes.io/gpu'", ResourceNameRule.NOT_NATIVE_MESSAGE);
        });
        assertThat(conditionStatus(g, "Conflict")).isEqualTo("False");
        assertThat(conditionStatus(cluster.get("a10"), "Conflict")).isEqualTo("False");
      });
      assertThat(cluster.state("gpu-a").getSpec().getClaims()).extracting(c -> c.getOwner()).containsExactly("a10");
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(cluster.events("native"))
          .anySatisfy(e -> {
            assertThat(e.getType()).isEqualTo("Warning");
            assertThat(e.getReason()).isEqualTo("InvalidSpec");
          }));
    } finally {
      cluster.reset();
      cluster.api.applyDeployBase();
    }
    assertThat(cluster.admin.apiextensions().v1().customResourceDefinitions().withName(generated.getMetadata().getName())
        .get().getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema().getProperties().get("spec")
        .getProperties().get("resourceName").getXKubernetesValidations())
        .as("the generated CRD is back for the other tests").isNotEmpty();
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
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.get("a10").getStatus() != null);
    var metrics = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/metrics")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("gpupt_operator_status_writes_total", "gpupt_operator_reconcile_seconds_count",
        "gpupt_operator_managed_nodes 1.0", "operator_sdk_reconciliations_");
  }

  @Test
  void settledClusterIsNotRewrittenAndNodesLeavingTheSelectorLoseTheirState() {
    cluster.node("gpu-a", Map.of("gpu", "true"));
    cluster.node("gpu-b", Map.of("gpu", "true"));
    cluster.create(gpt("a10", Map.of("gpu", "true"), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-a") != null && cluster.state("gpu-b") != null);
    cluster.report("gpu-a", List.of(device("a10", "0000:01:00.0", RN, true, null)), List.of());
    cluster.report("gpu-b", List.of(device("a10", "0000:01:00.0", RN, true, null)), List.of());
    await().atMost(Duration.ofSeconds(30)).until(() -> "True".equals(conditionStatus(cluster.get("a10"), "Ready")));
    // How many passes the reports cost depends on timing (the rate limiter coalesces events): the
    // old form of this test waited for "more than 3 passes", which after a warm JVM on the mock
    // server never came (2 passes to Ready, 1 for cpu-c), and on the real server was already true
    // at Ready (4 passes), so it proved nothing about cpu-c's pass. Take the baseline once quiet.
    awaitNoPassFor(Duration.ofSeconds(1));
    String settled = cluster.get("a10").getMetadata().getResourceVersion();
    double writes = cluster.operator().metrics().statusWrites();
    long passes = cluster.operator().metrics().reconcile().count();
    double skips = cluster.registry.get("gpupt_operator_status_writes_skipped").counter().count();

    // An unrelated node triggers a full pass; nothing about a10 changed, so nothing is written.
    cluster.node("cpu-c", Map.of());
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.operator().metrics().reconcile().count() > passes
        && cluster.registry.get("gpupt_operator_status_writes_skipped").counter().count() > skips);
    assertThat(cluster.get("a10").getMetadata().getResourceVersion()).isEqualTo(settled);
    assertThat(cluster.operator().metrics().statusWrites()).isEqualTo(writes);

    cluster.admin.nodes().withName("gpu-b").edit(n -> {
      n.getMetadata().getLabels().remove("gpu");
      return n;
    });
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(cluster.state("gpu-b")).isNull();
      GpuPassthrough g = cluster.get("a10");
      assertThat(g.getStatus().getNodesMatched()).isEqualTo(1);
      assertThat(g.getStatus().getDevicesAdvertised()).isEqualTo(1);
    });
  }

  /** Until no reconcile pass has run for {@code quiet}. */
  static void awaitNoPassFor(Duration quiet) {
    long[] seen = {-1, 0};
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
      long passes = cluster.operator().metrics().reconcile().count();
      long now = System.nanoTime();
      if (passes != seen[0]) {
        seen[0] = passes;
        seen[1] = now;
      }
      return now - seen[1] >= quiet.toNanos();
    });
  }

  /**
   * The owner reference the operator writes is one the garbage collector honours (right kind,
   * apiVersion and uid): with the operator stopped, deleting a Node still takes its state along.
   * (While running, the operator deletes the state of a vanished node itself.)
   */
  @Test
  void nodeStateIsGarbageCollectedWithItsNode() {
    cluster.node("gpu-a", Map.of());
    cluster.node("gpu-b", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-a") != null && cluster.state("gpu-b") != null);
    cluster.stopOperator();

    cluster.admin.nodes().withName("gpu-b").delete();
    await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> assertThat(cluster.state("gpu-b"))
        .as("GpuPassthroughNode gpu-b after its Node was deleted; controller-manager: %s", gc.log()).isNull());
    assertThat(cluster.state("gpu-a")).as("the other node's state").isNotNull();
  }
}
