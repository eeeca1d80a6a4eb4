package io.gpupassthrough.node.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WriteTargetTest {
  static Stream<Arguments> writes() {
    return Stream.of(
        Arguments.of("/sys/bus/pci/drivers/vfio-pci/unbind", "0000:41:00.0", "0000:41:00.0"),
        Arguments.of("/sys/bus/pci/drivers/nouveau/bind", "0000:41:00.0\n", "0000:41:00.0"),
        Arguments.of("/sys/bus/pci/drivers_probe", "0000:41:00.1", "0000:41:00.1"),
        Arguments.of("/sys/bus/pci/devices/0000:41:00.0/driver_override", "vfio-pci", "0000:41:00.0"),
        Arguments.of("/sys/bus/platform/drivers/efi-framebuffer/unbind", "efi-framebuffer.0", "efi-framebuffer.0"),
        Arguments.of("/sys/class/vtconsole/vtcon1/bind", "0", "vtcon1"),
        Arguments.of("/sys/bus/pci/rescan", "1", "/sys/bus/pci/rescan"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("writes")
  void aWriteIsAboutTheDeviceTheKernelLocksForIt(String attribute, String value, String target) {
    assertThat(WriteTarget.of(attribute, value)).isEqualTo(target);
  }
}
