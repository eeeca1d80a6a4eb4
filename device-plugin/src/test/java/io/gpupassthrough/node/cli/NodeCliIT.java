package io.gpupassthrough.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpupassthrough.node.fixtures.FixtureHosts;
import io.gpupassthrough.node.fixtures.TreeDiffs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** scan / prepare / restore as an admin runs them, on fixture host roots. */
class NodeCliIT {
  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new GpuptNode());
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private static String fixture(String name) {
    return FixtureHosts.DIR.resolve(name).toString();
  }

  @Test
  void scanJsonHasTheContractFields() throws Exception {
    Run r = run("scan", "--host-root", fixture("uefi-efifb"), "--output", "json");

    assertThat(r.exit()).isZero();
    JsonNode gpu = new ObjectMapper().readTree(r.out()).get("devices").get(0);
    assertThat(gpu.get("address").asText()).isEqualTo("0000:01:00.0");
    assertThat(gpu.get("vendor").asText()).isEqualTo("10de");
    assertThat(gpu.get("device").asText()).isEqualTo("2236");
    assertThat(gpu.get("class").asText()).isEqualTo("030000");
    assertThat(gpu.get("driver").asText()).isEqualTo("nouveau");
    assertThat(gpu.get("iommuGroup").asInt()).isEqualTo(1);
    assertThat(gpu.get("bootVga").asBoolean()).isTrue();
    assertThat(gpu.get("companions")).extracting(JsonNode::asText).containsExactly("0000:01:00.1");
    assertThat(gpu.get("advertisable").asBoolean()).isFalse();
    assertThat(gpu.get("reason").isNull()).isTrue();
    JsonNode efifb = gpu.get("conflicts").get(1);
    assertThat(efifb.get("kind").asText()).isEqualTo("framebuffer");
    assertThat(efifb.get("name").asText()).isEqualTo("efi-framebuffer.0");
    assertThat(efifb.get("driver").asText()).isEqualTo("efifb");
    assertThat(efifb.get("start").asText()).isEqualTo("380000000000");
    assertThat(efifb.get("end").asText()).isEqualTo("3800002fffff");
    assertThat(gpu.get("conflicts").get(0).get("kind").asText()).isEqualTo("vtconsole");
  }

  /**
   * qemu's secondary-vga and ich9-intel-hda behind a pcie-pci-bridge share one IOMMU group with the
   * bridge (DESIGN §9): companions are what goes to vfio-pci with the GPU, so the bridge is not one;
   * the whole group is still listed in iommuGroupMembers.
   */
  @Test
  void scanCompanionsExcludeTheBridgeOfTheIommuGroup() throws Exception {
    Run json = run("scan", "--host-root", fixture("gpu-hdmi-audio-group"), "-o", "json");
    Run table = run("scan", "--host-root", fixture("gpu-hdmi-audio-group"));

    JsonNode gpu = null;
    for (JsonNode d : new ObjectMapper().readTree(json.out()).get("devices")) {
      gpu = d.get("address").asText().equals("0000:01:01.0") ? d : gpu;
    }
    assertThat(gpu).isNotNull();
    assertThat(gpu.get("iommuGroup").asInt()).isEqualTo(5);
    assertThat(gpu.get("companions")).extracting(JsonNode::asText).containsExactly("0000:01:02.0");
    assertThat(gpu.get("iommuGroupMembers")).extracting(JsonNode::asText)
        .containsExactly("0000:00:03.0", "0000:01:01.0", "0000:01:02.0");
    assertThat(table.out()).contains("5 (+0000:01:02.0) ").doesNotContain("0000:00:03.0");
  }

  @Test
  void scanJsonMarksBlockedAndAdvertisableDevices() throws Exception {
    JsonNode noIommu = new ObjectMapper().readTree(
        run("scan", "--host-root", fixture("no-iommu"), "-o", "json").out()).get("devices").get(0);
    JsonNode vfio = new ObjectMapper().readTree(
        run("scan", "--host-root", fixture("already-vfio"), "-o", "json").out()).get("devices").get(0);

    assertThat(noIommu.get("iommuGroup").isNull()).isTrue();
    assertThat(noIommu.get("reason").asText()).isEqualTo("NoIommu");
    assertThat(vfio.get("advertisable").asBoolean()).isTrue();
    assertThat(vfio.get("reason").isNull()).isTrue();
  }

  @Test
  void scanTableNamesDevicesStatesAndConflicts() {
    Run r = run("scan", "--host-root", fixture("uefi-efifb"));

    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("ADDRESS", "0000:01:00.0", "NVIDIA GA102GL [A10]", "ready to prepare",
        "efi-framebuffer.0[efifb] 380000000000-3800002fffff", "vtcon1[fbcon]");
  }

  @Test
  void malformedHostFileExitsThreeNamingTheFile() {
    Run r = run("scan", "--host-root", fixture("bad-resource"));

    assertThat(r.exit()).isEqualTo(ExitCodes.HOST_UNREADABLE);
    assertThat(r.err()).contains("0000:01:00.0/resource line 1", "expected 3 hex fields");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void directoryThatIsNotAHostRootIsRejected() {
    Run r = run("prepare", "--host-root", fixture("bad-not-a-host-root"));

    assertThat(r.exit()).isEqualTo(ExitCodes.HOST_UNREADABLE);
    assertThat(r.err()).contains("not a Linux host root");
  }

  @Test
  void prepareTwiceThenRestoreRoundTripsTheHost() throws Exception {
    Path host = FixtureHosts.copy("uefi-efifb", dir.resolve("host"));

    Run first = run("prepare", "--host-root", host.toString(), "--simulated-kernel");
    Run second = run("prepare", "--host-root", host.toString(), "--simulated-kernel");
    Run restore = run("restore", "--host-root", host.toString(), "--simulated-kernel");

    assertThat(first.exit()).as(first.out() + first.err()).isZero();
    assertThat(first.out()).contains("prepared, verified on vfio-pci", "[done]    unbind fbcon from vtcon1");
    assertThat(second.exit()).isZero();
    assertThat(second.out()).contains("already on vfio-pci, nothing to do");
    assertThat(restore.exit()).as(restore.out()).isZero();
    assertThat(restore.out()).contains("[restored] 0000:01:00.0: on nouveau again");
    List<String> diff = new ArrayList<>(TreeDiffs.between(FixtureHosts.DIR.resolve("uefi-efifb"), host));
    diff.removeIf(line -> line.contains(".simkernel"));
    assertThat(diff).isEmpty();
  }

  @Test
  void dryRunPrintsThePlanAndWritesNothing() throws Exception {
    Path host = FixtureHosts.copy("uefi-efifb", dir.resolve("host"));

    Run r = run("prepare", "--host-root", host.toString(), "--simulated-kernel", "--dry-run");

    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("would run 8 step(s)", "[plan]    unbind efi-framebuffer.0 from efi-framebuffer",
        "dry run: nothing was written");
    assertThat(TreeDiffs.between(FixtureHosts.DIR.resolve("uefi-efifb"), host)).isEmpty();
  }

  @Test
  void refusedDeviceExitsOneWithReasonInJson() throws Exception {
    Path host = FixtureHosts.copy("no-iommu", dir.resolve("host"));

    Run r = run("prepare", "--host-root", host.toString(), "--simulated-kernel", "-o", "json");

    assertThat(r.exit()).isEqualTo(ExitCodes.NOT_ALL_VERIFIED);
    JsonNode d = new ObjectMapper().readTree(r.out()).get("devices").get(0);
    assertThat(d.get("result").asText()).isEqualTo("refused");
    assertThat(d.get("reason").asText()).isEqualTo("NoIommu");
    assertThat(d.get("verified").asBoolean()).isFalse();
  }

  @Test
  void plainFilesWithoutAKernelNeverClaimSuccess() throws Exception {
    // Without --simulated-kernel a fixture tree is just files: writes "succeed", nothing binds.
    Path host = FixtureHosts.copy("uefi-efifb", dir.resolve("host"));

    Run r = run("prepare", "--host-root", host.toString());

    assertThat(r.exit()).isEqualTo(ExitCodes.NOT_ALL_VERIFIED);
    assertThat(r.out()).contains("FAILED (BindFailed)", "rolled back");
  }

  @Test
  void badSelectionIsAUsageErrorSayingWhatIsExpected() {
    Run r = run("prepare", "--host-root", fixture("uefi-efifb"), "--device", "01:00.0");

    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("expected DDDD:BB:SS.F such as 0000:01:00.0");
  }

  @Test
  void selectionThatMatchesNothingExitsOne() {
    Run r = run("prepare", "--host-root", fixture("uefi-efifb"), "--dry-run", "--vendor-device", "1002");

    assertThat(r.exit()).isEqualTo(ExitCodes.NOT_ALL_VERIFIED);
    assertThat(r.err()).contains("no GPU matched the selection");
  }

  @Test
  void verboseLogsEverySysfsRead() {
    Run r = run("scan", "--host-root", fixture("uefi-efifb"), "--verbose");

    assertThat(r.err()).contains("sysfs: read /sys/bus/pci/devices/0000:01:00.0/class = 0x030000",
        "sysfs: link /sys/bus/pci/devices/0000:01:00.0/driver = nouveau");
  }

  @Test
  void helpTeachesTheCommands() {
    Run r = run("prepare", "--help");

    assertThat(r.out()).contains("--dry-run", "--device", "--vendor-device", "--class",
        "--console-conflicts", "Exit codes");
  }
}
