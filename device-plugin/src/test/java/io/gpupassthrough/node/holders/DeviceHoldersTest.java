package io.gpupassthrough.node.holders;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.node.host.PciAddress;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DeviceHoldersTest {
  private static final PciAddress GPU = PciAddress.parse("0000:41:00.0");
  private static final PodHolder VM = new PodHolder("default", "virt-launcher-vm1-x", "compute", "nvidia.com/GA102GL_A10");

  private static ProcessHolder qemu(String file) {
    return new ProcessHolder(4242, "qemu-kvm", "/usr/libexec/qemu-kvm -name guest=vm1",
        Optional.of("5f3c9a7e1b2d4c6e8f0a"), Optional.empty(), file);
  }

  @Test
  void podsComeFirstInWhoAndDescribeNamesEveryHolderOncePerProcess() {
    DeviceHolders h = new DeviceHolders(GPU, List.of(VM), List.of(qemu("/dev/vfio/12"), qemu("/dev/vfio/devices/vfio0")));

    assertThat(h.held()).isTrue();
    assertThat(h.who()).isEqualTo("pod default/virt-launcher-vm1-x");
    assertThat(h.describe()).isEqualTo("pod default/virt-launcher-vm1-x (container compute); pid 4242 qemu-kvm"
        + " (container 5f3c9a7e1b2d) has /dev/vfio/12, /dev/vfio/devices/vfio0 open");
  }

  @Test
  void processesAloneAreWhoHoldsIt() {
    DeviceHolders h = new DeviceHolders(GPU, List.of(), List.of(qemu("/dev/vfio/12")));
    assertThat(h.who()).isEqualTo("pid 4242 (qemu-kvm)");
  }

  @Test
  void aGpuAndItsCompanionsAreHeldTogether() {
    DeviceHolders gpu = DeviceHolders.none(GPU);
    DeviceHolders audio = new DeviceHolders(PciAddress.parse("0000:41:00.1"), List.of(VM), List.of());
    assertThat(gpu.plus(audio).pods()).containsExactly(VM);
    assertThat(gpu.plus(audio).device()).isEqualTo(GPU);
    assertThat(DeviceHolders.none(GPU).held()).isFalse();
    assertThat(DeviceHolders.none(GPU).describe()).isEqualTo("nobody");
  }
}
