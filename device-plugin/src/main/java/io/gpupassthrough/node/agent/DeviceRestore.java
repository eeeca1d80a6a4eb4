package io.gpupassthrough.node.agent;

import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.SysfsPaths;
import io.gpupassthrough.node.vfio.OriginalDriverStore;
import io.gpupassthrough.node.vfio.OriginalDrivers;
import io.gpupassthrough.node.vfio.OriginalDrivers.PciOriginal;
import io.gpupassthrough.node.vfio.RestoreItem;
import io.gpupassthrough.node.vfio.Restorer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Gives some GPUs back (a restore request of one owner), where {@code restore} on the CLI gives
 * back everything: only the recorded PCI functions taken for those GPUs (the GPU and its
 * companions). Framebuffer drivers and VT consoles are not recorded per GPU, so they are given
 * back only when no GPU is left on vfio-pci by the agent (the console then has nothing in its
 * way). A GPU that is held stays on vfio-pci and is reported as waiting (see {@link Restorer}).
 */
final class DeviceRestore {
  private final HostRoot host;
  private final OriginalDriverStore store;
  private final Restorer restorer;

  DeviceRestore(HostRoot host, OriginalDriverStore store, HolderCheck holders, Consumer<String> events) {
    this.host = host;
    this.store = store;
    this.restorer = new Restorer(host, holders, events);
  }

  RestoreReport restore(String owner, List<PciAddress> gpus) {
    OriginalDrivers recorded = store.load();
    Map<String, PciOriginal> mine = new LinkedHashMap<>();
    Map<String, PciOriginal> others = new LinkedHashMap<>();
    for (Map.Entry<String, PciOriginal> e : recorded.devices().entrySet()) {
      boolean requested = gpus.stream().anyMatch(g -> g.toString().equals(e.getKey())
          || g.toString().equals(e.getValue().gpu()));
      (requested ? mine : others).put(e.getKey(), e.getValue());
    }
    boolean lastOne = others.isEmpty();
    OriginalDrivers subset = new OriginalDrivers(mine,
        lastOne ? recorded.framebuffers() : Map.of(), lastOne ? recorded.vtConsoles() : Map.of());
    List<RestoreItem> items = restorer.restore(subset);
    store.forget(restoredPart(subset, items));

    List<String> restored = new ArrayList<>();
    Set<String> problems = new LinkedHashSet<>();
    Map<String, RestoreReport.Held> waiting = new LinkedHashMap<>();
    for (PciAddress gpu : gpus) {
      String a = gpu.toString();
      List<RestoreItem> ofGpu = items.stream()
          .filter(i -> i.name().equals(a) || a.equals(mine.containsKey(i.name()) ? mine.get(i.name()).gpu() : null))
          .toList();
      if (ofGpu.isEmpty()) {
        // Nothing recorded: the agent never took it (or an admin bound it by hand). Leave it.
        boolean onVfio = host.linkTarget(host.paths().pciDriverLink(gpu))
            .map(SysfsPaths.VFIO_PCI::equals).orElse(false);
        if (onVfio) {
          problems.add(a + " has no recorded original driver (it was on vfio-pci before the agent"
              + " took it); left on vfio-pci");
        }
        continue;
      }
      List<RestoreItem> failed = ofGpu.stream().filter(i -> !i.restored()).toList();
      if (failed.isEmpty()) {
        restored.add(a);
      } else {
        failed.forEach(i -> problems.add(i.message()));
        failed.stream().filter(RestoreItem::waiting).findFirst().ifPresent(i ->
            waiting.put(a, new RestoreReport.Held(i.reason().orElseThrow(), i.message())));
      }
    }
    items.stream()
        .filter(i -> !i.restored() && !recorded.devices().containsKey(i.name()))
        .forEach(i -> problems.add(i.message()));
    boolean done = items.stream().allMatch(RestoreItem::restored);
    String message = problems.isEmpty()
        ? (restored.isEmpty() ? "nothing to give back" : "back on the original drivers: " + String.join(", ", restored))
        : String.join("; ", problems);
    return new RestoreReport(owner, done, restored, message, waiting);
  }

  private static OriginalDrivers restoredPart(OriginalDrivers subset, List<RestoreItem> items) {
    Map<String, PciOriginal> d = new LinkedHashMap<>();
    Map<String, String> f = new LinkedHashMap<>();
    Map<String, Boolean> v = new LinkedHashMap<>();
    for (RestoreItem i : items) {
      if (!i.restored()) {
        continue;
      }
      if (subset.devices().containsKey(i.name())) {
        d.put(i.name(), subset.devices().get(i.name()));
      } else if (subset.framebuffers().containsKey(i.name())) {
        f.put(i.name(), subset.framebuffers().get(i.name()));
      } else if (subset.vtConsoles().containsKey(i.name())) {
        v.put(i.name(), subset.vtConsoles().get(i.name()));
      }
    }
    return new OriginalDrivers(d, f, v);
  }
}
