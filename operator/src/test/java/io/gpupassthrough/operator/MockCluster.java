package io.gpupassthrough.operator;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.MockWebServer;
import io.gpupassthrough.api.v1alpha1.DeviceHealth;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughSpec;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A fabric8 mock API server in CRUD mode with the generated CRDs loaded, and the operator running
 * against it. Also plays the node agents: {@link #report} writes a node status as an agent would.
 */
final class MockCluster implements AutoCloseable {
  static final String NAMESPACE = "gpu-passthrough";

  final KubernetesMockServer server;
  final NamespacedKubernetesClient client;
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private GpuptOperator operator;

  MockCluster() throws IOException {
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new AuthorizingCrudDispatcher(), false);
    server.init();
    client = server.createClient();
    for (String crd : List.of("gpupassthroughs.gpupassthrough.io-v1.yml", "gpupassthroughnodes.gpupassthrough.io-v1.yml")) {
      try (InputStream in = MockCluster.class.getResourceAsStream("/META-INF/fabric8/" + crd)) {
        client.apiextensions().v1().customResourceDefinitions().resource(
            client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class)).create();
      }
    }
    client.apiextensions().v1().customResourceDefinitions().resource(kubeVirtCrd()).create();
  }

  MockCluster start(Duration restoreTimeout) throws IOException {
    return start(restoreTimeout, false);
  }

  MockCluster start(Duration restoreTimeout, boolean leaderElection) throws IOException {
    OperatorConfig config =
        new OperatorConfig(NAMESPACE, "example.org/gpupt-node:test", "kubevirt", restoreTimeout, 0, leaderElection);
    operator = new GpuptOperator(client, config, Clock.systemUTC(), registry);
    return this;
  }

  GpuptOperator operator() {
    return operator;
  }

  @Override
  public void close() {
    if (operator != null) {
      operator.close();
    }
    client.close();
    server.destroy();
  }

  /**
   * CRUD mode plus one answer the mock server lacks: JOSDK checks its Lease permissions with a
   * SelfSubjectRulesReview before leader election, and the mock has no authorizer. The answer is
   * what a review by an identity holding the deployed operator Role's lease rule returns.
   */
  static final class AuthorizingCrudDispatcher extends KubernetesCrudDispatcher {
    @Override
    public MockResponse handleCreate(RecordedRequest request) {
      if (request.getPath().startsWith("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")) {
        SelfSubjectRulesReview review = new SelfSubjectRulesReviewBuilder()
            .withNewMetadata().endMetadata()
            .withNewSpec().withNamespace(NAMESPACE).endSpec()
            .withNewStatus().withIncomplete(false)
              .addNewResourceRule().withApiGroups("coordination.k8s.io").withResources("leases")
                  .withVerbs("get", "create", "update").endResourceRule()
            .endStatus().build();
        return new MockResponse().setResponseCode(201)
            .setBody(io.fabric8.kubernetes.client.utils.Serialization.asJson(review));
      }
      return super.handleCreate(request);
    }
  }

  /** The KubeVirt CRD as KubeVirt installs it, reduced to what the mock server needs. */
  static CustomResourceDefinition kubeVirtCrd() {
    return new CustomResourceDefinitionBuilder()
        .withNewMetadata().withName("kubevirts.kubevirt.io").endMetadata()
        .withNewSpec().withGroup("kubevirt.io").withScope("Namespaced")
          .withNewNames().withKind("KubeVirt").withPlural("kubevirts").withSingular("kubevirt").endNames()
          .addNewVersion().withName("v1").withServed(true).withStorage(true)
            .withNewSchema().withNewOpenAPIV3Schema().withType("object").withXKubernetesPreserveUnknownFields(true)
            .endOpenAPIV3Schema().endSchema()
          .endVersion()
        .endSpec().build();
  }

  Node node(String name, Map<String, String> labels) {
    return client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata()
        .build()).create();
  }

  static GpuPassthrough gpt(String name, Map<String, String> nodeLabels, DeviceSelector devices) {
    GpuPassthrough g = new GpuPassthrough();
    g.setMetadata(new ObjectMetaBuilder().withName(name).build());
    GpuPassthroughSpec spec = new GpuPassthroughSpec();
    if (!nodeLabels.isEmpty()) {
      spec.setNodeSelector(new LabelSelectorBuilder().withMatchLabels(nodeLabels).build());
    }
    spec.setDevices(devices);
    g.setSpec(spec);
    return g;
  }

  static DeviceSelector vendors(String... ids) {
    DeviceSelector s = new DeviceSelector();
    s.setVendorIds(List.of(ids));
    return s;
  }

  static DeviceSelector model(String vendor, String device) {
    DeviceSelector s = vendors(vendor);
    s.setDeviceIds(List.of(device));
    return s;
  }

  static DeviceSelector addresses(String... addresses) {
    DeviceSelector s = new DeviceSelector();
    s.setAddresses(List.of(addresses));
    return s;
  }

  GpuPassthrough create(GpuPassthrough g) {
    return client.resources(GpuPassthrough.class).resource(g).create();
  }

  GpuPassthrough get(String name) {
    return client.resources(GpuPassthrough.class).withName(name).get();
  }

  GpuPassthroughNode state(String node) {
    return client.resources(GpuPassthroughNode.class).withName(node).get();
  }

  static DeviceStatus device(String owner, String address, String resourceName, boolean advertised, Reason reason) {
    DeviceStatus d = new DeviceStatus();
    d.setAddress(address);
    d.setVendor("10de");
    d.setDevice("2236");
    d.setDeviceName("GA102GL [A10]");
    d.setPciClass("030200");
    d.setOwner(owner);
    d.setResourceName(resourceName);
    d.setAdvertised(advertised);
    d.setHealth(advertised ? DeviceHealth.HEALTHY : DeviceHealth.UNKNOWN);
    d.setDriver(advertised ? "vfio-pci" : "nvidia");
    d.setOriginalDriver("nvidia");
    d.setReason(reason);
    d.setMessage(reason == null ? null : reason.code() + " on " + address);
    return d;
  }

  /** What an agent does after acting on its spec: report the devices on the generation it saw. */
  void report(String node, List<DeviceStatus> devices, List<RestoreResult> restores) {
    report(node, state(node).getMetadata().getGeneration(), devices, restores);
  }

  /** The same, for a caller that already knows the generation (from its watch, as an agent does). */
  void report(String node, long generation, List<DeviceStatus> devices, List<RestoreResult> restores) {
    GpuPassthroughNodeStatus s = new GpuPassthroughNodeStatus();
    s.setObservedGeneration(generation);
    s.setDevices(new ArrayList<>(devices));
    s.setRestores(new ArrayList<>(restores));
    s.setDevicesTotal(devices.size());
    s.setDevicesReady((int) devices.stream().filter(DeviceStatus::getAdvertised).count());
    s.setLastSync("2026-01-01T00:00:00Z");
    client.resources(GpuPassthroughNode.class).withName(node).subresource("status")
        .patch(PatchContext.of(PatchType.JSON), FieldReplacement.of("status", s));
  }

  GenericKubernetesResource kubeVirt() {
    return client.genericKubernetesResources("kubevirt.io/v1", "KubeVirt").inNamespace("kubevirt").withName("kubevirt").get();
  }
}
