package io.gpupassthrough.node.agent;

import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.node.aperture.ConflictEngine;
import io.gpupassthrough.node.aperture.DevicePlan;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.aperture.Plan;
import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.holders.HolderReport;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.IommuGroup;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.SnapshotReader;
import io.gpupassthrough.node.host.SysfsPaths;
import io.gpupassthrough.node.plugin.ResourceName;
import io.gpupassthrough.node.vfio.DeviceOutcome;
import io.gpupassthrough.node.vfio.Executor;
import io.gpupassthrough.node.vfio.OriginalDriverStore;
import io.gpupassthrough.node.vfio.OriginalDrivers;
import io.gpupassthrough.node.vfio.Verifier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One pass of the agent over its node's spec: answer restore requests, match claims against a
 * fresh snapshot, plan and execute each claim's devices with that claim's policy, then read the
 * host again and report every claimed device as it now is.
 *
 * <p>Adoption: a GPU that is already verified on vfio-pci (with its whole group) is never handed
 * to the executor, whatever its claim's policy says: a VM may be using it right now, and a
 * restarted or upgraded agent must only take over advertising it.
 *
 * <p>Holders: every reported device carries who holds it (kubelet allocations, processes with its
 * files open). A GPU whose restore waits for its holder is reported too ({@code DeviceInUse},
 * owned by the deleted resource), so the node's status says who keeps it.
 */
final class NodePass {
  private final HostRoot host;
  private final SnapshotReader reader;
  private final OriginalDriverStore store;
  private final Executor executor;
  private final DeviceRestore restore;
  private final HolderCheck holders;

  NodePass(HostRoot host, HolderCheck holders, Consumer<String> events) {
    this.host = host;
    this.reader = new SnapshotReader(host);
    this.store = new OriginalDriverStore(host);
    this.holders = holders;
    this.executor = new Executor(host, store, holders, events);
    this.restore = new DeviceRestore(host, store, holders, events);
  }

  /**
   * @param answered owners whose restore request was already carried out; not repeated
   */
  PassResult run(GpuPassthroughNodeSpec spec, long generation, Map<String, RestoreReport> answered) {
    List<RestoreReport> restores = new ArrayList<>();
    Set<String> restoring = new HashSet<>();
    try {
      for (RestoreRequest r : orEmpty(spec.getRestore())) {
        List<String> bad = new ArrayList<>();
        List<PciAddress> gpus = addresses(r, bad);
        gpus.forEach(a -> restoring.add(r.getOwner() + "/" + a));
        RestoreReport before = answered.get(r.getOwner());
        RestoreReport report = before != null && before.done() ? before : restore.restore(r.getOwner(), gpus);
        restores.add(bad.isEmpty() ? report : new RestoreReport(r.getOwner(), false, report.restored(),
            "spec.restore (owner " + r.getOwner() + "): " + String.join("; ", bad) + "; " + report.message()));
      }
      Snapshot snapshot = reader.read();
      ClaimMatch match = ClaimMatcher.match(snapshot.gpus(), orEmpty(spec.getClaims()));
      List<DeviceReport> devices = new ArrayList<>();
      List<Prepared> prepared = new ArrayList<>();
      for (Map.Entry<Claim, List<PciAddress>> e : match.won().entrySet()) {
        Claim claim = e.getKey();
        List<PciAddress> wanted = e.getValue().stream()
            .filter(a -> !restoring.contains(claim.owner() + "/" + a))
            .toList();
        if (wanted.isEmpty()) {
          continue;
        }
        // Re-read per claim: the previous claim's binds changed the host.
        Snapshot now = prepared.isEmpty() ? snapshot : reader.read();
        Plan plan = ConflictEngine.plan(now, new DeviceSelection(wanted, List.of(), List.of()),
            claim.policy(), claim.companions());
        for (DevicePlan p : plan.devices()) {
          prepared.add(new Prepared(claim, adoptOrExecute(now, p)));
        }
      }
      Snapshot after = reader.read();
      OriginalDrivers originals = store.load();
      for (Prepared p : prepared) {
        devices.add(report(after, originals, p));
      }
      for (ClaimMatch.Conflict c : match.conflicts()) {
        devices.add(conflict(after, originals, c));
      }
      for (RestoreReport r : restores) {
        r.waiting().forEach((gpu, held) -> devices.add(restoreWaiting(after, originals, r.owner(), gpu, held)));
      }
      PassResult result = new PassResult(generation, devices, restores, match.invalid(), Optional.empty());
      return refreshHolders(result);
    } catch (HostReadException e) {
      return new PassResult(generation, List.of(), restores, List.of(), Optional.of(e.getMessage()));
    }
  }

  private record Prepared(Claim claim, DeviceOutcome outcome) {}

