package io.gpupassthrough.node.agent;

import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Matches claims against the host's GPUs (a snapshot's {@code gpus()}), pure. Claims come in precedence order (the operator puts the
 * oldest GpuPassthrough first); the first claim to select a device gets it and every later one is
 * reported as a {@link ClaimMatch.Conflict}. Filters only ever select display-class functions
 * (companions follow their GPU); explicit addresses are passed on as given so the engine can say
 * why one is not a GPU or not on this host.
 */
public final class ClaimMatcher {
  private ClaimMatcher() {}

  public static ClaimMatch match(List<PciDevice> gpus, List<DeviceClaim> spec) {
    Map<Claim, List<PciAddress>> won = new LinkedHashMap<>();
    Map<PciAddress, Claim> owners = new LinkedHashMap<>();
    List<ClaimMatch.Conflict> conflicts = new ArrayList<>();
    List<ClaimMatch.InvalidClaim> invalid = new ArrayList<>();
    for (int i = 0; i < spec.size(); i++) {
      Claim claim;
      try {
        claim = Claim.from(i, spec.get(i));
      } catch (IllegalArgumentException e) {
        invalid.add(new ClaimMatch.InvalidClaim(
            i, Optional.ofNullable(spec.get(i)).map(DeviceClaim::getOwner), e.getMessage()));
        continue;
      }
      List<PciAddress> mine = new ArrayList<>();
      for (PciAddress a : candidates(gpus, claim)) {
        Claim first = owners.putIfAbsent(a, claim);
        if (first == null) {
          mine.add(a);
        } else if (first != claim) {
          conflicts.add(new ClaimMatch.Conflict(a, claim, first));
        }
      }
      won.put(claim, mine);
    }
    return new ClaimMatch(won, conflicts, invalid);
  }

  private static Set<PciAddress> candidates(List<PciDevice> gpus, Claim claim) {
    Set<PciAddress> out = new LinkedHashSet<>();
    if (!claim.selection().addresses().isEmpty()) {
      out.addAll(claim.selection().addresses().stream().sorted().toList());
      return out;
    }
    for (PciDevice gpu : gpus) {
      if (claim.selection().matches(gpu.address(), gpu.vendor(), gpu.device(), gpu.pciClass())) {
        out.add(gpu.address());
      }
    }
    return out;
  }
}
