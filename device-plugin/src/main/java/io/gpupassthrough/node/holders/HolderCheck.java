package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.plugin.UnixSocketTransport;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Who holds some PCI functions, from both sources: the kubelet's PodResources {@code List}
 * (allocations) and a {@link ProcessScan} for the functions' device files. One call reads
 * {@code /proc} once, however many functions are asked about. Costs a scan of every process's
 * open files: callers use it before unbinding and for status, never on a gRPC path.
 */
public final class HolderCheck implements AutoCloseable {
  private final HostRoot host;
  private final Optional<Path> podResourcesSocket;
  private final DeviceFileReader files;
  private final ProcessScan scan;
  private UnixSocketTransport transport;

  /**
   * @param podResourcesSocket the kubelet's PodResources socket; empty to leave the kubelet out
   *     (told in every report's notes)
   */
  public HolderCheck(HostRoot host, Optional<Path> podResourcesSocket) {
    this.host = host;
    this.podResourcesSocket = podResourcesSocket;
    this.files = new DeviceFileReader(host);
    this.scan = new ProcessScan(host);
  }

  /** The kubelet's socket where the host root has it ({@code var/lib/kubelet/pod-resources/kubelet.sock}). */
  public static HolderCheck forHost(HostRoot host) {
    return new HolderCheck(host, Optional.of(host.paths().podResourcesSocket()));
  }

  public HolderReport check(Collection<PciAddress> functions) {
    Map<PciAddress, Set<String>> filesOf = new LinkedHashMap<>();
    Set<String> all = new LinkedHashSet<>();
    for (PciAddress f : new LinkedHashSet<>(functions)) {
      Set<String> fs = files.files(f);
      filesOf.put(f, fs);
      all.addAll(fs);
    }
    List<String> blind = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    ProcessScan.Result processes = all.isEmpty()
        ? new ProcessScan.Result(Map.of(), 0, 0, 0)
        : scan.holdersOf(all);
    if (processes.unreadable() > 0) {
      blind.add("the open files of " + processes.unreadable() + " of " + processes.processes()
          + " processes in " + host.paths().hostView(host.paths().proc())
          + " are unreadable (permission denied): run as root");
    }
    Map<PciAddress, List<PodHolder>> pods = pods(blind, notes);
    Map<PciAddress, DeviceHolders> out = new LinkedHashMap<>();
    for (Map.Entry<PciAddress, Set<String>> e : filesOf.entrySet()) {
      List<ProcessHolder> holders = new ArrayList<>();
      for (String file : e.getValue()) {
        holders.addAll(processes.holders().getOrDefault(file, List.of()));
      }
      out.put(e.getKey(), new DeviceHolders(e.getKey(), pods.getOrDefault(e.getKey(), List.of()), holders));
    }
    return new HolderReport(out, blind, notes);
  }

  private Map<PciAddress, List<PodHolder>> pods(List<String> blind, List<String> notes) {
    if (podResourcesSocket.isEmpty()) {
      notes.add("the kubelet's PodResources API was not consulted (no socket configured)");
      return Map.of();
    }
    Path socket = podResourcesSocket.get();
    if (!Files.exists(socket)) {
      // No kubelet on this host (a plain server, a fixture), or the DaemonSet lacks the mount.
      notes.add("no kubelet PodResources socket at " + socket + ": pods not consulted");
      return Map.of();
    }
    try {
      return PodAllocations.byDevice(new PodResourcesClient(socket, transport(), PodResourcesClient.DEFAULT_DEADLINE).list());
    } catch (StatusRuntimeException e) {
      blind.add("the kubelet's PodResources API at " + socket + " did not answer (" + e.getStatus().getCode()
          + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription())
          + "), so allocations to pods are unknown");
      return Map.of();
    }
  }

  private synchronized UnixSocketTransport transport() {
    if (transport == null) {
      transport = new UnixSocketTransport();
    }
    return transport;
  }

  @Override
  public synchronized void close() {
    if (transport != null) {
      transport.close();
      transport = null;
    }
  }
}
