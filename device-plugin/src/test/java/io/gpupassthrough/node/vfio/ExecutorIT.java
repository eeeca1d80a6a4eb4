package io.gpupassthrough.node.vfio;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.host.FileSystemHostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.SnapshotReader;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import io.gpupassthrough.node.vfio.DeviceOutcome.Result;
import io.gpupassthrough.node.vfio.StepRecord.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executor against the simulated kernel: real sysfs layout, kernel semantics for writes. */
class ExecutorIT {
  private static final PciAddress GPU = PciAddress.parse("0000:01:00.0");
  private static final PciAddress AUDIO = PciAddress.parse("0000:01:00.1");
  private static final PciAddress SECOND = PciAddress.parse("0000:02:00.0");

  @TempDir Path dir;
  private final List<String> writes = new CopyOnWriteArrayList<>();

  private SimulatedHost uefiHost(SimulatedHostBuilder b) {
    SimulatedHost host = b
        .bridge("0000:00:01.0", p -> p.iommuGroup(1))
        .gpu("0000:01:00.0", g -> g.behind("0000:00:01.0").bootVga().driver("nouveau").iommuGroup(1))
        .hdmiAudio("0000:01:00.1", a -> a.behind("0000:00:01.0").iommuGroup(1))
        .efiFramebuffer("0000:01:00.0")
        .build(dir);
    host.kernel().beforeWrite((path, value) -> writes.add(path + " <- " + value.strip()));
    return host;
  }

  private static Preparation.Report prepare(SimulatedHost host, DeviceSelection selection) {
    return new Preparation(host.kernel(), e -> {}).prepare(
        selection, ConsoleConflictPolicy.DETACH, true, false);
  }

  private Snapshot snapshot(SimulatedHost host) {
    return new SnapshotReader(FileSystemHostRoot.open(host.root())).read();
  }

  @Test
  void uefiGpuDetachesFbconThenEfifbThenBindsWholeGroupAndVerifies() {
    SimulatedHost host = uefiHost(SimulatedHostBuilder.create());

    Preparation.Report report = prepare(host, DeviceSelection.allGpus());

    assertThat(report.outcomes()).singleElement()
        .satisfies(o -> assertThat(o.result()).isEqualTo(Result.PREPARED));
    assertThat(writes).containsExactly(
        "/sys/class/vtconsole/vtcon1/bind <- 0",
        "/sys/bus/platform/drivers/efi-framebuffer/unbind <- efi-framebuffer.0",
        "/sys/bus/pci/drivers/nouveau/unbind <- 0000:01:00.0",
        "/sys/bus/pci/drivers/snd_hda_intel/unbind <- 0000:01:00.1",
        "/sys/bus/pci/devices/0000:01:00.0/driver_override <- vfio-pci",
        "/sys/bus/pci/devices/0000:01:00.1/driver_override <- vfio-pci",
        "/sys/bus/pci/drivers_probe <- 0000:01:00.0",
        "/sys/bus/pci/drivers_probe <- 0000:01:00.1");
    Snapshot after = snapshot(host);
    assertThat(after.device(GPU).orElseThrow().driver()).contains("vfio-pci");
    assertThat(after.device(AUDIO).orElseThrow().driver()).contains("vfio-pci");
    assertThat(after.device(PciAddress.parse("0000:00:01.0")).orElseThrow().driver()).contains("pcieport");
    assertThat(after.iomem().named("efifb")).isEmpty();
    assertThat(after.vfioGroupNodes()).containsExactly(1);
    assertThat(Verifier.verifiedGpus(after)).hasSize(1);
  }

  @Test
  void secondRunOnPreparedHostWritesNothingAndSaysSo() {
    SimulatedHost host = uefiHost(SimulatedHostBuilder.create());
    prepare(host, DeviceSelection.allGpus());
    writes.clear();

    Preparation.Report again = prepare(host, DeviceSelection.allGpus());

    assertThat(writes).isEmpty();
    assertThat(again.outcomes()).singleElement().satisfies(o -> {
      assertThat(o.result()).isEqualTo(Result.ALREADY_PREPARED);
      assertThat(o.message()).contains("nothing to do");
    });
  }

