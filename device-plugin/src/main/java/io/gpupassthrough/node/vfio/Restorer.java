package io.gpupassthrough.node.vfio;

import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.holders.DeviceHolders;
import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.holders.HolderReport;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.HostWriteException;
import io.gpupassthrough.node.host.HungWrite;
import io.gpupassthrough.node.host.KernelFormats;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.SysfsPaths;
import io.gpupassthrough.node.host.WriteHungException;
import io.gpupassthrough.node.vfio.OriginalDrivers.PciOriginal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Puts recorded original drivers back, by state rather than by replaying steps: whatever a failed
 * run left behind (a half-bound group, a console the kernel evicted), the end state is the
 * recorded one. Used by {@code restore} and by the executor's rollback. Order: PCI functions
 * (leave vfio-pci, clear the override, rebind), then framebuffer drivers, then VT consoles.
 *
 * <p>A GPU's functions are given back together, and not at all while it is held: unbinding
 * vfio-pci from a device whose VFIO file is open makes the kernel ask its user to release it
 * (QEMU hot-unplugs it from the running guest) and blocks the write until it does. Such a GPU
 * stays on vfio-pci ({@code DeviceInUse}, naming the holders), as does one with a write still
 * blocked ({@code WriteHung}); the consoles then wait too. Everything stays recorded for the next
 * try.
 */
public final class Restorer {
  private final HostRoot host;
  private final SysfsPaths paths;
  private final HolderCheck holders;
  private final Consumer<String> events;

  /** Holders are checked through the host root's /proc and its kubelet socket, when it has one. */
  public Restorer(HostRoot host, Consumer<String> events) {
    this(host, HolderCheck.forHost(host), events);
  }

  public Restorer(HostRoot host, HolderCheck holders, Consumer<String> events) {
    this.host = host;
    this.paths = host.paths();
    this.holders = holders;
    this.events = events;
  }

  public List<RestoreItem> restore(OriginalDrivers originals) {
    List<RestoreItem> items = new ArrayList<>();
    Map<String, Map<String, PciOriginal>> byGpu = new TreeMap<>();
    for (Map.Entry<String, PciOriginal> e : originals.devices().entrySet()) {
      String gpu = e.getValue().gpu() == null ? e.getKey() : e.getValue().gpu();
      byGpu.computeIfAbsent(gpu, g -> new LinkedHashMap<>()).put(e.getKey(), e.getValue());
    }
    Optional<Blocked> firstBlocked = Optional.empty();
    for (Map.Entry<String, Map<String, PciOriginal>> gpu : byGpu.entrySet()) {
      Optional<Blocked> blocked = blocked(gpu.getKey(), gpu.getValue());
      if (blocked.isPresent()) {
        firstBlocked = firstBlocked.or(() -> blocked);
        events.accept(blocked.get().message());
        gpu.getValue().keySet().forEach(f -> items.add(
            new RestoreItem(f, false, blocked.get().message(), Optional.of(blocked.get().reason()))));
        continue;
      }
      Optional<Blocked> hung = Optional.empty();
      for (Map.Entry<String, PciOriginal> e : gpu.getValue().entrySet()) {
        if (hung.isPresent()) {
          items.add(new RestoreItem(e.getKey(), false, "not attempted: " + hung.get().message(),
              Optional.of(Reason.WRITE_HUNG)));
          continue;
        }
        RestoreItem item = restorePci(PciAddress.parse(e.getKey()), e.getValue());
        items.add(item);
        if (item.reason().filter(Reason.WRITE_HUNG::equals).isPresent()) {
          // The rest of the group would block behind it in the kernel (same IOMMU group user).
          hung = Optional.of(new Blocked(Reason.WRITE_HUNG, item.message()));
          firstBlocked = firstBlocked.or(() -> Optional.of(new Blocked(Reason.WRITE_HUNG, item.message())));
        }
      }
    }
    for (Map.Entry<String, String> e : originals.framebuffers().entrySet()) {
      items.add(firstBlocked.isPresent() ? waitingFor(e.getKey(), firstBlocked.get())
          : restoreFramebuffer(e.getKey(), e.getValue()));
    }
    for (Map.Entry<String, Boolean> e : originals.vtConsoles().entrySet()) {
      items.add(firstBlocked.isPresent() ? waitingFor(e.getKey(), firstBlocked.get())
          : restoreVtConsole(e.getKey(), e.getValue()));
    }
    return items;
  }

  /** Why a GPU's functions cannot be given back now. */
  private record Blocked(Reason reason, String message) {}

  private static RestoreItem waitingFor(String name, Blocked blocked) {
    return new RestoreItem(name, false, "not given back yet: its GPU is not (" + blocked.message()
        + "); kept for the next restore", Optional.of(blocked.reason()));
  }

  /**
   * A write still blocked for one of the functions, or holders of the functions that would be
   * unbound; nothing when every function is already off its vfio-pci binding.
   */
  private Optional<Blocked> blocked(String gpu, Map<String, PciOriginal> functions) {
    List<PciAddress> unbinding = new ArrayList<>();
    for (Map.Entry<String, PciOriginal> e : functions.entrySet()) {
      PciAddress a = PciAddress.parse(e.getKey());
      Optional<HungWrite> hung = host.hungWrite(a.toString());
      if (hung.isPresent()) {
        return Optional.of(new Blocked(Reason.WRITE_HUNG, "waiting for the kernel to finish a write for "
            + a + ": " + hung.get().describe(Instant.now()) + "; nothing more is written for it until"
            + " that returns"));
      }
      try {
        Optional<String> current = host.linkTarget(paths.pciDriverLink(a));
        if (current.isPresent() && !current.equals(e.getValue().originalDriver())) {
          unbinding.add(a);
        }
      } catch (HostReadException ignored) {
        // restorePci reports it
      }
    }
    if (unbinding.isEmpty()) {
      return Optional.empty();
    }
    HolderReport report = holders.check(unbinding);
    DeviceHolders held = report.of(PciAddress.parse(gpu), unbinding);
    if (held.held()) {
      return Optional.of(new Blocked(Reason.DEVICE_IN_USE, "waiting for " + held.who() + " to release "
          + gpu + " (" + held.describe() + "); it stays on " + SysfsPaths.VFIO_PCI + " until then:"
          + " unbinding it now would take it from its holder"));
    }
    if (report.blindness().isPresent()) {
      return Optional.of(new Blocked(Reason.HOST_READ_ERROR, "cannot tell whether " + gpu
          + " is in use, so it was left on " + SysfsPaths.VFIO_PCI + ": " + report.blindness().get()));
    }
    return Optional.empty();
  }

