package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.host.PciAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who holds one device (a GPU with its IOMMU-group companions, or one PCI function): the pods the
 * kubelet allocated it to and the processes with its files open. Both may name the same user (a
 * VM's QEMU is a process in its virt-launcher pod).
 */
public record DeviceHolders(PciAddress device, List<PodHolder> pods, List<ProcessHolder> processes) {
  public DeviceHolders {
    pods = List.copyOf(pods);
    processes = List.copyOf(processes.stream()
        .sorted(Comparator.comparingLong(ProcessHolder::pid).thenComparing(ProcessHolder::file))
        .toList());
  }

  public static DeviceHolders none(PciAddress device) {
    return new DeviceHolders(device, List.of(), List.of());
  }

  public boolean held() {
    return !pods.isEmpty() || !processes.isEmpty();
  }

  /** This device's holders plus {@code other}'s (a GPU and its companions are given back together). */
  public DeviceHolders plus(DeviceHolders other) {
    Set<PodHolder> p = new LinkedHashSet<>(pods);
    p.addAll(other.pods);
    Set<ProcessHolder> h = new LinkedHashSet<>(processes);
    h.addAll(other.processes);
    return new DeviceHolders(device, new ArrayList<>(p), new ArrayList<>(h));
  }

  /**
   * One entry per process, its files joined ({@code /dev/snd/controlC1, /dev/snd/pcmC1D3p}): what
   * status and the CLI list.
   */
  public List<ProcessHolder> byProcess() {
    Map<Long, ProcessHolder> merged = new LinkedHashMap<>();
    for (ProcessHolder h : processes) {
      merged.merge(h.pid(), h, (a, b) -> new ProcessHolder(a.pid(), a.comm(), a.commandLine(),
          a.containerId(), a.podUid(), a.file() + ", " + b.file()));
    }
    return List.copyOf(merged.values());
  }

  /** The holders in one phrase: {@code pod default/vm1 (container compute); pid 77 python3 has /dev/vfio/5 open}. */
  public String describe() {
    List<String> parts = new ArrayList<>();
    pods.forEach(p -> parts.add(p.describe()));
    byProcess().forEach(h -> parts.add(h.describe()));
    return parts.isEmpty() ? "nobody" : String.join("; ", parts);
  }

  /** The holders as the subject of "to release": {@code pod default/vm1}, else the processes. */
  public String who() {
    if (!pods.isEmpty()) {
      return pods.stream().map(p -> "pod " + p.namespace() + "/" + p.pod()).distinct()
          .collect(Collectors.joining(", "));
    }
    return processes.stream().map(h -> "pid " + h.pid() + " (" + h.comm() + ")").distinct()
        .collect(Collectors.joining(", "));
  }
}
