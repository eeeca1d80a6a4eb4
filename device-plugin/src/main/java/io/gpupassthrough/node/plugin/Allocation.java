package io.gpupassthrough.node.plugin;

import io.gpupassthrough.node.plugin.v1beta1.ContainerAllocateResponse;
import io.gpupassthrough.node.plugin.v1beta1.DeviceSpec;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a container gets for a set of devices (pure): the VFIO device nodes and the {@code
 * PCI_RESOURCE_<NAME>} env var that KubeVirt's virt-launcher reads to find the PCI addresses.
 */
public final class Allocation {
  private Allocation() {}

  /**
   * Builds the container response.
   *
   * @throws DeviceRequestException when an ID is unknown or the device is unhealthy
   */
  public static ContainerAllocateResponse forContainer(
      ResourceName resource, Map<String, AdvertisedDevice> devices, List<String> requestedIds) {
    if (requestedIds.isEmpty()) {
      throw DeviceRequestException.invalid(resource + ": Allocate request names no devices");
    }
    List<AdvertisedDevice> chosen = new ArrayList<>(requestedIds.size());
    for (String id : requestedIds) {
      AdvertisedDevice device = devices.get(id);
      if (device == null) {
        throw DeviceRequestException.invalid(
            resource + ": unknown device ID '" + id + "'; this plugin serves " + devices.keySet());
      }
      if (!device.healthy()) {
        throw DeviceRequestException.unavailable(
            resource
                + ": device "
                + id
                + " is unhealthy ("
                + device.problem().orElse("not verified on vfio-pci")
                + "); run 'gpupt-node scan' on the node");
      }
      chosen.add(device);
    }
    Set<String> nodes = new LinkedHashSet<>();
    nodes.add(VfioDeviceNodes.CONTAINER);
    for (AdvertisedDevice d : chosen) {
      nodes.add(VfioDeviceNodes.group(d.iommuGroup()));
    }
    if (chosen.stream().anyMatch(d -> d.vfioCdev().isPresent())) {
      nodes.add(VfioDeviceNodes.IOMMUFD);
      chosen.forEach(d -> d.vfioCdev().ifPresent(c -> nodes.add(VfioDeviceNodes.cdev(c))));
    }
    ContainerAllocateResponse.Builder response = ContainerAllocateResponse.newBuilder();
    for (String node : nodes) {
      response.addDevices(
          DeviceSpec.newBuilder()
              .setHostPath(node)
              .setContainerPath(node)
              .setPermissions(VfioDeviceNodes.PERMISSIONS));
    }
    response.putEnvs(resource.envVarName(), String.join(",", requestedIds));
    return response.build();
  }
}
