package io.gpupassthrough.node.plugin;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;

/** An in-memory host for plugin tests: devices can turn unhealthy, come back, or vanish. */
final class FakeInventory implements DeviceInventory {
  private final Map<String, AdvertisedDevice> devices = new TreeMap<>();

  static AdvertisedDevice gpu(String address, int group, int numa) {
    return new AdvertisedDevice(
        address,
        0x10de,
        0x2236,
        Optional.of("GA102GL [A10]"),
        group,
        numa < 0 ? OptionalInt.empty() : OptionalInt.of(numa),
        Optional.empty(),
        DeviceHealth.HEALTHY,
        Optional.empty());
  }

  synchronized FakeInventory add(AdvertisedDevice device) {
    devices.put(device.address(), device);
    return this;
  }

  synchronized void unhealthy(String address, String why) {
    devices.put(address, devices.get(address).unhealthy(why));
  }

  synchronized void healthy(String address) {
    AdvertisedDevice d = devices.get(address);
    devices.put(
        address,
        new AdvertisedDevice(
            d.address(), d.vendorId(), d.deviceId(), d.deviceName(), d.iommuGroup(), d.numaNode(),
            d.vfioCdev(), DeviceHealth.HEALTHY, Optional.empty()));
  }

  synchronized void remove(String address) {
    devices.remove(address);
  }

  @Override
  public synchronized List<AdvertisedDevice> devices() {
    return new ArrayList<>(devices.values());
  }
}
