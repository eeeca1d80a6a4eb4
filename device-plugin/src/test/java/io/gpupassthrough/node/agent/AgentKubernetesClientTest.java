package io.gpupassthrough.node.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.WatchEvent;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import org.junit.jupiter.api.Test;

/** The agent's lean client still decodes what its informer receives untyped. */
class AgentKubernetesClientTest {
  private static final Config OFFLINE = new ConfigBuilder().withMasterUrl("https://127.0.0.1:1").build();

  @Test
  void aWatchErrorIsAStatusSoThatA410GoneMakesTheInformerRelist() {
    try (KubernetesClient client = AgentKubernetesClient.create(OFFLINE)) {
      WatchEvent event = client.getKubernetesSerialization().unmarshal("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
          + "\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Expired\",\"code\":410,"
          + "\"message\":\"too old resource version: 1 (1234)\"}}", WatchEvent.class);
      assertThat(event.getObject()).isInstanceOf(Status.class);
      assertThat(((Status) event.getObject()).getCode()).isEqualTo(410);
    }
  }

  @Test
  void aWatchedNodeIsAGpuPassthroughNode() {
    try (KubernetesClient client = AgentKubernetesClient.create(OFFLINE)) {
      WatchEvent event = client.getKubernetesSerialization().unmarshal("{\"type\":\"MODIFIED\",\"object\":{"
          + "\"kind\":\"GpuPassthroughNode\",\"apiVersion\":\"gpupassthrough.io/v1alpha1\","
          + "\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"7\"},\"spec\":{\"claims\":[]}}}", WatchEvent.class);
      assertThat(event.getObject()).isInstanceOf(GpuPassthroughNode.class).isNotInstanceOf(GenericKubernetesResource.class);
    }
  }

  @Test
  void builtInKindsAreNotMappedAtAll() {
    try (KubernetesClient client = AgentKubernetesClient.create(OFFLINE)) {
      Object pod = client.getKubernetesSerialization().unmarshal(
          "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\"}}");
      assertThat(pod).isInstanceOf(GenericKubernetesResource.class);
    }
  }
}
