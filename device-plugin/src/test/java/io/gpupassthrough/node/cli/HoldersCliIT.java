package io.gpupassthrough.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gpupassthrough.node.fixtures.FixtureHosts;
import io.gpupassthrough.node.holders.FakePodResources;
import io.gpupassthrough.node.host.SysfsPaths;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** "Who has it?" from the CLI: scan, restore and prepare on fixture hosts with holders. */
class HoldersCliIT {
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

  @Test
  void scanTableAnswersWhoHasEachGpu() {
    Run r = run("scan", "--host-root", FixtureHosts.DIR.resolve("host-driver-held").toString());

    assertThat(r.exit()).isZero();
    assertThat(r.out().lines().findFirst().orElseThrow()).endsWith("CONFLICTS  HELD BY");
    assertThat(r.out()).contains("pid 1200 (Xorg), pid 1300 (pulseaudio)", "pid 2000 (python3)",
        "0000:02:00.0 is held: pid 2000 python3 (container 0c9b8a7f6e5d) has /dev/nvidia0 open");
  }

  @Test
  void scanJsonAddsHoldersAndKeepsTheContractFields() throws Exception {
    Path root = FixtureHosts.copy("vfio-held", dir.resolve("host"));
    try (FakePodResources kubelet = FakePodResources.serve(new SysfsPaths(root).podResourcesSocket())) {
      kubelet.allocate("default", "virt-launcher-vm1-x", "compute", "nvidia.com/GA102GL_A10", "0000:01:00.0");

      Run r = run("scan", "--host-root", root.toString(), "--output", "json");

      assertThat(r.exit()).isZero();
      JsonNode json = new ObjectMapper().readTree(r.out());
      JsonNode gpu = json.get("devices").get(0);
      for (String field : new String[] {"address", "vendor", "device", "class", "driver", "iommuGroup", "bootVga",
          "companions", "conflicts", "advertisable", "reason"}) {
        assertThat(gpu.has(field)).as("contract field " + field).isTrue();
      }
      assertThat(gpu.get("advertisable").asBoolean()).isTrue();
      assertThat(gpu.get("allocatedTo").get(0).get("pod").asText()).isEqualTo("virt-launcher-vm1-x");
      assertThat(gpu.get("allocatedTo").get(0).get("container").asText()).isEqualTo("compute");
      JsonNode qemu = gpu.get("hostHolders").get(0);
      assertThat(qemu.get("pid").asLong()).isEqualTo(4242);
      assertThat(qemu.get("containerId").asText()).isEqualTo(FixtureHosts.VM_CONTAINER);
      assertThat(qemu.get("file").asText()).isEqualTo("/dev/vfio/1");
      assertThat(json.get("holderCheck").get("complete").asBoolean()).isTrue();
    }
  }

  @Test
  void noHoldersLeavesTheHolderFieldsOut() throws Exception {
    Run r = run("scan", "--host-root", FixtureHosts.DIR.resolve("vfio-held").toString(), "-o", "json", "--no-holders");
    JsonNode gpu = new ObjectMapper().readTree(r.out()).get("devices").get(0);
    assertThat(gpu.has("hostHolders")).isFalse();
    assertThat(run("scan", "--host-root", FixtureHosts.DIR.resolve("vfio-held").toString(), "--no-holders").out())
        .doesNotContain("HELD BY");
  }

  @Test
  void restoreOfAHeldGpuListsItAsHeldAndExitsOne() {
    Path root = FixtureHosts.copy("vfio-held", dir.resolve("host"));

    Run r = run("restore", "--host-root", root.toString(), "--simulated-kernel", "--pod-resources-socket", "none");

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).contains("[held]     0000:01:00.0: waiting for pid 4242 (qemu-kvm) to release 0000:01:00.0",
        "[held]     0000:01:00.1:");
  }

  @Test
  void prepareOfGpusInUseRefusesThemWithDeviceInUse() throws Exception {
    Path root = FixtureHosts.copy("host-driver-held", dir.resolve("host"));

    Run r = run("prepare", "--host-root", root.toString(), "--simulated-kernel", "--output", "json");

    assertThat(r.exit()).isEqualTo(1);
    JsonNode devices = new ObjectMapper().readTree(r.out()).get("devices");
    assertThat(devices).allSatisfy(d -> {
      assertThat(d.get("result").asText()).isEqualTo("refused");
      assertThat(d.get("reason").asText()).isEqualTo("DeviceInUse");
    });
    assertThat(devices.get(1).get("message").asText()).contains("pid 2000 python3");
  }

  @Test
  void aWriteTimeoutBelowOneSecondIsABadFlag() {
    Run r = run("restore", "--host-root", FixtureHosts.DIR.resolve("vfio-held").toString(), "--write-timeout", "0");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--write-timeout must be at least 1 second");
  }
}