  /**
   * The same result with every device's holders checked now (one scan of /proc for all of them):
   * after a pass, and between passes so that status follows pods that get or give up a device.
   */
  PassResult refreshHolders(PassResult result) {
    if (result.devices().isEmpty()) {
      return result.withHolders(result.devices(), Optional.empty());
    }
    List<PciAddress> functions = new ArrayList<>();
    for (DeviceReport d : result.devices()) {
      functions.addAll(functionsOf(d));
    }
    HolderReport report;
    try {
      report = holders.check(functions);
    } catch (HostReadException e) {
      return result.withHolders(result.devices(), Optional.of("holders not checked: " + e.getMessage()));
    }
    List<DeviceReport> now = result.devices().stream()
        .map(d -> d.withHolders(report.of(d.address(), functionsOf(d))))
        .toList();
    return result.withHolders(now, report.blindness());
  }

  private static List<PciAddress> functionsOf(DeviceReport d) {
    return d.groupMembers().isEmpty() ? List.of(d.address()) : d.groupMembers();
  }

  private DeviceReport restoreWaiting(Snapshot after, OriginalDrivers originals, String owner,
      String gpu, RestoreReport.Held held) {
    PciAddress address = PciAddress.parse(gpu);
    Optional<PciDevice> device = after.device(address);
    return new DeviceReport(address, device, members(after, device), originalDriver(originals, device),
        owner, Optional.empty(), List.of(), false, Optional.of(held.reason()),
        "restore requested (GpuPassthrough '" + owner + "' deleted): " + held.message());
  }

  private DeviceOutcome adoptOrExecute(Snapshot now, DevicePlan p) {
    Optional<PciDevice> gpu = now.device(p.address());
    if (gpu.isPresent() && Verifier.verified(now, gpu.get()).isPresent()) {
      return new DeviceOutcome(p.address(), DeviceOutcome.Result.ALREADY_PREPARED, Optional.empty(),
          "already on vfio-pci and verified; adopted as found", p, List.of());
    }
    return executor.execute(p);
  }

  private DeviceReport report(Snapshot after, OriginalDrivers originals, Prepared p) {
    DeviceOutcome o = p.outcome();
    Optional<PciDevice> device = after.device(o.address());
    boolean verified = o.verified();
    return new DeviceReport(
        o.address(),
        device,
        members(after, device),
        originalDriver(originals, device),
        p.claim().owner(),
        resourceName(p.claim(), device),
        ConflictActions.of(o, p.claim().policy()),
        verified,
        verified ? Optional.empty() : Optional.of(o.reason().orElse(Reason.BIND_FAILED)),
        o.message());
  }

  private DeviceReport conflict(Snapshot after, OriginalDrivers originals, ClaimMatch.Conflict c) {
    Optional<PciDevice> device = after.device(c.address());
    return new DeviceReport(
        c.address(),
        device,
        members(after, device),
        originalDriver(originals, device),
        c.loser().owner(),
        resourceName(c.loser(), device),
        List.of(),
        false,
        Optional.of(Reason.CLAIM_CONFLICT),
        c.address() + " is also selected by GpuPassthrough '" + c.winner().owner()
            + "', which comes first (spec.claims[" + c.winner().index() + "]); only one may take a"
            + " device: narrow one of the two selectors");
  }

  private static List<PciAddress> members(Snapshot s, Optional<PciDevice> device) {
    return device.flatMap(s::groupOf).map(IommuGroup::members).orElse(List.of());
  }

  /** The recorded original, else the current driver unless that is vfio-pci (nothing to go back to). */
  private static Optional<String> originalDriver(OriginalDrivers originals, Optional<PciDevice> device) {
    if (device.isEmpty()) {
      return Optional.empty();
    }
    OriginalDrivers.PciOriginal recorded = originals.devices().get(device.get().address().toString());
    if (recorded != null) {
      return recorded.originalDriver();
    }
    return device.get().driver().filter(d -> !d.equals(SysfsPaths.VFIO_PCI));
  }

  private static Optional<ResourceName> resourceName(Claim claim, Optional<PciDevice> device) {
    if (claim.resourceName().isPresent()) {
      return claim.resourceName();
    }
    return device.filter(PciDevice::isDisplay)
        .map(d -> ResourceName.defaultFor(d.vendor(), d.device(), d.deviceName()));
  }

  /** The CRD's pattern rejects bad addresses; should one get through, it is reported, not skipped. */
  private static List<PciAddress> addresses(RestoreRequest r, List<String> bad) {
    List<PciAddress> out = new ArrayList<>();
    for (String a : orEmpty(r.getAddresses())) {
      try {
        out.add(PciAddress.parse(a));
      } catch (IllegalArgumentException e) {
        bad.add(e.getMessage());
      }
    }
    return out;
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
