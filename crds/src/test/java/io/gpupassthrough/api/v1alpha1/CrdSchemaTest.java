package io.gpupassthrough.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The schema the API server enforces. The mock server does not run OpenAPI validation, so these
 * tests read the generated CRD and check its patterns, enums and defaults directly.
 */
class CrdSchemaTest {

  static CustomResourceDefinition load(String file) throws IOException {
    try (InputStream in = CrdSchemaTest.class.getResourceAsStream("/META-INF/fabric8/" + file)) {
      assertThat(in).as(file + " on the classpath").isNotNull();
      return Serialization.unmarshal(in, CustomResourceDefinition.class);
    }
  }

  static JSONSchemaProps schema(CustomResourceDefinition crd) {
    CustomResourceDefinitionVersion v = crd.getSpec().getVersions().get(0);
    assertThat(v.getName()).isEqualTo("v1alpha1");
    assertThat(v.getSubresources().getStatus()).as("status subresource").isNotNull();
    return v.getSchema().getOpenAPIV3Schema();
  }

  static JSONSchemaProps at(JSONSchemaProps root, String... path) {
    JSONSchemaProps p = root;
    for (String step : path) {
      p = step.equals("[]") ? p.getItems().getSchema() : p.getProperties().get(step);
      assertThat(p).as("schema path " + String.join(".", path) + " at " + step).isNotNull();
    }
    return p;
  }

  @Test
  void bothKindsAreClusterScoped() throws IOException {
    assertThat(Namespaced.class.isAssignableFrom(GpuPassthrough.class)).isFalse();
    assertThat(Namespaced.class.isAssignableFrom(GpuPassthroughNode.class)).isFalse();
    assertThat(load("gpupassthroughs.gpupassthrough.io-v1.yml").getSpec().getScope()).isEqualTo("Cluster");
    assertThat(load("gpupassthroughnodes.gpupassthrough.io-v1.yml").getSpec().getScope()).isEqualTo("Cluster");
  }

  @Test
  void shortNamesAndPrinterColumnsAnswerIsItWorking() throws IOException {
    CustomResourceDefinition gpt = load("gpupassthroughs.gpupassthrough.io-v1.yml");
    assertThat(gpt.getSpec().getGroup()).isEqualTo("gpupassthrough.io");
    assertThat(gpt.getSpec().getNames().getShortNames()).containsExactly("gpt");
    assertThat(gpt.getSpec().getVersions().get(0).getAdditionalPrinterColumns())
        .extracting(c -> c.getName())
        .contains("Ready", "Reason", "Nodes", "Nodes-Ready", "Advertised", "Blocked");
    CustomResourceDefinition node = load("gpupassthroughnodes.gpupassthrough.io-v1.yml");
    assertThat(node.getSpec().getNames().getShortNames()).containsExactly("gptnode");
    assertThat(node.getSpec().getVersions().get(0).getAdditionalPrinterColumns())
        .extracting(c -> c.getName())
        .contains("Ready", "Total", "Kubelet", "Last-Sync", "Message");
  }

  @Test
  void nodeStatusSaysWhereEachDeviceStandsWithTheKubelet() throws IOException {
    JSONSchemaProps status = at(schema(load("gpupassthroughnodes.gpupassthrough.io-v1.yml")), "status");
    for (JSONSchemaProps kubelet : List.of(at(status, "kubelet"), at(status, "devices", "[]", "kubelet"))) {
      assertThat(kubelet.getEnum()).extracting(com.fasterxml.jackson.databind.JsonNode::asText)
          .containsExactlyInAnyOrder("NotServing", "Serving", "Refused", "Registered");
    }
    assertThat(at(status, "devices", "[]", "registeredSince").getType()).isEqualTo("string");
    assertThat(load("gpupassthroughnodes.gpupassthrough.io-v1.yml").getSpec().getVersions().get(0)
        .getAdditionalPrinterColumns()).filteredOn(c -> c.getName().equals("Kubelet"))
        .singleElement().satisfies(c -> assertThat(c.getJsonPath()).isEqualTo(".status.kubelet"));
  }

