package io.gpupassthrough.node.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plugin's host view over a simulated host root (the kernel behaviours named per test). */
class HostDeviceInventoryIT {
  private static final PciAddress GPU = PciAddress.parse("0000:01:00.0");
  private static final PciAddress AUDIO = PciAddress.parse("0000:01:00.1");
  private static final PciAddress OTHER = PciAddress.parse("0000:02:00.0");

  @TempDir Path root;
  private SimulatedHost host;
  private HostDeviceInventory inventory;

  @BeforeEach
  void setUp() {
    host =
        SimulatedHostBuilder.create()
            .pciIds("10de  NVIDIA Corporation\n\t2236  GA102GL [A10]\n")
            .gpu("0000:01:00.0", g -> g.driver("vfio-pci").iommuGroup(7).numaNode(1))
            .hdmiAudio("0000:01:00.1", a -> a.driver("vfio-pci").iommuGroup(7))
            .gpu("0000:02:00.0", g -> g.driver("nouveau").iommuGroup(8))
            .build(root);
    inventory = new HostDeviceInventory(host.kernel(), Duration.ofHours(1));
  }

  @Test
  void listsOnlyGpusVerifiedOnVfioWithTheirGroupNumaAndPciIdsName() {
    assertThat(inventory.devices())
        .containsExactly(
            new AdvertisedDevice(
                "0000:01:00.0", 0x10de, 0x2236, Optional.of("GA102GL [A10]"), 7, OptionalInt.of(1),
                Optional.empty(), DeviceHealth.HEALTHY, Optional.empty()));
  }

  @Test
  void gpuTakenByAnotherDriverTurnsUnhealthyAndRecovers() {
    inventory.devices();
    host.kernel().setDriverLink(GPU, "nouveau");

    AdvertisedDevice sick = inventory.devices().get(0);
    assertThat(sick.health()).isEqualTo(DeviceHealth.UNHEALTHY);
    assertThat(sick.problem()).hasValueSatisfying(p -> assertThat(p).contains("nouveau"));
    assertThat(inventory.problem("0000:01:00.0")).isPresent();

    host.kernel().setDriverLink(GPU, "vfio-pci");
    assertThat(inventory.devices().get(0).health()).isEqualTo(DeviceHealth.HEALTHY);
    assertThat(inventory.problem("0000:01:00.0")).isEmpty();
  }

  @Test
  void companionLeavingVfioMakesTheGpuUnhealthy() {
    // vfio refuses to open a group while any member is on a host driver ("group not viable").
    inventory.devices();
    host.kernel().setDriverLink(AUDIO, "snd_hda_intel");

    assertThat(inventory.devices().get(0).problem())
        .hasValueSatisfying(p -> assertThat(p).contains("0000:01:00.1", "snd_hda_intel"));
  }

  @Test
  void missingGroupNodeMakesTheGpuUnhealthy() {
    inventory.devices();
    host.kernel().removeVfioGroupNode(7);

    assertThat(inventory.devices().get(0).problem())
        .hasValueSatisfying(p -> assertThat(p).contains("/dev/vfio/7"));
  }

  @Test
  void removedGpuDropsOutOfTheListing() {
    inventory.devices();
    host.kernel().removeDevice(GPU);

    assertThat(inventory.devices()).isEmpty();
    assertThat(inventory.problem("0000:01:00.0")).hasValueSatisfying(p -> assertThat(p).contains("DeviceGone"));
  }

  @Test
  void gpuBoundLaterIsPickedUpAtTheNextRescan() throws Exception {
    HostDeviceInventory eager = new HostDeviceInventory(host.kernel(), Duration.ZERO);
    assertThat(eager.devices()).extracting(AdvertisedDevice::address).containsExactly("0000:01:00.0");

    // What a vfio-pci bind does: the driver link, and devtmpfs creates the group node.
    host.kernel().setDriverLink(OTHER, "vfio-pci");
    Files.writeString(root.resolve("dev/vfio/8"), "");

    assertThat(eager.devices())
        .extracting(AdvertisedDevice::address)
        .containsExactly("0000:01:00.0", "0000:02:00.0");
  }

  @Test
  void iommufdCdevIsReportedWhenTheKernelHasIt() throws Exception {
    // Linux 6.2+: /dev/iommu plus a per-device cdev named in the device's vfio-dev directory.
    Files.createDirectories(root.resolve("sys/bus/pci/devices/0000:01:00.0/vfio-dev/vfio0"));
    Files.createDirectories(root.resolve("dev/vfio/devices"));
    Files.writeString(root.resolve("dev/vfio/devices/vfio0"), "");
    Files.writeString(root.resolve("dev/iommu"), "");

    List<AdvertisedDevice> devices = new HostDeviceInventory(host.kernel(), Duration.ZERO).devices();

    assertThat(devices.get(0).vfioCdev()).contains("vfio0");
  }
}
