package io.gpupassthrough.node.agent;

import io.gpupassthrough.node.host.PciAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which claim won which device on this node, and who lost.
 *
 * @param won the devices each claim got, per claim in precedence order (explicit addresses that
 *     are no GPU are included: the engine explains why they cannot be taken)
 * @param conflicts a later claim that matched a device an earlier one already had
 * @param invalid claims whose spec could not be used, with the message naming the field
 */
public record ClaimMatch(
    Map<Claim, List<PciAddress>> won, List<Conflict> conflicts, List<InvalidClaim> invalid) {

  public ClaimMatch {
    won = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(won));
    conflicts = List.copyOf(conflicts);
    invalid = List.copyOf(invalid);
  }

  /** {@code loser} also selects {@code address}, which {@code winner} already has. */
  public record Conflict(PciAddress address, Claim loser, Claim winner) {}

  /** A claim the agent could not use; {@code message} names {@code spec.claims[i]}. */
  public record InvalidClaim(int index, Optional<String> owner, String message) {}
}
