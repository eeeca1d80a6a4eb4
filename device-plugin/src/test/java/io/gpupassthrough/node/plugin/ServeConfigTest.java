package io.gpupassthrough.node.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ServeConfigTest {
  @TempDir Path dir;

  private Path write(String yaml) throws Exception {
    return Files.writeString(dir.resolve("serve.yaml"), yaml);
  }

  private static AdvertisedDevice gpu(String address) {
    return new AdvertisedDevice(address, 0x10de, 0x2236, Optional.of("GA102GL [A10]"), 1,
        OptionalInt.empty(), Optional.empty(), DeviceHealth.HEALTHY, Optional.empty());
  }

  @Test
  void addressOverrideWinsOverIdsOverrideWhichWinsOverTheDefault() throws Exception {
    ServeConfig config = ServeConfig.read(write("""
        resourceNames:
          "10DE:2236": example.com/a10
          "0000:41:00.0": example.com/big-a10
        """));
    StandaloneDesiredState desired = new StandaloneDesiredState(config.resourceNames());

    assertThat(desired.resourceFor(gpu("0000:41:00.0"))).contains(ResourceName.parse("example.com/big-a10"));
    assertThat(desired.resourceFor(gpu("0000:01:00.0"))).contains(ResourceName.parse("example.com/a10"));
    assertThat(new StandaloneDesiredState(java.util.Map.of()).resourceFor(gpu("0000:01:00.0")))
        .contains(ResourceName.parse("nvidia.com/GA102GL_A10"));
  }

  @Test
  void emptyFileMeansNoOverrides() throws Exception {
    assertThat(ServeConfig.read(write("")).resourceNames()).isEmpty();
  }

  static Stream<Arguments> bad() {
    return Stream.of(
        Arguments.of("unknown key", "resourceName:\n  a: b\n", "unknown key 'resourceName'"),
        Arguments.of("key neither address nor ids", "resourceNames:\n  gpu0: example.com/a\n", "neither a PCI address"),
        Arguments.of("invalid resource name", "resourceNames:\n  \"10de:2236\": Example.com/a\n", "DNS subdomain"),
        Arguments.of("value not a string", "resourceNames:\n  \"10de:2236\": [a]\n", "must be a string"),
        Arguments.of("not YAML", "resourceNames: [\n", "cannot read"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bad")
  void badConfigIsRefusedNamingFileAndKey(String name, String yaml, String message) throws Exception {
    Path file = write(yaml);
    assertThatThrownBy(() -> ServeConfig.read(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining(message);
  }
}
