package io.gpupassthrough.node.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads host roots laid out like real sysfs (relative links through /sys/devices). */
class SnapshotReaderIT {
  @TempDir Path dir;

  private static final String PCI_IDS = """
      # excerpt of pci.ids
      10de  NVIDIA Corporation
      \t1aef  GA102 High Definition Audio Controller
      \t2236  GA102GL [A10]
      \t\t10de 1482  A10
      8086  Intel Corporation
      C 03  Display controller
      """;

  private SimulatedHost uefiHost() {
    return SimulatedHostBuilder.create()
        .pciIds(PCI_IDS)
        .bridge("0000:00:01.0", b -> b.iommuGroup(1))
        .gpu("0000:01:00.0", g -> g.behind("0000:00:01.0").bootVga().numaNode(0).driver("nouveau")
            .iommuGroup(1))
        .hdmiAudio("0000:01:00.1", a -> a.behind("0000:00:01.0").iommuGroup(1))
        .efiFramebuffer("0000:01:00.0")
        .build(dir);
  }

  @Test
  void readsGpuIdsBarsLinksAndNamesFromSysfs() {
    SimulatedHost host = uefiHost();
    Snapshot s = new SnapshotReader(FileSystemHostRoot.open(host.root())).read();

    assertThat(s.gpus()).hasSize(1);
    PciDevice gpu = s.gpus().get(0);
    assertThat(gpu.address()).hasToString("0000:01:00.0");
    assertThat(gpu.vendorHex()).isEqualTo("10de");
    assertThat(gpu.deviceHex()).isEqualTo("2236");
    assertThat(gpu.subsystemDevice()).isEqualTo(0x1482);
    assertThat(gpu.classHex()).isEqualTo("030000");
    assertThat(gpu.bootVga()).isTrue();
    assertThat(gpu.numaNode()).isZero();
    assertThat(gpu.driver()).contains("nouveau");
    assertThat(gpu.iommuGroup()).hasValue(1);
    assertThat(gpu.driverOverride()).isEmpty();
    assertThat(gpu.vendorName()).contains("NVIDIA Corporation");
    assertThat(gpu.deviceName()).contains("GA102GL [A10]");
    assertThat(gpu.apertures()).extracting(Bar::index).containsExactly(0, 1, 3);
    assertThat(s.groupPeers(gpu)).extracting(d -> d.address().toString())
        .containsExactly("0000:00:01.0", "0000:01:00.1");
    assertThat(s.platformFramebuffers()).singleElement()
        .satisfies(fb -> assertThat(fb.driver()).contains("efi-framebuffer"));
    assertThat(s.vtConsoles()).extracting(VtConsole::id).containsExactly("vtcon0", "vtcon1");
    assertThat(s.framebuffers()).singleElement()
        .satisfies(fb -> assertThat(fb.device()).contains("efi-framebuffer.0"));
    assertThat(s.iomem().named("efifb")).singleElement()
        .satisfies(r -> assertThat(r.start()).isEqualTo(gpu.bars().get(0).start()));
    assertThat(s.iomem().addressesHidden()).isFalse();
    assertThat(s.vfioPciLoaded()).isTrue();
    assertThat(s.kernelRelease()).contains("6.1.0-18-amd64");
  }

  @Test
  void danglingDriverLinkIsAnErrorNamingTheLink() throws Exception {
    SimulatedHost host = uefiHost();
    Files.delete(host.root().resolve("sys/bus/pci/drivers/nouveau/bind"));
    Files.delete(host.root().resolve("sys/bus/pci/drivers/nouveau/unbind"));
    Files.delete(host.root().resolve("sys/bus/pci/drivers/nouveau/new_id"));
    Files.delete(host.root().resolve("sys/bus/pci/drivers/nouveau/remove_id"));
    Files.delete(host.root().resolve("sys/bus/pci/drivers/nouveau/uevent"));
    Files.delete(host.root().resolve("sys/bus/pci/drivers/nouveau/0000:01:00.0"));
    Files.delete(host.root().resolve("sys/bus/pci/drivers/nouveau"));

    assertThatThrownBy(() -> new SnapshotReader(FileSystemHostRoot.open(host.root())).read())
        .isInstanceOf(HostReadException.class)
        .hasMessageContaining("0000:01:00.0/driver")
        .hasMessageContaining("dangling symlink");
  }

  @Test
  void directoryWithoutSysBusPciIsNotAHostRoot() {
    assertThatThrownBy(() -> FileSystemHostRoot.open(dir))
        .isInstanceOf(HostReadException.class)
        .hasMessageContaining("not a Linux host root");
  }
}