  @Test
  void specDefaultsAndEnumsMatchTheDesign() throws IOException {
    JSONSchemaProps spec = at(schema(load("gpupassthroughs.gpupassthrough.io-v1.yml")), "spec");
    assertThat(spec.getRequired()).containsExactly("devices");
    assertThat(at(spec, "consoleConflicts").getEnum()).extracting(com.fasterxml.jackson.databind.JsonNode::asText)
        .containsExactly("Detach", "Fail", "Ignore");
    assertThat(at(spec, "consoleConflicts").getDefault().asText()).isEqualTo("Detach");
    assertThat(at(spec, "includeIommuGroupCompanions").getDefault().asBoolean()).isTrue();
    assertThat(at(spec, "restoreOnDelete").getDefault().asBoolean()).isTrue();
    assertThat(at(spec, "kubevirt", "permit").getDefault().asBoolean()).isTrue();
    assertThat(at(spec, "devices").getXKubernetesValidations())
        .extracting(r -> r.getMessage())
        .containsExactly(
            "give addresses, vendorIds or classes",
            "addresses cannot be combined with vendorIds, deviceIds or classes",
            "deviceIds requires vendorIds");
  }

  @Test
  void nodeStatusReasonIsOneOfTheSharedCodes() throws IOException {
    JSONSchemaProps reason =
        at(schema(load("gpupassthroughnodes.gpupassthrough.io-v1.yml")), "status", "devices", "[]", "reason");
    assertThat(reason.getEnum()).extracting(com.fasterxml.jackson.databind.JsonNode::asText)
        .containsExactlyInAnyOrderElementsOf(Stream.of(Reason.values()).map(Reason::code).toList());
  }

  static Stream<Arguments> patternCases() {
    return Stream.of(
        Arguments.of("address ok", List.of("devices", "addresses", "[]"), "0000:01:00.0", true),
        Arguments.of("address upper-case hex", List.of("devices", "addresses", "[]"), "0000:0A:00.0", false),
        Arguments.of("address short bus", List.of("devices", "addresses", "[]"), "0000:1:00.0", false),
        Arguments.of("address no domain", List.of("devices", "addresses", "[]"), "01:00.0", false),
        Arguments.of("address function 8", List.of("devices", "addresses", "[]"), "0000:01:00.8", false),
        Arguments.of("address device 1f", List.of("devices", "addresses", "[]"), "0000:01:1f.7", true),
        Arguments.of("address device 20", List.of("devices", "addresses", "[]"), "0000:01:20.0", false),
        Arguments.of("vendor ok", List.of("devices", "vendorIds", "[]"), "10de", true),
        Arguments.of("vendor with 0x", List.of("devices", "vendorIds", "[]"), "0x10de", false),
        Arguments.of("vendor upper-case", List.of("devices", "vendorIds", "[]"), "10DE", false),
        Arguments.of("device ok", List.of("devices", "deviceIds", "[]"), "2236", true),
        Arguments.of("device too long", List.of("devices", "deviceIds", "[]"), "22360", false),
        Arguments.of("class 3D", List.of("devices", "classes", "[]"), "0302", true),
        Arguments.of("class with prog-if", List.of("devices", "classes", "[]"), "030000", false),
        Arguments.of("resource default style", List.of("resourceName"), "nvidia.com/GA102GL_A10", true),
        Arguments.of("resource fallback style", List.of("resourceName"), "gpupassthrough.io/10de_2236", true),
        Arguments.of("resource without prefix", List.of("resourceName"), "GA102GL_A10", false),
        Arguments.of("resource upper-case domain", List.of("resourceName"), "NVIDIA.com/a10", false),
        Arguments.of("resource name 64 chars", List.of("resourceName"), "example.com/" + "a".repeat(64), false),
        Arguments.of("resource name 63 chars", List.of("resourceName"), "example.com/" + "a".repeat(63), true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("patternCases")
  void specPatternsAcceptAndRejectAsDocumented(String name, List<String> path, String value, boolean valid)
      throws IOException {
    JSONSchemaProps spec = at(schema(load("gpupassthroughs.gpupassthrough.io-v1.yml")), "spec");
    String pattern = at(spec, path.toArray(String[]::new)).getPattern();
    assertThat(Pattern.compile(pattern).matcher(value).find()).as(value + " against " + pattern).isEqualTo(valid);
  }
}
