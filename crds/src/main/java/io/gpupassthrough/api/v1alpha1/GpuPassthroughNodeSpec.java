package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Written only by the operator: what it wants on this node. Every change bumps
 * {@code metadata.generation}; the agent echoes the generation it acted on in
 * {@code status.observedGeneration}, which is how the operator knows a report is current.
 */
public class GpuPassthroughNodeSpec {
  @Size(max = ApiPatterns.MAX_CLAIMS_PER_NODE)
  private List<DeviceClaim> claims = new ArrayList<>();

  @Size(max = ApiPatterns.MAX_CLAIMS_PER_NODE)
  private List<RestoreRequest> restore = new ArrayList<>();

  public GpuPassthroughNodeSpec() {}

  /** Claims in precedence order (oldest {@link GpuPassthrough} first). */
  public List<DeviceClaim> getClaims() {
    return claims;
  }

  public void setClaims(List<DeviceClaim> claims) {
    this.claims = claims;
  }

  /** Devices to give back to their original drivers, per deleted owner. */
  public List<RestoreRequest> getRestore() {
    return restore;
  }

  public void setRestore(List<RestoreRequest> restore) {
    this.restore = restore;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof GpuPassthroughNodeSpec o && Objects.equals(claims, o.claims) && Objects.equals(restore, o.restore);
  }

  @Override
  public int hashCode() {
    return Objects.hash(claims, restore);
  }
}
