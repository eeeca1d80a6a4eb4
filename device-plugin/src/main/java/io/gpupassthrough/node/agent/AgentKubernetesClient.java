package io.gpupassthrough.node.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.impl.KubernetesClientImpl;
import io.fabric8.kubernetes.client.utils.HttpClientUtils;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;

/**
 * The fabric8 client as the agent uses it: one informer on its own GpuPassthroughNode and status
 * patches, nothing else. By default fabric8 loads about 600 model classes the agent never touches
 * (LimitRange, APIService, PersistentVolume, ...) when a client is built: its serializer
 * instantiates every KubernetesResource listed by ServiceLoader to map kind to class, and the client
 * registers a handler and an API-group adapter for every built-in kind. Here the serializer maps only
 * the kinds the agent can receive untyped (its own, and Status in a watch's ERROR event, which is how
 * a 410 Gone reaches the informer), and no built-in handlers are registered: our CRD gets fabric8's
 * generic handler on first use, as before. Same configuration as
 * {@code new KubernetesClientBuilder().build()}: kubeconfig, in-cluster ServiceAccount, environment.
 */
final class AgentKubernetesClient {
  private AgentKubernetesClient() {}

  static KubernetesClient create() {
    return create(new ConfigBuilder().build());
  }

  static KubernetesClient create(Config config) {
    KubernetesSerialization serialization = new KubernetesSerialization(new ObjectMapper(), false);
    serialization.registerKubernetesResource(GpuPassthroughNode.class);
    serialization.registerKubernetesResource(Status.class);
    return new KubernetesClientImpl(HttpClientUtils.createHttpClient(config), config, null, serialization) {
      @Override
      protected void registerDefaultAdapters() {
        // none: the agent calls no adapt(...) API group client
      }

      @Override
      protected void registerDefaultHandlers() {
        // none: built-in kinds the agent never reads or writes
      }
    };
  }
}
