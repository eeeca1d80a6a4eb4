package io.gpupassthrough.node.vfio;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.node.aperture.ConflictEngine;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.aperture.Plan;
import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.SnapshotReader;
import java.util.List;
import java.util.function.Consumer;

/**
 * The library entry point for preparing GPUs (used by {@code prepare} and the in-cluster agent):
 * snapshot → engine → executor, or snapshot → engine only for a dry run. Also {@link #restore()}.
 */
public final class Preparation {
  private final HostRoot host;
  private final SnapshotReader reader;
  private final OriginalDriverStore store;
  private final HolderCheck holders;
  private final Consumer<String> events;

  /** Holders are checked through the host root's /proc and its kubelet socket, when it has one. */
  public Preparation(HostRoot host, Consumer<String> events) {
    this(host, HolderCheck.forHost(host), events);
  }

  public Preparation(HostRoot host, HolderCheck holders, Consumer<String> events) {
    this.host = host;
    this.reader = new SnapshotReader(host);
    this.store = new OriginalDriverStore(host);
    this.holders = holders;
    this.events = events;
  }

  /** What a run saw, decided and did. */
  public record Report(Snapshot before, Plan plan, List<DeviceOutcome> outcomes) {
    public Report {
      outcomes = List.copyOf(outcomes);
    }

    /** True when every selected device ended up verified on vfio-pci (and at least one was). */
    public boolean allVerified() {
      return !outcomes.isEmpty() && outcomes.stream().allMatch(DeviceOutcome::verified);
    }
  }

  /**
   * Prepares the selected GPUs: {@code policy} says what to do about console conflicts,
   * {@code companions} whether the rest of each IOMMU group is taken along.
   */
  public Report prepare(DeviceSelection selection, ConsoleConflictPolicy policy, boolean companions,
      boolean dryRun) {
    Snapshot snapshot = reader.read();
    Plan plan = ConflictEngine.plan(snapshot, selection, policy, companions);
    List<DeviceOutcome> outcomes = dryRun
        ? plan.devices().stream().map(Executor::planned).toList()
        : new Executor(host, store, holders, events).execute(plan);
    return new Report(snapshot, plan, outcomes);
  }

  /** Gives every recorded device, framebuffer and console back; forgets what was restored. */
  public List<RestoreItem> restore() {
    OriginalDrivers recorded = store.load();
    List<RestoreItem> items = new Restorer(host, holders, events).restore(recorded);
    store.forget(new OriginalDrivers(
        recorded.devices().entrySet().stream().filter(e -> restored(items, e.getKey()))
            .collect(java.util.stream.Collectors.toMap(e -> e.getKey(), e -> e.getValue())),
        recorded.framebuffers().entrySet().stream().filter(e -> restored(items, e.getKey()))
            .collect(java.util.stream.Collectors.toMap(e -> e.getKey(), e -> e.getValue())),
        recorded.vtConsoles().entrySet().stream().filter(e -> restored(items, e.getKey()))
            .collect(java.util.stream.Collectors.toMap(e -> e.getKey(), e -> e.getValue()))));
    return items;
  }

  private static boolean restored(List<RestoreItem> items, String name) {
    return items.stream().anyMatch(i -> i.name().equals(name) && i.restored());
  }

  public OriginalDriverStore store() {
    return store;
  }
}