  @Test
  void failedCompanionBindRollsBackToOriginalDriversAndConsole() {
    SimulatedHost host = uefiHost(SimulatedHostBuilder.create());
    host.kernel().failProbe(AUDIO);

    Preparation.Report report = prepare(host, DeviceSelection.allGpus());

    DeviceOutcome o = report.outcomes().get(0);
    assertThat(o.result()).isEqualTo(Result.FAILED);
    assertThat(o.reason()).contains(Reason.BIND_FAILED);
    assertThat(o.message()).contains("0000:01:00.1").contains("rolled back to the original drivers");
    assertThat(o.steps()).extracting(StepRecord::status).contains(Status.FAILED);
    Snapshot after = snapshot(host);
    assertThat(after.device(GPU).orElseThrow().driver()).contains("nouveau");
    assertThat(after.device(GPU).orElseThrow().driverOverride()).isEmpty();
    assertThat(after.device(AUDIO).orElseThrow().driver()).contains("snd_hda_intel");
    assertThat(after.iomem().named("efifb")).hasSize(1);
    assertThat(after.platformFramebuffers().get(0).driver()).contains("efi-framebuffer");
    assertThat(after.vtConsoles()).anySatisfy(vt -> {
      assertThat(vt.isFbcon()).isTrue();
      assertThat(vt.bound()).isTrue();
    });
    assertThat(after.vfioGroupNodes()).isEmpty();
    assertThat(new OriginalDriverStore(host.kernel()).load().isEmpty()).isTrue();
  }

  @Test
  void restoreGivesBackOriginalDriversFramebufferAndConsole() {
    SimulatedHost host = uefiHost(SimulatedHostBuilder.create());
    Preparation prep = new Preparation(host.kernel(), e -> {});
    prep.prepare(DeviceSelection.allGpus(), ConsoleConflictPolicy.DETACH, true, false);

    List<RestoreItem> items = prep.restore();

    assertThat(items).allSatisfy(i -> assertThat(i.restored()).as(i.message()).isTrue());
    Snapshot after = snapshot(host);
    assertThat(after.device(GPU).orElseThrow().driver()).contains("nouveau");
    assertThat(after.device(AUDIO).orElseThrow().driver()).contains("snd_hda_intel");
    assertThat(after.iomem().named("efifb")).hasSize(1);
    assertThat(Files.exists(host.root().resolve("var/lib/gpupassthrough/original-drivers.json"))).isFalse();
  }

  @Test
  void preparingSecondaryGpuLeavesPrimaryConsoleAlone() {
    SimulatedHost host = uefiHost(SimulatedHostBuilder.create()
        .gpu("0000:02:00.0", g -> g.ids(0x1002, 0x73bf).driver("amdgpu").iommuGroup(2)));

    Preparation.Report report = prepare(host, DeviceSelection.of(SECOND));

    assertThat(report.outcomes()).singleElement()
        .satisfies(o -> assertThat(o.result()).isEqualTo(Result.PREPARED));
    assertThat(writes).noneMatch(w -> w.contains("vtconsole") || w.contains("platform")
        || w.contains("0000:01:00"));
    Snapshot after = snapshot(host);
    assertThat(after.iomem().named("efifb")).hasSize(1);
    assertThat(after.device(GPU).orElseThrow().driver()).contains("nouveau");
  }

  @Test
  void deviceVanishingMidRunIsReportedAndTheRestRolledBack() {
    SimulatedHost host = uefiHost(SimulatedHostBuilder.create());
    List<String> seen = new ArrayList<>();
    host.kernel().beforeWrite((path, value) -> {
      seen.add(path);
      if (path.endsWith("0000:01:00.1/driver_override")) {
        host.kernel().removeDevice(AUDIO);
      }
    });

    DeviceOutcome o = prepare(host, DeviceSelection.allGpus()).outcomes().get(0);

    assertThat(o.result()).isEqualTo(Result.FAILED);
    assertThat(o.reason()).contains(Reason.BIND_FAILED);
    assertThat(o.message()).contains("0000:01:00.1");
    Snapshot after = snapshot(host);
    assertThat(after.device(GPU).orElseThrow().driver()).contains("nouveau");
    assertThat(after.iomem().named("efifb")).hasSize(1);
    // The vanished companion cannot be restored; it stays recorded for a later 'restore'.
    assertThat(new OriginalDriverStore(host.kernel()).load().devices()).containsOnlyKeys("0000:01:00.1");
  }

  @Test
  void missingVfioModuleIsRefusedWithModprobeHintAndNothingWritten() {
    SimulatedHost host = uefiHost(SimulatedHostBuilder.create().vfioPciLoaded(false));

    DeviceOutcome o = prepare(host, DeviceSelection.allGpus()).outcomes().get(0);

    assertThat(o.result()).isEqualTo(Result.REFUSED);
    assertThat(o.reason()).contains(Reason.VFIO_PCI_NOT_LOADED);
    assertThat(o.message()).contains("modprobe vfio-pci");
    assertThat(writes).isEmpty();
  }
}
