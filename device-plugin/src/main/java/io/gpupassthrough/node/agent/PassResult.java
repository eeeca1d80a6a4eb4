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
 */
public record PassResult(
    long generation,
    List<DeviceReport> devices,
    List<RestoreReport> restores,
    List<InvalidClaim> invalid,
    Optional<String> hostProblem) {

  public PassResult {
    devices = List.copyOf(devices);
    restores = List.copyOf(restores);
    invalid = List.copyOf(invalid);
  }
}
