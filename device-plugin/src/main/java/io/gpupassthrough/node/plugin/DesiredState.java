package io.gpupassthrough.node.plugin;

import java.util.Optional;

/**
 * Which verified GPUs to advertise and under which resource name. Standalone mode advertises all
 * of them under their default names ({@link StandaloneDesiredState}); the in-cluster mode plugs
 * in the node's {@code GpuPassthroughNode} spec here.
 */
@FunctionalInterface
public interface DesiredState {
  /** The resource to advertise {@code device} under, empty to leave it alone. */
  Optional<ResourceName> resourceFor(AdvertisedDevice device);
}
