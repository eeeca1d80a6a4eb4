package io.gpupassthrough.node.vfio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.fixtures.FixtureHosts;
import io.gpupassthrough.node.host.DeadlineHostRoot;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.SnapshotReader;
import io.gpupassthrough.node.host.WriteDeadline;
import io.gpupassthrough.node.host.sim.SimFiles;
import io.gpupassthrough.node.host.sim.SimulatedKernel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The race the holder check cannot close: the VM's QEMU opens the device after the check and
 * before the unbind. The simulated kernel then blocks vfio-pci's unbind as Linux does (and the
 * device's driver_override reads with it); the write deadline is what keeps everything else
 * going. Without the deadline, or with reads of the blocked device's lock-taking attributes,
 * these tests hang (their timeout fails them).
 */
class WriteHungIT {
  private static final PciAddress GPU = PciAddress.parse("0000:01:00.0");
  private static final PciAddress AUDIO = PciAddress.parse("0000:01:00.1");

  @TempDir Path dir;
  private final List<String> writes = new CopyOnWriteArrayList<>();
  private final List<String> events = new CopyOnWriteArrayList<>();

  /** vfio-held with QEMU's files out of sight until the first vfio-pci unbind reaches the kernel. */
  private SimulatedKernel qemuOpensDuringTheUnbind() {
    SimulatedKernel k = new SimulatedKernel(FixtureHosts.copy("vfio-held", dir.resolve("host")));
    Path qemu = k.paths().proc().resolve("4242");
    Path aside = dir.resolve("qemu-later");
    move(qemu, aside);
    k.beforeWrite((path, value) -> {
      writes.add(path + " <- " + value.strip());
      if (path.equals("/sys/bus/pci/drivers/vfio-pci/unbind") && Files.exists(aside)) {
        move(aside, qemu);
      }
    });
    return k;
  }

  private static void move(Path from, Path to) {
    try {
      Files.move(from, to);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void restoreHitsTheDeadlineReportsWriteHungAndTheHostStaysReadable() {
    SimulatedKernel k = qemuOpensDuringTheUnbind();
    WriteDeadline deadline = new WriteDeadline(Duration.ofMillis(300), Clock.systemUTC(), events::add);
    HostRoot host = new DeadlineHostRoot(k, deadline);

    List<RestoreItem> first = new Preparation(host, e -> {}).restore();

    assertThat(first).filteredOn(i -> i.name().equals(GPU.toString())).singleElement().satisfies(i -> {
      assertThat(i.reason()).contains(Reason.WRITE_HUNG);
      assertThat(i.message()).contains("/sys/bus/pci/drivers/vfio-pci/unbind", "still blocked in the kernel");
    });
    assertThat(first).filteredOn(i -> i.name().equals(AUDIO.toString())).singleElement()
        .satisfies(i -> assertThat(i.message()).startsWith("not attempted"));
    assertThat(host.hungWrites()).singleElement()
        .satisfies(h -> assertThat(h.target()).isEqualTo(GPU.toString()));
    assertThat(k.dmesg()).contains("vfio-pci 0000:01:00.0: Relaying device request to user (#0)");

    // Everything else still works meanwhile: a full snapshot (driver_override of the blocked
    // device unknown instead of a read that blocks), the health check, another restore, prepare.
    Snapshot s = new SnapshotReader(host).read();
    assertThat(s.device(GPU).orElseThrow().driver()).as("the driver link goes before the remove blocks").isEmpty();
    assertThat(s.device(GPU).orElseThrow().driverOverride()).isEmpty();
    assertThat(s.device(AUDIO).orElseThrow().driverOverride()).contains("vfio-pci");
    assertThat(new Verifier(host).check(GPU).healthy()).isFalse();
    List<RestoreItem> again = new Preparation(host, e -> {}).restore();
    assertThat(again).allSatisfy(i -> assertThat(i.reason()).contains(Reason.WRITE_HUNG));
    assertThat(again.get(0).message()).contains("waiting for the kernel to finish a write for 0000:01:00.0");
    DeviceOutcome prepare = new Preparation(host, e -> {}).prepare(DeviceSelection.of(GPU),
        ConsoleConflictPolicy.DETACH, true, false).outcomes().get(0);
    assertThat(prepare.reason()).contains(Reason.WRITE_HUNG);
    assertThat(writes).as("one write reached the kernel; nothing was queued behind it")
        .containsExactly("/sys/bus/pci/drivers/vfio-pci/unbind <- 0000:01:00.0");

    // The VM ends: the kernel lets the unbind finish, and the next restore completes the rest.
    SimFiles.deleteTree(k.paths().processFds(4242));
    await().atMost(Duration.ofSeconds(30)).until(() -> host.hungWrites().isEmpty());
    assertThat(events).singleElement().asString().contains("returned after");
    List<RestoreItem> done = new Preparation(host, e -> {}).restore();
    assertThat(done).allSatisfy(i -> assertThat(i.restored()).as(i.message()).isTrue());
    assertThat(k.linkTarget(k.paths().pciDriverLink(GPU))).contains("nouveau");
    assertThat(k.linkTarget(k.paths().pciDriverLink(AUDIO))).contains("snd_hda_intel");
  }
}
