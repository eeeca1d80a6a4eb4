package io.gpupassthrough.node.demo;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.DevicePlan;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.SnapshotReader;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.plugin.HostDeviceInventory;
import io.gpupassthrough.node.plugin.NodeAgent;
import io.gpupassthrough.node.plugin.StandaloneDesiredState;
import io.gpupassthrough.node.plugin.UnixSocketTransport;
import io.gpupassthrough.node.plugin.v1beta1.ContainerAllocateResponse;
import io.gpupassthrough.node.plugin.v1beta1.Device;
import io.gpupassthrough.node.plugin.v1beta1.DeviceSpec;
import io.gpupassthrough.node.plugin.v1beta1.ListAndWatchResponse;
import io.gpupassthrough.node.vfio.DeviceOutcome;
import io.gpupassthrough.node.vfio.Preparation;
import io.gpupassthrough.node.vfio.StepRecord;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The end-to-end story in one process: a simulated UEFI workstation with two GPUs, scan and
 * prepare through the engine and executor, the device plugin serving the kubelet stand-in,
 * Allocate, a health change, a kubelet restart and a clean shutdown. Every step checks what it
 * claims and throws {@link DemoFailure} when the system did not do it.
 */
public final class Demo {
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final PrintStream out;
  private int step;

  public Demo(PrintStream out) {
    this.out = out;
  }

