package io.gpupassthrough.node.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gpupassthrough.node.plugin.v1beta1.ContainerAllocateResponse;
import io.gpupassthrough.node.plugin.v1beta1.DeviceSpec;
import io.grpc.Status;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class AllocationTest {
  private static final ResourceName RESOURCE = ResourceName.parse("nvidia.com/GA102GL_A10");

  private static Map<String, AdvertisedDevice> devices(AdvertisedDevice... list) {
    Map<String, AdvertisedDevice> m = new LinkedHashMap<>();
    for (AdvertisedDevice d : list) {
      m.put(d.address(), d);
    }
    return m;
  }

  private static AdvertisedDevice gpu(String address, int group, Optional<String> cdev) {
    return new AdvertisedDevice(
        address, 0x10de, 0x2236, Optional.empty(), group, OptionalInt.empty(), cdev,
        DeviceHealth.HEALTHY, Optional.empty());
  }

  @Test
  void oneGpuGetsTheContainerNodeItsGroupNodeAndTheEnvVar() {
    ContainerAllocateResponse r =
        Allocation.forContainer(
            RESOURCE, devices(gpu("0000:01:00.0", 7, Optional.empty())), List.of("0000:01:00.0"));

    assertThat(r.getDevicesList()).extracting(DeviceSpec::getHostPath).containsExactly("/dev/vfio/vfio", "/dev/vfio/7");
    assertThat(r.getDevicesList()).allSatisfy(d -> {
      assertThat(d.getPermissions()).isEqualTo("mrw");
      assertThat(d.getContainerPath()).isEqualTo(d.getHostPath());
    });
    assertThat(r.getEnvsMap()).containsExactly(Map.entry("PCI_RESOURCE_NVIDIA_COM_GA102GL_A10", "0000:01:00.0"));
  }

  @Test
  void iommufdNodesAreAddedWhenTheKernelHasThem() {
    ContainerAllocateResponse r =
        Allocation.forContainer(
            RESOURCE,
            devices(gpu("0000:01:00.0", 7, Optional.of("vfio0")), gpu("0000:02:00.0", 8, Optional.of("vfio1"))),
            List.of("0000:01:00.0", "0000:02:00.0"));

    assertThat(r.getDevicesList())
        .extracting(DeviceSpec::getHostPath)
        .containsExactly(
            "/dev/vfio/vfio", "/dev/vfio/7", "/dev/vfio/8", "/dev/iommu",
            "/dev/vfio/devices/vfio0", "/dev/vfio/devices/vfio1");
    assertThat(r.getEnvsMap()).containsEntry("PCI_RESOURCE_NVIDIA_COM_GA102GL_A10", "0000:01:00.0,0000:02:00.0");
  }

  @Test
  void gpusSharingAGroupGetTheGroupNodeOnce() {
    ContainerAllocateResponse r =
        Allocation.forContainer(
            RESOURCE,
            devices(gpu("0000:01:00.0", 3, Optional.empty()), gpu("0000:01:00.1", 3, Optional.empty())),
            List.of("0000:01:00.0", "0000:01:00.1"));

    assertThat(r.getDevicesList()).extracting(DeviceSpec::getHostPath).containsExactly("/dev/vfio/vfio", "/dev/vfio/3");
  }

  @Test
  void unknownIdIsInvalidArgument() {
    assertThatThrownBy(
            () -> Allocation.forContainer(RESOURCE, devices(gpu("0000:01:00.0", 7, Optional.empty())), List.of("0000:09:00.0")))
        .isInstanceOfSatisfying(
            DeviceRequestException.class,
            e -> {
              assertThat(e.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e).hasMessageContaining("0000:09:00.0").hasMessageContaining("0000:01:00.0");
            });
  }

  @Test
  void unhealthyDeviceIsFailedPreconditionWithItsProblem() {
    AdvertisedDevice sick = gpu("0000:01:00.0", 7, Optional.empty()).unhealthy("/dev/vfio/7 is gone");

    assertThatThrownBy(() -> Allocation.forContainer(RESOURCE, devices(sick), List.of("0000:01:00.0")))
        .isInstanceOfSatisfying(
            DeviceRequestException.class,
            e -> {
              assertThat(e.status().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
              assertThat(e).hasMessageContaining("/dev/vfio/7 is gone");
            });
  }

  @Test
  void emptyRequestIsInvalidArgument() {
    assertThatThrownBy(() -> Allocation.forContainer(RESOURCE, devices(), List.of()))
        .isInstanceOf(DeviceRequestException.class)
        .hasMessageContaining("names no devices");
  }
}
