package io.gpupassthrough.node.holders;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.node.holders.podresources.v1.ContainerDevices;
import io.gpupassthrough.node.holders.podresources.v1.ContainerResources;
import io.gpupassthrough.node.holders.podresources.v1.ListPodResourcesResponse;
import io.gpupassthrough.node.holders.podresources.v1.PodResources;
import io.gpupassthrough.node.host.PciAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class PodAllocationsTest {
  static PodResources pod(String namespace, String name, ContainerResources... containers) {
    return PodResources.newBuilder().setNamespace(namespace).setName(name).addAllContainers(List.of(containers)).build();
  }

  static ContainerResources container(String name, String resource, String... ids) {
    return ContainerResources.newBuilder().setName(name)
        .addDevices(ContainerDevices.newBuilder().setResourceName(resource).addAllDeviceIds(List.of(ids)))
        .build();
  }

  @Test
  void eachAddressMapsToTheContainersItIsAllocatedTo() {
    ListPodResourcesResponse r = ListPodResourcesResponse.newBuilder()
        .addPodResources(pod("default", "virt-launcher-vm1-x",
            container("compute", "nvidia.com/GA102GL_A10", "0000:41:00.0", "0000:42:00.0"),
            ContainerResources.newBuilder().setName("guest-console-log").build()))
        .addPodResources(pod("kube-system", "coredns-1"))
        .build();

    assertThat(PodAllocations.byDevice(r))
        .containsOnlyKeys(PciAddress.parse("0000:41:00.0"), PciAddress.parse("0000:42:00.0"))
        .containsEntry(PciAddress.parse("0000:41:00.0"),
            List.of(new PodHolder("default", "virt-launcher-vm1-x", "compute", "nvidia.com/GA102GL_A10")));
  }

  @Test
  void anotherPluginsIdsCountWhenTheyAreAddressesAndAreIgnoredOtherwise() {
    ListPodResourcesResponse r = ListPodResourcesResponse.newBuilder()
        // KubeVirt's own PCI plugin hands out the same function under its own name.
        .addPodResources(pod("vms", "virt-launcher-vm2", container("compute", "devices.kubevirt.io/a10", "0000:41:00.0")))
        // NVIDIA's plugin uses GPU UUIDs: not ours, not an address.
        .addPodResources(pod("ml", "trainer", container("main", "nvidia.com/gpu", "GPU-8e2f0c6a-2f4b-4b8e-9d1c-000000000000")))
        .build();

    assertThat(PodAllocations.byDevice(r)).containsOnlyKeys(PciAddress.parse("0000:41:00.0"));
  }

  @Test
  void nothingAllocatedIsAnEmptyMap() {
    assertThat(PodAllocations.byDevice(ListPodResourcesResponse.getDefaultInstance())).isEmpty();
  }
}