  /** A step that did not produce what the demo promised. */
  public static final class DemoFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    DemoFailure(String message) {
      super(message);
    }
  }

  public void run(Path work) throws IOException {
    Path pluginDir = Files.createDirectories(work.resolve("device-plugins"));
    heading("A simulated host: UEFI, two NVIDIA A10s on nouveau, each with HDMI audio");
    SimulatedHost host = DemoHosts.twoGpuWorkstation(work.resolve("host"));
    say("host root %s (what /sys, /proc and /dev look like to the agent)", host.root());

    heading("scan: what is in the way of each GPU");
    Snapshot before = new SnapshotReader(host.kernel()).read();
    // The step records below carry the same events with their reasons; no separate event log.
    Preparation preparation = new Preparation(host.kernel(), e -> {});
    Preparation.Report dryRun =
        preparation.prepare(DeviceSelection.allGpus(), ConsoleConflictPolicy.DETACH, true, true);
    for (DevicePlan plan : dryRun.plan().devices()) {
      PciDevice gpu = plan.device().orElseThrow();
      say("%s %s:%s %s  driver %s, IOMMU group %s, NUMA %d%s",
          gpu.address(), gpu.vendorHex(), gpu.deviceHex(), gpu.deviceName().orElse("?"),
          gpu.driver().orElse("none"), gpu.iommuGroup().isPresent() ? gpu.iommuGroup().getAsInt() : "none",
          gpu.numaNode(), gpu.bootVga() ? ", boot VGA" : "");
      plan.companions().forEach(c -> say("    companion %s (class %s, %s)", c.address(), c.classHex(), c.driver().orElse("no driver")));
      if (plan.conflicts().isEmpty()) {
        say("    no console or framebuffer overlaps its BARs");
      }
      for (Conflict c : plan.conflicts()) {
        say("    conflict: %s -> %s", c, c.release());
      }
    }
    say("VT consoles before: %s", consoles(before));

    heading("prepare: detach exactly the conflicting consoles, bind each IOMMU group to vfio-pci, verify");
    Preparation.Report report =
        preparation.prepare(DeviceSelection.allGpus(), ConsoleConflictPolicy.DETACH, true, false);
    for (DeviceOutcome o : report.outcomes()) {
      say("%s", o.address());
      for (StepRecord s : o.steps()) {
        say("    %-12s %s  (%s)", s.status(), s.step().describe(), s.step().why());
      }
      say("    => %s: %s", o.result(), o.message());
    }
    if (!report.allVerified()) {
      throw new DemoFailure("prepare did not verify every GPU on vfio-pci: " + report.outcomes());
    }
    say("VT consoles after: %s (fbcon left vtcon1 with efifb; nothing else touched)",
        consoles(new SnapshotReader(host.kernel()).read()));

    heading("serve: the device plugin against a kubelet stand-in in " + pluginDir);
    try (UnixSocketTransport kubeletTransport = new UnixSocketTransport(true);
        KubeletStandIn kubelet = new KubeletStandIn(pluginDir, kubeletTransport).start()) {
      NodeAgent agent =
          new NodeAgent(
              new HostDeviceInventory(host.kernel(), Duration.ofSeconds(10)),
              new StandaloneDesiredState(Map.of()),
              new NodeAgent.Settings(pluginDir, Optional.empty(), NodeAgent.Settings.DEFAULT_HEALTH_POLL, Duration.ofSeconds(2)));
      long t0 = System.nanoTime();
      agent.start();
      KubeletStandIn.Registration r = kubelet.nextRegistration(WAIT);
      String resource = r.request().getResourceName();
      say("Register after %d ms: resource %s, endpoint %s, API %s", ms(t0, r.nanoTime()), resource,
          r.request().getEndpoint(), r.request().getVersion());
      say("kubelet called GetDevicePluginOptions back during Register: preStartRequired=%s, getPreferredAllocationAvailable=%s",
          r.options().getPreStartRequired(), r.options().getGetPreferredAllocationAvailable());
      ListAndWatchResponse list = kubelet.nextUpdate(u -> u.response().getDevicesCount() == 2, WAIT).response();
      say("ListAndWatch: %s", describe(list));

      heading("Allocate one GPU: what KubeVirt's virt-launcher gets");
      String first = list.getDevices(0).getID();
      ContainerAllocateResponse allocation = kubelet.allocate(resource, List.of(first)).getContainerResponses(0);
      allocation.getEnvsMap().forEach((k, v) -> say("env    %s=%s", k, v));
      for (DeviceSpec d : allocation.getDevicesList()) {
        say("device %s -> %s (%s)", d.getHostPath(), d.getContainerPath(), d.getPermissions());
      }
      kubelet.preStart(resource, List.of(first));
      say("PreStartContainer: %s re-checked on vfio-pci, ok", first);

      heading("Health: another driver grabs the second GPU (its driver link leaves vfio-pci)");
      String second = list.getDevices(1).getID();
      t0 = System.nanoTime();
      host.kernel().setDriverLink(PciAddress.parse(second), "nouveau");
      KubeletStandIn.Update sick = kubelet.nextUpdate(u -> has(u, second, "Unhealthy"), WAIT);
      say("ListAndWatch after %d ms: %s", ms(t0, sick.nanoTime()), describe(sick.response()));
      t0 = System.nanoTime();
      host.kernel().setDriverLink(PciAddress.parse(second), "vfio-pci");
      KubeletStandIn.Update well = kubelet.nextUpdate(u -> has(u, second, "Healthy"), WAIT);
      say("bound back to vfio-pci; ListAndWatch after %d ms: %s", ms(t0, well.nanoTime()), describe(well.response()));

      heading("Kubelet restart: every socket deleted, kubelet.sock created again");
      t0 = System.nanoTime();
      kubelet.restart();
      KubeletStandIn.Registration again = kubelet.nextRegistration(WAIT);
      say("re-registered %s after %d ms on a fresh socket %s", again.request().getResourceName(),
          ms(t0, again.nanoTime()), again.request().getEndpoint());
      say("ListAndWatch: %s", describe(kubelet.nextUpdate(u -> u.response().getDevicesCount() == 2, WAIT).response()));

      heading("Shutdown");
      agent.close();
      List<String> left = list(pluginDir);
      say("plugin sockets removed; the device-plugin directory holds %s", left);
      if (!left.equals(List.of("kubelet.sock"))) {
        throw new DemoFailure("sockets left behind after shutdown: " + left);
      }
    }
    say("");
    say("done: 2 GPUs prepared, advertised, allocated, health-checked and re-registered.");
  }

  private static String consoles(Snapshot s) {
    return s.vtConsoles().stream()
        .map(v -> v.id() + " " + v.name() + (v.bound() ? " [bound]" : ""))
        .collect(Collectors.joining(", "));
  }

  private static boolean has(KubeletStandIn.Update u, String id, String health) {
    return u.response().getDevicesList().stream().anyMatch(d -> d.getID().equals(id) && d.getHealth().equals(health));
  }

  private static String describe(ListAndWatchResponse list) {
    return list.getDevicesList().stream()
        .map(d -> d.getID() + " " + d.getHealth() + numa(d))
        .collect(Collectors.joining(", "));
  }

  private static String numa(Device d) {
    return d.hasTopology() && d.getTopology().getNodesCount() > 0
        ? " (NUMA " + d.getTopology().getNodes(0).getID() + ")"
        : "";
  }

  private static long ms(long from, long to) {
    return Math.round((to - from) / 1e6);
  }

  private static List<String> list(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted(Comparator.naturalOrder()).toList();
    }
  }

  private void heading(String title) {
    out.printf("%n== %d. %s%n", ++step, title);
  }

  private void say(String format, Object... args) {
    out.println("   " + String.format(format, args));
  }
}
