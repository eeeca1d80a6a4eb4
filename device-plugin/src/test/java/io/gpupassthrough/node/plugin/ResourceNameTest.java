package io.gpupassthrough.node.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ResourceNameTest {

  static Stream<Arguments> defaults() {
    return Stream.of(
        Arguments.of("NVIDIA A10 named by pci.ids", 0x10de, 0x2236, "GA102GL [A10]", "nvidia.com/GA102GL_A10"),
        Arguments.of("NVIDIA name with slash and dot", 0x10de, 0x1db6, "GV100GL [Tesla V100 PCIe 32GB]", "nvidia.com/GV100GL_TESLA_V100_PCIE_32GB"),
        Arguments.of("AMD named by pci.ids", 0x1002, 0x73bf, "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]", "amd.com/NAVI_21_RADEON_RX_6800_6800_XT_6900_XT"),
        Arguments.of("NVIDIA unknown to pci.ids", 0x10de, 0xffff, null, "gpupassthrough.io/10de_ffff"),
        Arguments.of("vendor without a domain (QEMU std VGA)", 0x1234, 0x1111, "QEMU Virtual Video Controller", "gpupassthrough.io/1234_1111"),
        Arguments.of("name of only punctuation", 0x10de, 0x0001, "[ ]", "gpupassthrough.io/10de_0001"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("defaults")
  void defaultNameFollowsPciIdsWithHexFallback(String name, int vendor, int device, String pciIds, String expected) {
    assertThat(ResourceName.defaultFor(vendor, device, Optional.ofNullable(pciIds)))
        .hasToString(expected);
  }

  @Test
  void longPciIdsNamesAreCutTo63Characters() {
    ResourceName r =
        ResourceName.defaultFor(0x10de, 0x1, Optional.of("A".repeat(40) + " " + "B".repeat(40)));
    assertThat(r.name()).hasSizeLessThanOrEqualTo(63).doesNotEndWith("_");
  }

  static Stream<Arguments> envVars() {
    return Stream.of(
        Arguments.of("nvidia.com/GA102GL_A10", "PCI_RESOURCE_NVIDIA_COM_GA102GL_A10"),
        Arguments.of("gpupassthrough.io/10de_2236", "PCI_RESOURCE_GPUPASSTHROUGH_IO_10DE_2236"),
        Arguments.of("example.com/gpu.large", "PCI_RESOURCE_EXAMPLE_COM_GPU_LARGE"),
        // KubeVirt only maps '/' and '.'; a '-' stays as it is.
        Arguments.of("my-vendor.example/a-gpu", "PCI_RESOURCE_MY-VENDOR_EXAMPLE_A-GPU"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("envVars")
  void envVarNameIsExactlyWhatKubevirtReads(String resource, String env) {
    assertThat(ResourceName.parse(resource).envVarName()).isEqualTo(env);
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("no slash", "gpu", "exactly one '/'"),
        Arguments.of("two slashes", "a.com/b/c", "exactly one '/'"),
        Arguments.of("empty", "", "empty"),
        Arguments.of("upper-case domain", "NVIDIA.com/gpu", "DNS subdomain"),
        Arguments.of("domain with underscore", "my_vendor.com/gpu", "DNS subdomain"),
        Arguments.of("empty domain", "/gpu", "vendor domain before '/' is empty"),
        Arguments.of("empty name", "nvidia.com/", "name after '/' is empty"),
        Arguments.of("name too long", "nvidia.com/" + "a".repeat(64), "at most 63"),
        Arguments.of("name with space", "nvidia.com/A 10", "may only contain"),
        Arguments.of("name ending in dash", "nvidia.com/a10-", "start and end"),
        Arguments.of("reserved domain", "kubernetes.io/gpu", "reserved"),
        Arguments.of("reserved subdomain", "node.kubernetes.io/gpu", "reserved"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void parseRejectsWhatTheKubeletWouldRefuse(String name, String text, String message) {
    assertThatThrownBy(() -> ResourceName.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @Test
  void socketFileNameIsShortUniqueAndPathFree() {
    ResourceName a = ResourceName.parse("nvidia.com/GA102GL_A10");
    ResourceName b = ResourceName.parse("nvidia.com/GA102GL_A10G");
    ResourceName huge = ResourceName.parse("a".repeat(60) + ".example.com/" + "B".repeat(63));

    assertThat(a.socketFileName()).startsWith("gpupt-nvidia.com_GA102GL_A10-").endsWith(".sock");
    assertThat(a.socketFileName()).isNotEqualTo(b.socketFileName()).doesNotContain("/");
    assertThat(huge.socketFileName().length()).isLessThanOrEqualTo(70);
  }
}
