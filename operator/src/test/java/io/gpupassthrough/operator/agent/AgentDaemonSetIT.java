package io.gpupassthrough.operator.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.gpupassthrough.api.testing.RealApiServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent DaemonSet as the operator creates it, on a real API server whose ResourceQuota
 * admission limits the system priority classes to namespaces with a matching quota (the Kubernetes
 * docs' "Limit Priority Class consumption by default"; GKE configures the same for
 * system-node-critical). Kubernetes v1.28 admits system-node-critical pods in any namespace when no
 * such configuration is given (checked with up.sh's API server: README, "Memory and priority"); on
 * a cluster configured like this one, the ResourceQuota that deploy/base ships is what lets the
 * DaemonSet's pods in.
 */
class AgentDaemonSetIT {
  private static final String NAMESPACE = "gpu-passthrough";
  private static final String ADMISSION = String.join("\n",
      "apiVersion: apiserver.config.k8s.io/v1",
      "kind: AdmissionConfiguration",
      "plugins:",
      "- name: ResourceQuota",
      "  configuration:",
      "    apiVersion: apiserver.config.k8s.io/v1",
      "    kind: ResourceQuotaConfiguration",
      "    limitedResources:",
      "    - resource: pods",
      "      matchScopes:",
      "      - scopeName: PriorityClass",
      "        operator: In",
      "        values: [system-node-critical, system-cluster-critical]",
      "");

  static Path config;
  static RealApiServer api;
  static KubernetesClient admin;

  @BeforeAll
  static void start() throws IOException {
    config = Files.createTempFile("gpupt-admission", ".yaml");
    Files.writeString(config, ADMISSION);
    api = RealApiServer.start(Map.of("--admission-control-config-file", config.toString()));
    api.applyDeployBase();
    admin = api.admin();
  }

  @AfterAll
  static void stop() throws IOException {
    api.close();
    Files.deleteIfExists(config);
  }

  /** A pod as the DaemonSet controller makes it from the template, for one node. */
  private static Pod podFor(DaemonSet ds, String name) {
    return new PodBuilder()
        .withNewMetadata().withName(name).withNamespace(NAMESPACE)
          .withLabels(ds.getSpec().getTemplate().getMetadata().getLabels()).endMetadata()
        .withSpec(ds.getSpec().getTemplate().getSpec())
        .build();
  }

  @Test
  void operatorCreatesTheDaemonSetAndItsSystemNodeCriticalPodsAreAdmittedThanksToTheShippedQuota() {
    DaemonSet ds = AgentManifests.daemonSet(NAMESPACE, "ghcr.io/gpu-passthrough/gpupt-node:0.1.0", List.of());
    KubernetesClient operator = api.as(NAMESPACE, "gpupt-operator");

    DaemonSet created = operator.resource(ds).create();
    Pod admitted = admin.resource(podFor(created, "gpupt-node-agent-admitted")).create();

    assertThat(created.getSpec().getTemplate().getSpec().getPriorityClassName()).isEqualTo("system-node-critical");
    assertThat(admitted.getSpec().getPriority()).isEqualTo(2_000_001_000);
    assertThat(admitted.getSpec().getVolumes()).anySatisfy(v -> {
      assertThat(v.getHostPath().getPath()).isEqualTo("/var/lib/gpupassthrough");
      assertThat(v.getHostPath().getType()).isEqualTo("DirectoryOrCreate");
    });

    // Without the quota the same pod is refused: it is the quota, not luck, that lets it in. (This
    // refusal takes the API server ~20 s here; kube-api-test runs no quota controller.)
    admin.resourceQuotas().inNamespace(NAMESPACE).withName("gpupt-node-critical-pods").delete();
    assertThatThrownBy(() -> admin.resource(podFor(created, "gpupt-node-agent-refused")).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          // The quota plugin returns an untyped error here, which the API server answers with 500
          // (seen on v1.28.7); the DaemonSet controller records it as a FailedCreate Event.
          assertThat(e.getCode()).isEqualTo(500);
          assertThat(e.getMessage()).contains("insufficient quota to match these scopes",
              "PriorityClass In [system-node-critical system-cluster-critical]");
        });
  }
}
