package io.gpupassthrough.node.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** One parse per kernel format; malformed input names the file, the line and what was expected. */
class KernelFormatsTest {
  private static final Path RESOURCE = Path.of("/sys/bus/pci/devices/0000:01:00.0/resource");
  private static final Path IOMEM = Path.of("/proc/iomem");

  @Test
  void resourceLinesBecomeBarsWithFlagsAndUnusedLinesStayZero() {
    List<Bar> bars = KernelFormats.parseResource(RESOURCE, List.of(
        "0x00000000fd000000 0x00000000fdffffff 0x0000000000040200",
        "0x0000000000000000 0x0000000000000000 0x0000000000000000",
        "0x0000380000000000 0x000038000fffffff 0x000000000014220c",
        "0x0000000000000000 0x0000000000000000 0x0000000000000000",
        "0x0000000000000000 0x0000000000000000 0x0000000000000000",
        "0x000000000000e000 0x000000000000e07f 0x0000000000040101",
        "0x00000000fe000000 0x00000000fe07ffff 0x0000000000046200"));

    assertThat(bars).hasSize(7);
    assertThat(bars.get(0).isMemoryAperture()).isTrue();
    assertThat(bars.get(0).size()).isEqualTo(16 << 20);
    assertThat(bars.get(1).isUsed()).isFalse();
    assertThat(bars.get(2).start()).isEqualTo(0x380000000000L);
    assertThat(bars.get(5).isMemoryAperture()).as("I/O BAR").isFalse();
    assertThat(bars.get(6).isMemoryAperture()).as("expansion ROM is not an aperture").isFalse();
    assertThat(bars).filteredOn(Bar::isMemoryAperture).extracting(Bar::index).containsExactly(0, 2);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      two fields           | 0x00000000fd000000 0x00000000fdffffff                     | line 1: found '0x00000000fd000000 0x00000000fdffffff', expected 3 hex fields
      no 0x prefix         | 00000000fd000000 0x00000000fdffffff 0x0000000000040200    | line 1: field 1 '00000000fd000000' is not 0x-prefixed hex
      not hex              | 0x00000000fd00000g 0x00000000fdffffff 0x0000000000040200  | line 1: field 1 '0x00000000fd00000g' is not 0x-prefixed hex
      end below start      | 0x00000000fe000000 0x00000000fdffffff 0x0000000000040200  | line 1: end 0x00000000fdffffff is below start
      """)
  void malformedResourceLineIsRejectedWithFileAndLine(String name, String line, String message) {
    assertThatThrownBy(() -> KernelFormats.parseResource(RESOURCE, List.of(line)))
        .isInstanceOf(HostReadException.class)
        .hasMessageStartingWith(RESOURCE.toString())
        .hasMessageContaining(message);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      VGA               | 0x030000 | 196608
      3D controller     | 0x030200 | 197120
      display other     | 0x038000 | 229376
      HD audio          | 0x040300 | 262912
      """)
  void classIsTwentyFourBitHex(String name, String text, int value) {
    assertThat(KernelFormats.parseClass(Path.of("class"), text + "\n")).isEqualTo(value);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      words             | VGA compatible controller
      no 0x             | 030000
      too long          | 0x0300000
      empty             | ''
      """)
  void malformedClassIsRejected(String name, String text) {
    assertThatThrownBy(() -> KernelFormats.parseClass(Path.of("/sys/x/class"), text))
        .isInstanceOf(HostReadException.class)
        .hasMessageContaining("/sys/x/class")
        .hasMessageContaining("expected a 24-bit hex class such as 0x030000");
  }

  @Test
  void iomemNestsByTwoSpacesPerLevel() {
    IomemTree tree = KernelFormats.parseIomem(IOMEM, List.of(
        "00000000-00000fff : Reserved",
        "80000000-afffffff : PCI Bus 0000:00",
        "  80000000-80ffffff : 0000:00:01.0",
        "    80000000-802fffff : efifb",
        "  81000000-81000fff : 0000:00:01.0",
        "b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]"));

    assertThat(tree.roots()).hasSize(3);
    assertThat(tree.roots().get(1).children()).hasSize(2);
    assertThat(tree.named("efifb")).singleElement().satisfies(r -> {
      assertThat(r.depth()).isEqualTo(2);
      assertThat(r.end()).isEqualTo(0x802fffffL);
    });
    assertThat(tree.overlapping(0x80100000L, 0x80100000L)).extracting(IomemRange::name)
        .containsExactly("PCI Bus 0000:00", "0000:00:01.0", "efifb");
    assertThat(tree.addressesHidden()).isFalse();
  }

  @Test
  void iomemOfNonRootReaderIsFlaggedHidden() {
    IomemTree tree = KernelFormats.parseIomem(IOMEM, List.of(
        "00000000-00000000 : Reserved", "  00000000-00000000 : efifb"));
    assertThat(tree.addressesHidden()).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      missing colon     | 80000000-afffffff PCI Bus                     | line 2: found '80000000-afffffff PCI Bus', expected 'start-end : name'
      odd indent        | '   80000000-afffffff : PCI Bus'              | line 2: indent of 3 spaces, expected a multiple of two
      skipped level     | '    80000000-afffffff : PCI Bus'             | line 2: nested 2 levels deep
      not hex           | 8000000z-afffffff : PCI Bus                   | line 2: found '8000000z-afffffff : PCI Bus', expected hex
      """)
  void malformedIomemLineIsRejectedWithLineNumber(String name, String line, String message) {
    assertThatThrownBy(() -> KernelFormats.parseIomem(IOMEM, List.of("00000000-00000fff : Reserved", line)))
        .isInstanceOf(HostReadException.class)
        .hasMessageStartingWith("/proc/iomem")
        .hasMessageContaining(message);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      unset             | (null)   | ''
      vfio              | vfio-pci | vfio-pci
      """)
  void driverOverrideNullMeansUnset(String name, String text, String expected) {
    assertThat(KernelFormats.parseDriverOverride(text + "\n").orElse("")).isEqualTo(expected);
  }

  @Test
  void flagsAndNumaNodesAreStrict() {
    assertThat(KernelFormats.parseFlag(Path.of("boot_vga"), "1\n")).isTrue();
    assertThat(KernelFormats.parseNumaNode(Path.of("numa_node"), "-1\n")).isEqualTo(-1);
    assertThatThrownBy(() -> KernelFormats.parseFlag(Path.of("boot_vga"), "yes"))
        .hasMessageContaining("expected 0 or 1");
    assertThatThrownBy(() -> KernelFormats.parseNumaNode(Path.of("numa_node"), "-2"))
        .hasMessageContaining("expected -1 or a node number");
  }

  @Test
  void pciAddressParsesCanonicalFormOnly() {
    assertThat(PciAddress.parse("0000:01:00.1")).isEqualTo(new PciAddress(0, 1, 0, 1));
    assertThat(PciAddress.parse("0000:01:1f.7")).hasToString("0000:01:1f.7");
    assertThatThrownBy(() -> PciAddress.parse("01:00.0"))
        .hasMessageContaining("expected DDDD:BB:SS.F such as 0000:01:00.0");
  }
}
