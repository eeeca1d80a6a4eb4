package io.gpupassthrough.operator;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.gpupassthrough.api.testing.RealApiServer;
import io.gpupassthrough.api.v1alpha1.DeviceHealth;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughSpec;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.operator.kubevirt.KubeVirtWatch;
import io.gpupassthrough.operator.status.EventRecorder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The operator on a real API server, as in a cluster: {@link RealApiServer} (etcd + kube-apiserver
 * v1.28.7, RBAC on) with {@code deploy/base} applied as an admin applies it (the CRDs as generated,
 * the ServiceAccounts and RBAC as shipped), the operator running in this JVM as its ServiceAccount
 * {@code gpu-passthrough/gpupt-operator} (impersonated, so deploy/base/operator/rbac.yaml is what
 * it may do), and simulated node agents writing status as {@code gpu-passthrough/gpupt-node-agent}
 * under deploy/base/agent/rbac.yaml. The admin client is for set-up and assertions only. One per
 * test class; {@link #reset()} between tests removes what a test left behind.
 *
 * <p>No test of the operator uses the fabric8 mock server any more: everything here is about what
 * an API server accepts (schemas, CEL, RBAC, status subresource, finalizers, Events, Leases,
 * watches), which the mock server does not model.
 */
final class ApiCluster implements AutoCloseable {
  static final String NAMESPACE = "gpu-passthrough";
  static final String KUBEVIRT_NAMESPACE = "kubevirt";

  final RealApiServer api;
  final KubernetesClient admin;
  /** The operator's identity. */
  final KubernetesClient operatorClient;
  /** The node agents' identity (every agent shares the one ServiceAccount). */
  final KubernetesClient agent;
  /** How often the operator under test said it lost its Lease (in production it would exit). */
  final AtomicInteger leaseLost = new AtomicInteger();
  PrometheusMeterRegistry registry;
  private GpuptOperator operator;

  private ApiCluster(RealApiServer api) {
    this.api = api;
    api.applyDeployBase();
    admin = api.admin();
    operatorClient = api.as(NAMESPACE, "gpupt-operator");
    agent = api.as(NAMESPACE, "gpupt-node-agent");
  }

  /** Starts the API server and applies deploy/base; the operator is not running yet. */
  static ApiCluster start() {
    return new ApiCluster(RealApiServer.start());
  }

  ApiCluster startOperator(Duration restoreTimeout) {
    return startOperator(restoreTimeout, false);
  }

  ApiCluster startOperator(Duration restoreTimeout, boolean leaderElection) {
    OperatorConfig config = new OperatorConfig(NAMESPACE, "example.org/gpupt-node:test", KUBEVIRT_NAMESPACE,
        restoreTimeout, 0, leaderElection);
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try {
      operator = new GpuptOperator(operatorClient, config, Clock.systemUTC(), registry, leaseLost::incrementAndGet);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  GpuptOperator operator() {
    return operator;
  }

  void stopOperator() {
    if (operator != null) {
      operator.close();
      operator = null;
    }
  }

  /**
   * Stops the operator and removes every object a test may have made (finalizers first, as an
   * admin would when the operator is gone), so the next test starts from deploy/base alone.
   */
  void reset() {
    stopOperator();
    leaseLost.set(0);
    for (GpuPassthrough g : admin.resources(GpuPassthrough.class).list().getItems()) {
      admin.resources(GpuPassthrough.class).withName(g.getMetadata().getName()).edit(x -> {
        x.getMetadata().setFinalizers(List.of());
        return x;
      });
    }
    admin.resources(GpuPassthrough.class).delete();
    admin.resources(GpuPassthroughNode.class).delete();
    admin.nodes().delete();
    admin.apps().daemonSets().inNamespace(NAMESPACE).delete();
    admin.leases().inNamespace(NAMESPACE).delete();
    admin.v1().events().inNamespace(EventRecorder.CLUSTER_SCOPED_NAMESPACE).delete();
    if (admin.apiextensions().v1().customResourceDefinitions().withName(KubeVirtWatch.CRD_NAME).get() != null) {
      admin.apiextensions().v1().customResourceDefinitions().withName(KubeVirtWatch.CRD_NAME).delete();
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> admin.resources(GpuPassthrough.class).list().getItems().isEmpty()
        && admin.resources(GpuPassthroughNode.class).list().getItems().isEmpty()
        && admin.apiextensions().v1().customResourceDefinitions().withName(KubeVirtWatch.CRD_NAME).get() == null);
  }

  @Override
  public void close() {
    stopOperator();
    api.close();
  }

  Node node(String name, Map<String, String> labels) {
    return admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata()
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

  /** Created by the admin, who owns GpuPassthrough objects. */
  GpuPassthrough create(GpuPassthrough g) {
    return admin.resources(GpuPassthrough.class).resource(g).create();
  }

  GpuPassthrough get(String name) {
    return admin.resources(GpuPassthrough.class).withName(name).get();
  }

  void delete(String name) {
    admin.resources(GpuPassthrough.class).withName(name).delete();
  }

  GpuPassthroughNode state(String node) {
    return admin.resources(GpuPassthroughNode.class).withName(node).get();
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

  static RestoreResult restored(String owner, String... addresses) {
    RestoreResult done = new RestoreResult();
    done.setOwner(owner);
    done.setState(RestoreResult.State.DONE);
    done.setRestored(List.of(addresses));
    return done;
  }

  /** What an agent does after acting on its spec: read its object, report on the generation it saw. */
  void report(String node, List<DeviceStatus> devices, List<RestoreResult> restores) {
    report(node, agent.resources(GpuPassthroughNode.class).withName(node).get().getMetadata().getGeneration(),
        devices, restores);
  }

  /**
   * The same for a caller that knows the generation (from its watch, as an agent does). The write is
   * the agent's own (NodeStatusRecorder): a JSON patch replacing the status subresource whole.
   */
  void report(String node, long generation, List<DeviceStatus> devices, List<RestoreResult> restores) {
    report(agent, node, generation, devices, restores);
  }

  static void report(KubernetesClient as, String node, long generation, List<DeviceStatus> devices,
      List<RestoreResult> restores) {
    GpuPassthroughNodeStatus s = new GpuPassthroughNodeStatus();
    s.setObservedGeneration(generation);
    s.setDevices(new ArrayList<>(devices));
    s.setRestores(new ArrayList<>(restores));
    s.setDevicesTotal(devices.size());
    s.setDevicesReady((int) devices.stream().filter(DeviceStatus::getAdvertised).count());
    s.setLastSync(java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
    as.resources(GpuPassthroughNode.class).withName(node).subresource("status")
        .patch(PatchContext.of(PatchType.JSON), FieldReplacement.of("status", s));
  }

  /** The Events about a GpuPassthrough, found as {@code kubectl describe} finds them (any namespace, by involvedObject). */
  List<Event> events(String gpt) {
    return admin.v1().events().inAnyNamespace()
        .withField("involvedObject.kind", "GpuPassthrough")
        .withField("involvedObject.name", gpt)
        .list().getItems();
  }

  /** KubeVirt's CRD as a KubeVirt install creates it (src/test/resources/kubevirt/). */
  void installKubeVirtCrd() {
    try (InputStream in = ApiCluster.class.getResourceAsStream("/kubevirt/kubevirts.kubevirt.io.yaml")) {
      api.apply(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  GenericKubernetesResource createKubeVirt(String name, Map<String, Object> spec) {
    if (admin.namespaces().withName(KUBEVIRT_NAMESPACE).get() == null) {
      admin.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
          .withName(KUBEVIRT_NAMESPACE).endMetadata().build()).create();
    }
    return admin.genericKubernetesResources(KubeVirtWatch.KIND.apiVersion(), KubeVirtWatch.KIND.getKind())
        .inNamespace(KUBEVIRT_NAMESPACE)
        .resource(new io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder()
            .withApiVersion(KubeVirtWatch.KIND.apiVersion()).withKind(KubeVirtWatch.KIND.getKind())
            .withNewMetadata().withName(name).withNamespace(KUBEVIRT_NAMESPACE).endMetadata()
            .withAdditionalProperties(Map.of("spec", spec)).build())
        .create();
  }

  GenericKubernetesResource kubeVirt() {
    return admin.genericKubernetesResources(KubeVirtWatch.KIND.apiVersion(), KubeVirtWatch.KIND.getKind())
        .inNamespace(KUBEVIRT_NAMESPACE).withName("kubevirt").get();
  }
}
