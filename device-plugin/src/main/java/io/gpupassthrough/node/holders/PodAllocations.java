package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.holders.podresources.v1.ContainerDevices;
import io.gpupassthrough.node.holders.podresources.v1.ContainerResources;
import io.gpupassthrough.node.holders.podresources.v1.ListPodResourcesResponse;
import io.gpupassthrough.node.holders.podresources.v1.PodResources;
import io.gpupassthrough.node.host.PciAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Pure: the kubelet's PodResources answer turned into holders per PCI address. Our plugin's device
 * IDs are PCI addresses; an ID of any resource that parses as one counts, because another plugin
 * handing out the same function (KubeVirt's own PCI plugin, SR-IOV) holds it just the same. IDs
 * that are not addresses (GPU UUIDs of NVIDIA's plugin) are ignored.
 */
public final class PodAllocations {
  private PodAllocations() {}

  public static Map<PciAddress, List<PodHolder>> byDevice(ListPodResourcesResponse response) {
    Map<PciAddress, List<PodHolder>> out = new LinkedHashMap<>();
    for (PodResources pod : response.getPodResourcesList()) {
      for (ContainerResources container : pod.getContainersList()) {
        for (ContainerDevices devices : container.getDevicesList()) {
          for (String id : devices.getDeviceIdsList()) {
            address(id).ifPresent(a -> {
              PodHolder h = new PodHolder(pod.getNamespace(), pod.getName(), container.getName(),
                  devices.getResourceName());
              List<PodHolder> list = out.computeIfAbsent(a, k -> new ArrayList<>());
              if (!list.contains(h)) {
                list.add(h);
              }
            });
          }
        }
      }
    }
    return out;
  }

  private static Optional<PciAddress> address(String id) {
    return PciAddress.looksLikeAddress(id) ? Optional.of(PciAddress.parse(id)) : Optional.empty();
  }
}
