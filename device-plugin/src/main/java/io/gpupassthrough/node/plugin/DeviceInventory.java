package io.gpupassthrough.node.plugin;

import java.util.List;

/**
 * The GPUs of this host as the plugin sees them, read fresh on every call: each with its health
 * (healthy = verified on vfio-pci with {@code /dev/vfio/<group>} present). A GPU removed from the
 * bus is simply missing. Implementations read the host; callers keep them off gRPC threads.
 */
public interface DeviceInventory extends DeviceCheck {
  List<AdvertisedDevice> devices();

  @Override
  default java.util.Optional<String> problem(String address) {
    return devices().stream()
        .filter(d -> d.address().equals(address))
        .findFirst()
        .map(d -> d.healthy() ? java.util.Optional.<String>empty() : d.problem().or(() -> java.util.Optional.of("unhealthy")))
        .orElse(java.util.Optional.of("device is no longer on the PCI bus"));
  }
}
