package io.gpupassthrough.node.holders;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.node.fixtures.FixtureHosts;
import io.gpupassthrough.node.host.FileSystemHostRoot;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.PciAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The holder check on fixture hosts whose {@code /proc/<pid>/fd} links are what a real host shows
 * for these holders, and on a real Unix socket for the kubelet's PodResources API.
 */
class HolderCheckIT {
  private static final PciAddress GPU = PciAddress.parse("0000:01:00.0");
  private static final PciAddress AUDIO = PciAddress.parse("0000:01:00.1");
  private static final PciAddress NVIDIA = PciAddress.parse("0000:02:00.0");

  @TempDir Path dir;

  private static HolderReport check(HostRoot host, PciAddress... functions) {
    try (HolderCheck c = HolderCheck.forHost(host)) {
      return c.check(List.of(functions));
    }
  }

  @Test
  void vmsQemuHoldsTheGroupNodeAndIsNamedWithItsContainerAndPod() {
    HolderReport r = check(FileSystemHostRoot.open(FixtureHosts.DIR.resolve("vfio-held")), GPU, AUDIO);

    DeviceHolders gpu = r.of(GPU, List.of(GPU, AUDIO));
    assertThat(gpu.pods()).isEmpty();
    assertThat(gpu.byProcess()).singleElement().satisfies(h -> {
      assertThat(h.pid()).isEqualTo(4242);
      assertThat(h.comm()).isEqualTo("qemu-kvm");
      assertThat(h.commandLine()).startsWith("/usr/libexec/qemu-kvm -name guest=default_vm1");
      assertThat(h.containerId()).contains(FixtureHosts.VM_CONTAINER);
      assertThat(h.podUid()).contains(FixtureHosts.VM_POD_UID);
      assertThat(h.file()).isEqualTo("/dev/vfio/1");
    });
    // virt-launcher in the same pod holds no device file: it is not a holder.
    assertThat(r.blind()).isEmpty();
    assertThat(r.notes()).singleElement().asString().contains("no kubelet PodResources socket", "pods not consulted");
  }

  @Test
  void hostDriverUsersAreFoundThroughDrmSoundAndNvidiaNodes() {
    HolderReport r = check(FileSystemHostRoot.open(FixtureHosts.DIR.resolve("host-driver-held")),
        GPU, AUDIO, NVIDIA, PciAddress.parse("0000:02:00.1"));

    assertThat(r.of(GPU).processes()).extracting(ProcessHolder::comm, ProcessHolder::file).containsExactly(
        org.assertj.core.groups.Tuple.tuple("Xorg", "/dev/dri/card0"),
        // an unlinked render node still open (" (deleted)") still holds the card
        org.assertj.core.groups.Tuple.tuple("pulseaudio", "/dev/dri/renderD128"));
    assertThat(r.of(AUDIO).processes()).extracting(ProcessHolder::file)
        .containsExactly("/dev/snd/controlC1", "/dev/snd/pcmC1D3p");
    // /dev/nvidiactl and /dev/nvidia-uvm are shared by every GPU; /dev/nvidia0 is this one.
    assertThat(r.of(NVIDIA).processes()).singleElement().satisfies(h -> {
      assertThat(h.comm()).isEqualTo("python3");
      assertThat(h.file()).isEqualTo("/dev/nvidia0");
      assertThat(h.containerId()).contains(FixtureHosts.CUDA_CONTAINER);
    });
    assertThat(r.of(PciAddress.parse("0000:02:00.1")).held()).isFalse();
  }

  @Test
  void aHostWithoutHoldersHasNoneAndSkipsTheProcessScanWhenTheDevicesHaveNoFiles() {
    HolderReport r = check(FileSystemHostRoot.open(FixtureHosts.DIR.resolve("uefi-efifb")), GPU, AUDIO);
    assertThat(r.of(GPU, List.of(GPU, AUDIO)).held()).isFalse();
    assertThat(r.blind()).isEmpty();
  }

  @Test
  void unreadableProcessesMakeTheCheckBlindInsteadOfClaimingNobodyHoldsIt() {
    HostRoot fixture = FileSystemHostRoot.open(FixtureHosts.DIR.resolve("vfio-held"));
    // What a non-root reader gets for another user's /proc/<pid>/fd (root bypasses permissions,
    // so the refusal is simulated here).
    HostRoot denied = new DelegatingHostRoot(fixture) {
      @Override
      public List<String> list(Path d) {
        if (d.equals(fixture.paths().processFds(4242))) {
          throw new HostReadException(d, "permission denied listing directory; run as root");
        }
        return super.list(d);
      }
    };

    HolderReport r = check(denied, GPU);

    assertThat(r.of(GPU).held()).isFalse();
    assertThat(r.blindness()).get().asString().contains("1 of 3 processes", "permission denied", "run as root");
  }

  @Test
  void kubeletAllocationsComeFromPodResourcesOnItsSocket() throws Exception {
    Path root = FixtureHosts.copy("vfio-held", dir.resolve("host"));
    HostRoot host = FileSystemHostRoot.open(root);
    try (FakePodResources kubelet = FakePodResources.serve(host.paths().podResourcesSocket())) {
      kubelet.allocate("default", "virt-launcher-vm1-x", "compute", "nvidia.com/GA102GL_A10", GPU.toString());

      HolderReport r = check(host, GPU, AUDIO);

      assertThat(r.of(GPU).pods()).containsExactly(
          new PodHolder("default", "virt-launcher-vm1-x", "compute", "nvidia.com/GA102GL_A10"));
      assertThat(r.of(GPU).processes()).extracting(ProcessHolder::pid).containsExactly(4242L);
      assertThat(r.blind()).isEmpty();
      assertThat(r.notes()).isEmpty();
      assertThat(kubelet.calls()).isEqualTo(1);
    }
  }

  @Test
  void aKubeletThatDoesNotAnswerMakesTheCheckBlind() throws Exception {
    Path root = FixtureHosts.copy("uefi-efifb", dir.resolve("host"));
    HostRoot host = FileSystemHostRoot.open(root);
    FakePodResources kubelet = FakePodResources.serve(host.paths().podResourcesSocket());
    kubelet.stopKeepingSocket();
    try {
      HolderReport r = check(host, GPU);

      assertThat(r.of(GPU).held()).isFalse();
      assertThat(r.blindness()).get().asString()
          .contains("PodResources API at " + host.paths().podResourcesSocket(), "did not answer", "UNAVAILABLE");
    } finally {
      kubelet.close();
    }
  }

  @Test
  void noSocketConfiguredIsSaidInTheNotes() {
    try (HolderCheck c = new HolderCheck(FileSystemHostRoot.open(FixtureHosts.DIR.resolve("vfio-held")), Optional.empty())) {
      HolderReport r = c.check(List.of(GPU));
      assertThat(r.notes()).singleElement().asString().contains("not consulted");
      assertThat(r.of(GPU).held()).isTrue();
    }
  }

  @Test
  void scanCountsEveryFdOfEveryProcessOnce() {
    HostRoot host = FileSystemHostRoot.open(FixtureHosts.DIR.resolve("vfio-held"));
    ProcessScan.Result r = new ProcessScan(host).holdersOf(java.util.Set.of("/dev/vfio/1"));
    // pid 1: 0,1,2 + 2 opened; 4100: 3 + 1; 4242: 3 + 5
    assertThat(r.processes()).isEqualTo(3);
    assertThat(r.fds()).isEqualTo(5 + 4 + 8);
    assertThat(r.unreadable()).isZero();
    assertThat(Files.isSymbolicLink(host.paths().processFds(4242).resolve("5"))).isTrue();
  }
}
