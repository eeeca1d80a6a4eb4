package io.gpupassthrough.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.gpupassthrough.api.testing.RealApiServer;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CRDs of deploy/base, as generated, on a real API server: every pattern, bound, enum and CEL
 * rule answers a bad spec at admission with a message an admin can act on. (The mock server runs no
 * OpenAPI or CEL validation at all, so none of this can be tested there.)
 */
class CrdAdmissionIT {
  private static final AtomicInteger SEQ = new AtomicInteger();
  static RealApiServer api;
  static KubernetesClient admin;

  @BeforeAll
  static void start() {
    api = RealApiServer.start();
    api.applyDeployBase();
    admin = api.admin();
  }

  @AfterAll
  static void stop() {
    api.close();
  }

  static GenericKubernetesResource gpt(String specJson) {
    return new GenericKubernetesResourceBuilder()
        .withApiVersion(GpuPassthrough.GROUP + "/" + GpuPassthrough.VERSION).withKind("GpuPassthrough")
        .withNewMetadata().withName("case-" + SEQ.incrementAndGet()).endMetadata()
        .withAdditionalProperties(Map.of("spec", Serialization.unmarshal(specJson, Map.class)))
        .build();
  }

  static GenericKubernetesResource create(GenericKubernetesResource r) {
    return admin.genericKubernetesResources(r.getApiVersion(), r.getKind()).resource(r).create();
  }

  static Stream<Arguments> refused() {
    String a10 = "\"devices\":{\"vendorIds\":[\"10de\"]}";
    return Stream.of(
        // Required fields and the selector's CEL rules.
        Arguments.of("no devices", "{}", "spec.devices: Required value"),
        Arguments.of("empty selector", "{\"devices\":{}}", "give addresses, vendorIds or classes"),
        Arguments.of("addresses with filters", "{\"devices\":{\"addresses\":[\"0000:01:00.0\"],\"vendorIds\":[\"10de\"]}}",
            "addresses cannot be combined with vendorIds, deviceIds or classes"),
        Arguments.of("deviceIds without vendorIds", "{\"devices\":{\"classes\":[\"0300\"],\"deviceIds\":[\"2236\"]}}",
            "deviceIds requires vendorIds"),
        // Patterns and bounds.
        Arguments.of("address with a short bus", "{\"devices\":{\"addresses\":[\"0000:1:00.0\"]}}",
            "spec.devices.addresses[0]: Invalid value: \"0000:1:00.0\": spec.devices.addresses[0] in body should match"),
        Arguments.of("vendor with 0x", "{\"devices\":{\"vendorIds\":[\"0x10de\"]}}", "spec.devices.vendorIds[0]"),
        Arguments.of("five-digit device", "{\"devices\":{\"vendorIds\":[\"10de\"],\"deviceIds\":[\"22360\"]}}",
            "spec.devices.deviceIds[0]"),
        Arguments.of("class with prog-if", "{\"devices\":{\"classes\":[\"030000\"]}}", "spec.devices.classes[0]"),
        Arguments.of("65 vendor IDs", "{\"devices\":{\"vendorIds\":[" + "\"10de\",".repeat(64) + "\"10de\"]}}",
            "must have at most 64 items"),
        Arguments.of("unknown console policy", "{" + a10 + ",\"consoleConflicts\":\"Sometimes\"}",
            "spec.consoleConflicts: Unsupported value: \"Sometimes\""),
        // The kubelet's extended-resource rule (ResourceNameRule): pattern, bound and CEL rules.
        Arguments.of("resource name without a domain", "{" + a10 + ",\"resourceName\":\"a10\"}",
            "spec.resourceName in body should match"),
        Arguments.of("native kubernetes.io name", "{" + a10 + ",\"resourceName\":\"kubernetes.io/gpu\"}",
            ResourceNameRule.NOT_NATIVE_MESSAGE),
        Arguments.of("kubernetes.io subdomain", "{" + a10 + ",\"resourceName\":\"node.kubernetes.io/gpu\"}",
            ResourceNameRule.NOT_NATIVE_MESSAGE),
        Arguments.of("quota prefix", "{" + a10 + ",\"resourceName\":\"requests.example.com/gpu\"}",
            ResourceNameRule.NOT_QUOTA_MESSAGE),
        Arguments.of("245-character domain", "{" + a10 + ",\"resourceName\":\"" + "a".repeat(241) + ".com/gpu\"}",
            ResourceNameRule.DOMAIN_LENGTH_MESSAGE),
        Arguments.of("longer than any valid name", "{" + a10 + ",\"resourceName\":\"" + "a".repeat(320) + ".com/gpu\"}",
            "may not be longer than " + ResourceNameRule.MAX_LENGTH));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void badSpecsAreRefusedAtAdmissionWithTheirMessage(String name, String spec, String message) {
    assertThatThrownBy(() -> create(gpt(spec)))
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          assertThat(e.getCode()).as("HTTP status").isEqualTo(422);
          assertThat(e.getMessage()).contains(message);
        });
  }

  @Test
  void validSpecIsAcceptedWithTheDocumentedDefaults() {
    GenericKubernetesResource created = create(gpt(
        "{\"devices\":{\"vendorIds\":[\"10de\"],\"deviceIds\":[\"2236\"]},\"resourceName\":\"nvidia.com/GA102GL_A10\"}"));
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) created.getAdditionalProperties().get("spec");
    assertThat(spec).containsEntry("consoleConflicts", "Detach").containsEntry("includeIommuGroupCompanions", true)
        .containsEntry("restoreOnDelete", true).containsEntry("kubevirt", Map.of("permit", true));
  }

  @Test
  void statusIsASubresourceTheSpecWriterCannotSet() {
    GenericKubernetesResource r = gpt("{\"devices\":{\"classes\":[\"0302\"]}}");
    r.getAdditionalProperties().put("status", Map.of("nodesReady", 7));
    GenericKubernetesResource created = create(r);
    assertThat(created.getAdditionalProperties()).doesNotContainKey("status");

    GenericKubernetesResource patched = admin.genericKubernetesResources(r.getApiVersion(), r.getKind())
        .withName(created.getMetadata().getName()).subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"nodesReady\":7}}");
    assertThat(patched.getAdditionalProperties().get("status")).isEqualTo(Map.of("nodesReady", 7));
    assertThat(patched.getMetadata().getGeneration()).as("a status write is no spec change").isEqualTo(1L);
  }

  @Test
  void nodeClaimsFollowTheSameResourceNameRule() {
    GenericKubernetesResource node = new GenericKubernetesResourceBuilder()
        .withApiVersion(GpuPassthrough.GROUP + "/" + GpuPassthrough.VERSION).withKind("GpuPassthroughNode")
        .withNewMetadata().withName("node-" + SEQ.incrementAndGet()).endMetadata()
        .withAdditionalProperties(Map.of("spec", Serialization.unmarshal(
            "{\"claims\":[{\"owner\":\"a10\",\"selector\":{\"vendorIds\":[\"10de\"]},\"resourceName\":\"kubernetes.io/gpu\"}]}",
            Map.class)))
        .build();
    assertThatThrownBy(() -> create(node)).isInstanceOfSatisfying(KubernetesClientException.class,
        e -> assertThat(e.getMessage()).contains(ResourceNameRule.NOT_NATIVE_MESSAGE));
  }
}
