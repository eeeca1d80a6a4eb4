package io.gpupassthrough.node.plugin;

import java.util.Optional;

/** A fresh look at one device on the host, for PreStartContainer. */
@FunctionalInterface
public interface DeviceCheck {
  /** Why the device at {@code address} is not usable for passthrough now; empty when it is. */
  Optional<String> problem(String address);
}
