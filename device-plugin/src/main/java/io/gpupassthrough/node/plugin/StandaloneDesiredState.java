package io.gpupassthrough.node.plugin;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * No cluster: every verified GPU, under its default resource name unless the config file names
 * one for its PCI address or its {@code vendor:device} ID (the address wins).
 */
public final class StandaloneDesiredState implements DesiredState {
  private final Map<String, ResourceName> overrides;
  private final Map<String, ResourceName> defaults = new ConcurrentHashMap<>();

  /**
   * @param overrides keys are PCI addresses ({@code 0000:01:00.0}) or IDs ({@code 10de:2236})
   */
  public StandaloneDesiredState(Map<String, ResourceName> overrides) {
    this.overrides = Map.copyOf(overrides);
  }

  @Override
  public Optional<ResourceName> resourceFor(AdvertisedDevice device) {
    ResourceName byAddress = overrides.get(device.address());
    if (byAddress != null) {
      return Optional.of(byAddress);
    }
    String id = String.format(Locale.ROOT, "%04x:%04x", device.vendorId(), device.deviceId());
    ResourceName byId = overrides.get(id);
    if (byId != null) {
      return Optional.of(byId);
    }
    return Optional.of(
        defaults.computeIfAbsent(
            id,
            k ->
                ResourceName.defaultFor(
                    device.vendorId(),
                    device.deviceId(),
                    device.deviceName())));
  }
}
