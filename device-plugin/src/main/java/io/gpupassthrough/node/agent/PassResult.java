package io.gpupassthrough.node.agent;

import io.gpupassthrough.node.agent.ClaimMatch.InvalidClaim;
import java.util.List;
import java.util.Optional;

/**
 * Everything one pass over the node's spec produced.
 *
 * @param generation the spec generation the pass acted on
 * @param devices one report per claimed device (a device claimed by two claims has two)
 * @param restores one answer per restore request, in spec order
 * @param invalid claims that could not be used
 * @param hostProblem set when the host could not be read at all; devices is then empty
 * @param holdersUnknown set when the last holder check could not see everything (the kubelet's
 *     PodResources API did not answer, processes unreadable): the devices' holders may be missing
 */
public record PassResult(
    long generation,
    List<DeviceReport> devices,
    List<RestoreReport> restores,
    List<InvalidClaim> invalid,
    Optional<String> hostProblem,
    Optional<String> holdersUnknown) {

  public PassResult(long generation, List<DeviceReport> devices, List<RestoreReport> restores,
      List<InvalidClaim> invalid, Optional<String> hostProblem) {
    this(generation, devices, restores, invalid, hostProblem, Optional.empty());
  }

  public PassResult {
    devices = List.copyOf(devices);
    restores = List.copyOf(restores);
    invalid = List.copyOf(invalid);
  }

  /**
   * True when running the same spec again later may end differently without anything new in the
   * spec: the host was unreadable, or a device is held or has a write blocked in the kernel.
   */
  public boolean retry() {
    return hostProblem.isPresent()
        || devices.stream().anyMatch(DeviceReport::waiting)
        || restores.stream().anyMatch(RestoreReport::isWaiting);
  }

  /** The same result with the devices' holders as checked again (between passes). */
  public PassResult withHolders(List<DeviceReport> now, Optional<String> unknown) {
    return new PassResult(generation, now, restores, invalid, hostProblem, unknown);
  }
}