  private RestoreItem restorePci(PciAddress a, PciOriginal original) {
    String name = a.toString();
    try {
      if (!host.exists(paths.pciDevice(a))) {
        return new RestoreItem(name, false, a + " is no longer in /sys/bus/pci/devices");
      }
      Optional<String> current = host.linkTarget(paths.pciDriverLink(a));
      Optional<String> want = original.originalDriver();
      if (current.isPresent() && !current.equals(want)) {
        host.write(paths.pciDriverUnbind(current.get()), name);
      }
      Optional<String> override =
          host.readIfPresent(paths.driverOverride(a)).flatMap(KernelFormats::parseDriverOverride);
      if (!override.equals(original.originalOverride())) {
        // A lone newline clears driver_override; an empty write would be ignored.
        host.write(paths.driverOverride(a), original.originalOverride().orElse("\n"));
      }
      if (want.isPresent() && host.linkTarget(paths.pciDriverLink(a)).isEmpty()) {
        try {
          host.write(paths.pciDriverBind(want.get()), name);
        } catch (HostWriteException bindRefused) {
          host.write(paths.pciDriversProbe(), name);
        }
      }
      Optional<String> now = host.linkTarget(paths.pciDriverLink(a));
      if (!now.equals(want)) {
        return new RestoreItem(name, false, a + " is on " + now.orElse("no driver") + ", expected "
            + want.orElse("no driver") + (want.isPresent() && !host.exists(paths.pciDriver(want.get()))
                ? " (module not loaded: modprobe " + want.get() + ")" : ""));
      }
      events.accept("restored " + a + " to " + want.orElse("no driver"));
      return new RestoreItem(name, true, "on " + want.orElse("no driver") + " again");
    } catch (WriteHungException e) {
      return new RestoreItem(name, false, e.getMessage(), Optional.of(Reason.WRITE_HUNG));
    } catch (HostWriteException | HostReadException e) {
      return new RestoreItem(name, false, e.getMessage());
    }
  }

  private RestoreItem restoreFramebuffer(String device, String driver) {
    try {
      if (!host.exists(paths.platformDevice(device))) {
        // Linux >= 6.0: vfio-pci's sysfb_disable() unregistered it; only a reboot brings it back.
        return new RestoreItem(device, false, device + " is no longer a platform device (the kernel"
            + " unregisters firmware framebuffers when vfio-pci binds a VGA GPU); it returns at the"
            + " next boot");
      }
      if (host.linkTarget(paths.platformDriverLink(device)).isEmpty()) {
        host.write(paths.platformDriverBind(driver), device);
      }
      Optional<String> now = host.linkTarget(paths.platformDriverLink(device));
      if (!now.map(driver::equals).orElse(false)) {
        return new RestoreItem(device, false, device + " is on " + now.orElse("no driver")
            + ", expected " + driver);
      }
      events.accept("restored " + device + " to " + driver);
      return new RestoreItem(device, true, "on " + driver + " again");
    } catch (WriteHungException e) {
      return new RestoreItem(device, false, e.getMessage(), Optional.of(Reason.WRITE_HUNG));
    } catch (HostWriteException | HostReadException e) {
      return new RestoreItem(device, false, e.getMessage());
    }
  }

  private RestoreItem restoreVtConsole(String id, boolean bound) {
    try {
      if (!host.exists(paths.vtConsole(id))) {
        // fbcon's vtconN goes with the last framebuffer and comes back with the first; vgacon's
        // goes when vfio-pci binds the boot VGA device ("vgaarb: deactivate vga console").
        return new RestoreItem(id, !bound, bound ? id + " is gone: the kernel removed that console"
            + " (fbcon leaves with its framebuffer, vgacon when vfio-pci binds the boot VGA device)"
            + " and it returns at the next boot" : "gone");
      }
      boolean now = KernelFormats.parseFlag(paths.vtConsoleBind(id), host.read(paths.vtConsoleBind(id)));
      if (now != bound) {
        host.write(paths.vtConsoleBind(id), bound ? "1" : "0");
      }
      boolean after = KernelFormats.parseFlag(paths.vtConsoleBind(id), host.read(paths.vtConsoleBind(id)));
      if (after != bound) {
        return new RestoreItem(id, false, id + " bind is " + (after ? 1 : 0) + ", expected " + (bound ? 1 : 0));
      }
      events.accept("restored " + id + " bind=" + (bound ? 1 : 0));
      return new RestoreItem(id, true, "bind=" + (bound ? 1 : 0) + " again");
    } catch (WriteHungException e) {
      return new RestoreItem(id, false, e.getMessage(), Optional.of(Reason.WRITE_HUNG));
    } catch (HostWriteException | HostReadException e) {
      return new RestoreItem(id, false, e.getMessage());
    }
  }
}
