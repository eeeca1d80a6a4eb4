package io.gpupassthrough.node.vfio;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.fixtures.FixtureHosts;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.sim.SimFiles;
import io.gpupassthrough.node.host.sim.SimulatedKernel;
import io.gpupassthrough.node.vfio.DeviceOutcome.Result;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Never taking a device from its holder: prepare and restore on fixture hosts whose
 * {@code /proc/<pid>/fd} shows the users, against the simulated kernel (whose vfio-pci unbind of
 * a device open through VFIO blocks like the real one). Each test also shows the write count,
 * which is what a held device must keep at zero. Without the holder check the simulated kernel's
 * unbind blocks (as Linux's does, uninterruptibly), and the timeout, on a thread of its own, fails
 * the test instead of hanging the build.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HeldDeviceIT {
  private static final PciAddress GPU = PciAddress.parse("0000:01:00.0");
  private static final PciAddress AUDIO = PciAddress.parse("0000:01:00.1");

  @TempDir Path dir;
  private final List<String> writes = new CopyOnWriteArrayList<>();

  private SimulatedKernel kernel(String fixture) {
    SimulatedKernel k = new SimulatedKernel(FixtureHosts.copy(fixture, dir.resolve(fixture)));
    k.beforeWrite((path, value) -> writes.add(path + " <- " + value.strip()));
    return k;
  }

  @Test
  void prepareRefusesGpusThatHostProcessesUseAndWritesNothing() {
    SimulatedKernel k = kernel("host-driver-held");

    List<DeviceOutcome> outcomes = new Preparation(k, e -> {}).prepare(DeviceSelection.allGpus(),
        ConsoleConflictPolicy.DETACH, true, false).outcomes();

    assertThat(outcomes).hasSize(2).allSatisfy(o -> {
      assertThat(o.result()).isEqualTo(Result.REFUSED);
      assertThat(o.reason()).contains(Reason.DEVICE_IN_USE);
    });
    assertThat(outcomes.get(0).message()).contains("0000:01:00.0 is in use", "pid 1200 Xorg",
        "/dev/dri/card0", "pid 1300 pulseaudio", "/dev/snd/controlC1");
    assertThat(outcomes.get(1).message()).contains("pid 2000 python3 (container 0c9b8a7f6e5d) has /dev/nvidia0 open");
    assertThat(writes).isEmpty();
    assertThat(new OriginalDriverStore(k).load().isEmpty()).as("nothing recorded either").isTrue();
  }

  @Test
  void restoreLeavesAVmsGpuOnVfioPciNamingTheHolderThenGivesItBackOnceReleased() {
    SimulatedKernel k = kernel("vfio-held");

    List<RestoreItem> held = new Preparation(k, e -> {}).restore();

    assertThat(held).extracting(RestoreItem::name).containsExactly(GPU.toString(), AUDIO.toString());
    assertThat(held).allSatisfy(i -> {
      assertThat(i.restored()).isFalse();
      assertThat(i.reason()).contains(Reason.DEVICE_IN_USE);
      assertThat(i.waiting()).isTrue();
      assertThat(i.message()).contains("waiting for pid 4242 (qemu-kvm) to release 0000:01:00.0",
          "has /dev/vfio/1 open", "stays on vfio-pci");
    });
    assertThat(writes).isEmpty();
    assertThat(k.linkTarget(k.paths().pciDriverLink(GPU))).contains("vfio-pci");
    assertThat(new OriginalDriverStore(k).load().devices()).containsOnlyKeys(GPU.toString(), AUDIO.toString());

    // The VM ends: QEMU closes its files.
    SimFiles.deleteTree(k.paths().processFds(4242));

    List<RestoreItem> restored = new Preparation(k, e -> {}).restore();
    assertThat(restored).allSatisfy(i -> assertThat(i.restored()).as(i.message()).isTrue());
    assertThat(k.linkTarget(k.paths().pciDriverLink(GPU))).contains("nouveau");
    assertThat(k.linkTarget(k.paths().pciDriverLink(AUDIO))).contains("snd_hda_intel");
    assertThat(new OriginalDriverStore(k).load().isEmpty()).isTrue();
  }

  @Test
  void aGroupFdAloneIsEnoughToLeaveTheGpuAlone() {
    // Only a device fd holds the device in the kernel, but an fd's link cannot say which device
    // an anon_inode:[vfio-device] is: the group node stands for the whole group.
    SimulatedKernel k = kernel("vfio-held");
    SimFiles.deleteTree(k.paths().processFds(4242));
    Path fd = k.paths().processFds(4100).resolve("9");
    try {
      java.nio.file.Files.createSymbolicLink(fd, Path.of("/dev/vfio/1"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }

    List<RestoreItem> items = new Preparation(k, e -> {}).restore();

    assertThat(items).allSatisfy(i -> assertThat(i.message()).contains("pid 4100 virt-launcher"));
    assertThat(writes).isEmpty();
  }
}
