package io.gpupassthrough.operator.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirementBuilder;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughSpec;
import io.gpupassthrough.api.v1alpha1.ResourceNameRule;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SpecValidatorTest {

  static GpuPassthroughSpec spec(Consumer<DeviceSelector> devices, Consumer<GpuPassthroughSpec> rest) {
    GpuPassthroughSpec s = new GpuPassthroughSpec();
    DeviceSelector d = new DeviceSelector();
    devices.accept(d);
    s.setDevices(d);
    rest.accept(s);
    return s;
  }

  static Arguments bad(String name, GpuPassthroughSpec spec, String problem) {
    return Arguments.of(name, spec, problem);
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        bad("no selector at all", spec(d -> {}, s -> {}), "spec.devices: give addresses, vendorIds or classes"),
        bad("device without vendor", spec(d -> d.setDeviceIds(List.of("2236")), s -> {}),
            "spec.devices: deviceIds requires vendorIds (device IDs are only unique per vendor)"),
        bad("addresses mixed with filters",
            spec(d -> { d.setAddresses(List.of("0000:01:00.0")); d.setVendorIds(List.of("10de")); }, s -> {}),
            "spec.devices: addresses cannot be combined with vendorIds, deviceIds or classes"),
        bad("short bus number", spec(d -> d.setAddresses(List.of("0000:1:00.0")), s -> {}),
            "spec.devices.addresses[0]: '0000:1:00.0' is malformed; expected DDDD:BB:DD.F in lower-case hex, e.g. 0000:01:00.0"),
        bad("vendor with 0x", spec(d -> d.setVendorIds(List.of("10de", "0x10DE")), s -> {}),
            "spec.devices.vendorIds[1]: '0x10DE' is malformed; expected four lower-case hex digits without 0x, e.g. 10de"),
        bad("class with prog-if", spec(d -> d.setClasses(List.of("030000")), s -> {}),
            "spec.devices.classes[0]: '030000' is malformed; expected class and subclass as four lower-case hex digits, e.g. 0300"),
        bad("empty vendor list", spec(d -> d.setVendorIds(List.of()), s -> {}),
            "spec.devices.vendorIds: empty list; remove the field or give at least one value"),
        bad("resource name without domain", spec(d -> d.setVendorIds(List.of("10de")), s -> s.setResourceName("a10")),
            "spec.resourceName: 'a10' is not an extended resource name the kubelet accepts: expected exactly one '/'"
                + " as in <vendor domain>/<name>, e.g. nvidia.com/GA102GL_A10"),
        // Matches the schema's pattern; refused by every kubelet as a native resource (issue 9, item 5).
        bad("native kubernetes.io name", spec(d -> d.setVendorIds(List.of("10de")), s -> s.setResourceName("kubernetes.io/gpu")),
            "spec.resourceName: 'kubernetes.io/gpu' is not an extended resource name the kubelet accepts: the"
                + " kubernetes.io domain is reserved: " + ResourceNameRule.NOT_NATIVE_MESSAGE),
        bad("quota prefix", spec(d -> d.setVendorIds(List.of("10de")), s -> s.setResourceName("requests.example.com/gpu")),
            "spec.resourceName: 'requests.example.com/gpu' is not an extended resource name the kubelet accepts: "
                + ResourceNameRule.NOT_QUOTA_MESSAGE),
        bad("unknown selector operator", spec(d -> d.setVendorIds(List.of("10de")), s -> s.setNodeSelector(
                new LabelSelectorBuilder().withMatchExpressions(new LabelSelectorRequirementBuilder().withKey("gpu")
                    .withOperator("Equals").withValues("a10").build()).build())),
            "spec.nodeSelector.matchExpressions[0].operator: 'Equals' is not one of In, NotIn, Exists, DoesNotExist"),
        bad("In without values", spec(d -> d.setVendorIds(List.of("10de")), s -> s.setNodeSelector(
                new LabelSelectorBuilder().withMatchExpressions(new LabelSelectorRequirementBuilder().withKey("gpu")
                    .withOperator("In").build()).build())),
            "spec.nodeSelector.matchExpressions[0].values: operator In needs at least one value"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void rejectsWithAMessageNamingFieldValueAndExpectedForm(String name, GpuPassthroughSpec spec, String problem) {
    assertThatThrownBy(() -> SpecValidator.requireValid(spec))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.problems()).contains(problem));
  }

  @Test
  void acceptsTheSamplesShapes() throws InvalidSpecException {
    SpecValidator.requireValid(spec(d -> { d.setVendorIds(List.of("10de")); d.setDeviceIds(List.of("2236")); },
        s -> s.setResourceName("nvidia.com/GA102GL_A10")));
    SpecValidator.requireValid(spec(d -> d.setAddresses(List.of("0000:01:00.0", "0000:c1:1f.7")), s -> {}));
    SpecValidator.requireValid(spec(d -> d.setClasses(List.of("0302")), s -> {}));
  }

  @Test
  void missingSpecIsNamed() {
    assertThat(SpecValidator.problems(null)).containsExactly("spec: missing; give at least spec.devices");
  }
}
