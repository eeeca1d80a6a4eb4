package io.gpupassthrough.node.aperture;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.aperture.Conflict.Release;
import io.gpupassthrough.node.host.Bar;
import io.gpupassthrough.node.host.FramebufferDevice;
import io.gpupassthrough.node.host.FramebufferDrivers;
import io.gpupassthrough.node.host.IomemRange;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.host.PlatformFramebuffer;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.SysfsPaths;
import io.gpupassthrough.node.host.VtConsole;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The aperture conflict engine: snapshot in, plan out, no I/O. It does for user space what
 * drm_aperture_remove_conflicting_pci_framebuffers() does in the kernel (see the seed patch):
 * for each memory BAR of *this* GPU, find the firmware framebuffers whose /proc/iomem range
 * overlaps it, then the consoles drawing on them — never a blanket disable, so a second GPU's
 * console is left alone.
 */
public final class ConflictEngine {
  /** The legacy VGA window vgacon draws on. */
  public static final long VGA_START = 0xa0000;
  public static final long VGA_END = 0xbffff;

  /** Drivers that hold no one's console and may sit in a group we take: vfio itself, pci-stub. */
  private static final Set<String> PARKING_DRIVERS = Set.of(SysfsPaths.VFIO_PCI, "pci-stub");

  private ConflictEngine() {}

  /** Plans every selected device. Unknown addresses and non-GPUs are refused, not skipped. */
  public static Plan plan(
      Snapshot s, DeviceSelection selection, ConsoleConflictPolicy policy, boolean companions) {
    List<DevicePlan> out = new ArrayList<>();
    for (PciAddress a : selection.addresses()) {
      if (!s.pciClasses().containsKey(a)) {
        out.add(refused(a, Optional.empty(), List.of(), List.of(), Reason.DEVICE_GONE,
            "no PCI device " + a + " on this host (see /sys/bus/pci/devices)"));
      } else if ((s.pciClasses().get(a) >> 16) != 0x03) {
        out.add(refused(a, s.device(a), List.of(), List.of(), Reason.UNSUPPORTED_CLASS,
            a + " has class " + String.format("0x%06x", s.pciClasses().get(a))
                + ", not a display controller (0x03xxxx); only GPUs are passed through"));
      }
    }
    for (PciDevice gpu : s.gpus()) {
      if (selection.matches(gpu.address(), gpu.vendor(), gpu.device(), gpu.pciClass())) {
        out.add(assess(s, gpu, policy, companions));
      }
    }
    out.sort((x, y) -> x.address().compareTo(y.address()));
    return new Plan(out);
  }

  /** The plan for one GPU (also what {@code scan} reports). */
  public static DevicePlan assess(
      Snapshot s, PciDevice gpu, ConsoleConflictPolicy policy, boolean withCompanions) {
    List<Conflict> conflicts = conflicts(s, gpu);
    List<PciDevice> companions = new ArrayList<>();
    Optional<Refusal> groupProblem = Optional.empty();
    for (PciDevice peer : s.groupPeers(gpu)) {
      if (peer.isBridge()) {
        continue; // bridges stay on pcieport; vfio does not need them (DESIGN §5)
      }
      boolean parked = peer.driver().map(PARKING_DRIVERS::contains).orElse(true);
      if (withCompanions && !isInUse(peer)) {
        companions.add(peer);
      } else if (!parked && groupProblem.isEmpty()) {
        groupProblem = Optional.of(new Refusal(Reason.IOMMU_GROUP_IN_USE,
            "IOMMU group " + gpu.iommuGroup().getAsInt() + " also holds " + peer.address()
                + " (class 0x" + peer.classHex() + ") bound to " + peer.driver().get()
                + (withCompanions
                    ? "; it is storage or network and will not be taken: move the GPU to a slot"
                        + " with its own group or enable ACS"
                    : "; enable includeIommuGroupCompanions or unbind it first")));
      }
    }
    Optional<Refusal> refusal = refusal(s, gpu, policy, conflicts, groupProblem);
    if (refusal.isPresent()) {
      return new DevicePlan(gpu.address(), Optional.of(gpu), Disposition.REFUSED, conflicts,
          companions, List.of(), refusal);
    }
    if (isPrepared(s, gpu, companions)) {
      return new DevicePlan(gpu.address(), Optional.of(gpu), Disposition.ALREADY_PREPARED,
          conflicts, companions, List.of(), Optional.empty());
    }
    return new DevicePlan(gpu.address(), Optional.of(gpu), Disposition.READY, conflicts,
        companions, steps(gpu, companions, conflicts, policy), Optional.empty());
  }

  /** Storage and network functions are never taken along silently, even as group companions. */
  private static boolean isInUse(PciDevice peer) {
    int base = peer.pciClass() >> 16;
    return (base == 0x01 || base == 0x02)
        && peer.driver().filter(d -> !PARKING_DRIVERS.contains(d)).isPresent();
  }

  private static boolean isPrepared(Snapshot s, PciDevice gpu, List<PciDevice> companions) {
    if (!gpu.isBoundTo(SysfsPaths.VFIO_PCI)
        || !s.vfioGroupNodes().contains(gpu.iommuGroup().getAsInt())) {
      return false;
    }
    return companions.stream().allMatch(c -> c.isBoundTo(SysfsPaths.VFIO_PCI));
  }

  private static Optional<Refusal> refusal(Snapshot s, PciDevice gpu, ConsoleConflictPolicy policy,
      List<Conflict> conflicts, Optional<Refusal> groupProblem) {
    if (gpu.iommuGroup().isEmpty()) {
      return Optional.of(new Refusal(Reason.NO_IOMMU, gpu.address()
          + " has no iommu_group: the IOMMU is off. Enable VT-d/AMD-Vi in firmware and boot with"
          + " intel_iommu=on (or amd_iommu=on); without it vfio-pci fails to probe (-22) but still"
          + " takes the console away"));
    }
    if (s.iomem().addressesHidden()) {
      return Optional.of(new Refusal(Reason.HOST_READ_ERROR,
          "/proc/iomem shows all addresses as zero (read without CAP_SYS_ADMIN): console"
              + " conflicts cannot be computed; run the node agent as root"));
    }
    if (groupProblem.isPresent()) {
      return groupProblem;
    }
    if (!s.vfioPciLoaded() && !gpu.isBoundTo(SysfsPaths.VFIO_PCI)) {
      return Optional.of(new Refusal(Reason.VFIO_PCI_NOT_LOADED,
          "the vfio-pci driver is not loaded (/sys/bus/pci/drivers/vfio-pci is missing): run"
              + " 'modprobe vfio-pci' or add vfio-pci to /etc/modules-load.d"));
    }
    if (policy == ConsoleConflictPolicy.IGNORE) {
      return Optional.empty();
    }
    for (Conflict c : conflicts) {
      if (c.release() == Release.NONE && c.name().equals(FramebufferDrivers.FIRMWARE_REGION)) {
        return Optional.of(new Refusal(Reason.FIRMWARE_FRAMEBUFFER_HELD,
            "firmware framebuffer range BOOTFB " + c.hexStart() + "-" + c.hexEnd()
                + " overlaps a BAR of " + gpu.address() + " and stays after its driver is unbound;"
                + " vfio-pci could not reserve the BAR. Boot with initcall_blacklist=sysfb_init (or"
                + " video=efifb:off / nomodeset), or use Linux >= 6.0 where vfio-pci evicts it for"
                + " VGA-class GPUs"));
      }
    }
    for (Conflict c : conflicts) {
      if (c.release() == Release.NONE) {
        return Optional.of(new Refusal(Reason.CONSOLE_CONFLICT,
            "memory " + c.hexStart() + "-" + c.hexEnd() + " on a BAR of " + gpu.address()
                + " is held by '" + c.driver().orElse(c.name()) + "', which is neither a firmware"
                + " framebuffer nor this GPU's driver; unbind it by hand"));
      }
    }
    if (policy == ConsoleConflictPolicy.FAIL) {
      List<Conflict> live = conflicts.stream()
          .filter(c -> c.release() == Release.DETACH || c.release() == Release.KERNEL_ON_BIND)
          .toList();
      if (!live.isEmpty()) {
        return Optional.of(new Refusal(Reason.CONSOLE_CONFLICT, "consoleConflicts is Fail and "
            + live.size() + " console(s) use " + gpu.address() + ": "
            + String.join(", ", live.stream().map(Conflict::toString).toList())));
      }
    }
    return Optional.empty();
  }

  /** Framebuffers on this GPU's BARs, the fbcon consoles drawing on them, and vgacon. */
  static List<Conflict> conflicts(Snapshot s, PciDevice gpu) {
    Map<String, Conflict> found = new LinkedHashMap<>();
    Set<String> fbOwners = new LinkedHashSet<>();
    for (Bar bar : gpu.apertures()) {
      for (IomemRange r : s.iomem().overlapping(bar.start(), bar.end())) {
        classify(s, gpu, r).ifPresent(c -> {
          found.putIfAbsent(c.kind() + "/" + c.name() + "/" + c.start(), c);
          if (c.release() == Release.DETACH) {
            fbOwners.add(c.name());
          }
        });
      }
    }
    List<Conflict> out = new ArrayList<>(found.values());
    if (gpu.driver().isPresent()) {
      fbOwners.add(gpu.address().toString());
    }
    // fbcon draws on every fbN; it is in the way when one of those fbs sits on this GPU.
    Optional<FramebufferDevice> ourFb = s.framebuffers().stream()
        .filter(fb -> fb.device().map(fbOwners::contains).orElse(false))
        .findFirst();
    if (ourFb.isPresent()) {
      Conflict fb = out.stream().filter(c -> c.kind() == ConflictKind.FRAMEBUFFER).findFirst()
          .orElse(null);
      for (VtConsole vt : s.vtConsoles()) {
        if (vt.isFbcon() && vt.bound()) {
          out.add(0, new Conflict(ConflictKind.VTCONSOLE, vt.id(), Optional.of("fbcon"),
              fb == null ? bar0(gpu) : fb.start(), fb == null ? bar0End(gpu) : fb.end(),
              Release.DETACH));
        }
      }
    }
    if (gpu.bootVga()) {
      // When vgacon is the only console driver the kernel ignores "echo 0 > bind" (seen on
      // Debian 6.1 and 6.12); there vfio-pci itself deactivates it on bind ("vgaarb: deactivate
      // vga console", Linux >= 6.0, VGA class). Only older kernels need the user-space unbind.
      Release vgacon = gpu.isVgaCompatible() && kernelMajor(s) >= 6
          ? Release.KERNEL_ON_BIND : Release.DETACH;
      for (VtConsole vt : s.vtConsoles()) {
        if (vt.isVgacon() && vt.bound()) {
          out.add(new Conflict(ConflictKind.VGACON, vt.id(), Optional.of("vgacon"), VGA_START,
              VGA_END, vgacon));
        }
      }
    }
    return out;
  }

  private static long bar0(PciDevice gpu) {
    return gpu.apertures().isEmpty() ? 0 : gpu.apertures().get(0).start();
  }

  private static long bar0End(PciDevice gpu) {
    return gpu.apertures().isEmpty() ? 0 : gpu.apertures().get(0).end();
  }

  private static Optional<Conflict> classify(Snapshot s, PciDevice gpu, IomemRange r) {
    String name = r.name();
    if (name.equals(FramebufferDrivers.FIRMWARE_REGION)) {
      // sysfb's own resource: only unregistering the platform device removes it.
      Release release = gpu.isVgaCompatible() && kernelMajor(s) >= 6
          ? Release.KERNEL_ON_BIND : Release.NONE;
      return Optional.of(new Conflict(ConflictKind.FRAMEBUFFER, name, Optional.empty(), r.start(),
          r.end(), release));
    }
    Optional<FramebufferDrivers.Kind> kind = FramebufferDrivers.byIomemName(name);
    if (kind.isPresent()) {
      Optional<PlatformFramebuffer> owner = s.platformFramebuffers().stream()
          .filter(p -> p.driver().map(kind.get().platformDriver()::equals).orElse(false))
          .findFirst();
      return Optional.of(owner
          .map(p -> new Conflict(ConflictKind.FRAMEBUFFER, p.name(), Optional.of(name), r.start(),
              r.end(), Release.DETACH))
          .orElse(new Conflict(ConflictKind.FRAMEBUFFER, name, Optional.of(name), r.start(),
              r.end(), Release.NONE)));
    }
    if (!isInsideBarOf(s, gpu, r) || name.startsWith("vfio")) {
      return Optional.empty(); // bus windows, the BAR entries themselves, vfio's own claims
    }
    boolean ownDriver = gpu.driver().map(name::equals).orElse(false);
    return Optional.of(new Conflict(ConflictKind.FRAMEBUFFER, name, Optional.of(name), r.start(),
        r.end(), ownDriver ? Release.WITH_GPU_DRIVER : Release.NONE));
  }

  /** True when the range is nested below one of the GPU's own BAR entries (named by address). */
  private static boolean isInsideBarOf(Snapshot s, PciDevice gpu, IomemRange r) {
    for (IomemRange bar : s.iomem().named(gpu.address().toString())) {
      if (contains(bar, r)) {
        return true;
      }
    }
    return false;
  }

  private static boolean contains(IomemRange parent, IomemRange r) {
    for (IomemRange c : parent.children()) {
      if (c == r || contains(c, r)) {
        return true;
      }
    }
    return false;
  }

  static int kernelMajor(Snapshot s) {
    return s.kernelRelease().map(r -> {
      try {
        return Integer.parseInt(r.split("\\.")[0]);
      } catch (NumberFormatException e) {
        return 0;
      }
    }).orElse(0);
  }

  /** Order: fbcon off the VTs, framebuffer drivers, vgacon, then unbind, override, probe. */
  private static List<Step> steps(PciDevice gpu, List<PciDevice> companions,
      List<Conflict> conflicts, ConsoleConflictPolicy policy) {
    List<Step> steps = new ArrayList<>();
    if (policy == ConsoleConflictPolicy.DETACH) {
      for (Conflict c : conflicts) {
        if (c.kind() == ConflictKind.VTCONSOLE && c.release() == Release.DETACH) {
          steps.add(new Step.UnbindVtConsole(c.name(), "fbcon",
              "fbcon draws " + c.name() + " on a framebuffer in " + gpu.address()
                  + "'s BARs; it must let go before the framebuffer driver"));
        }
      }
      for (Conflict c : conflicts) {
        if (c.kind() == ConflictKind.FRAMEBUFFER && c.release() == Release.DETACH) {
          String platformDriver = FramebufferDrivers.byIomemName(c.driver().orElseThrow())
              .orElseThrow().platformDriver();
          steps.add(new Step.UnbindPlatformDriver(c.name(), platformDriver,
              c.driver().get() + " holds " + c.hexStart() + "-" + c.hexEnd() + " inside "
                  + gpu.address() + "'s BAR"));
        }
      }
      for (Conflict c : conflicts) {
        if (c.kind() == ConflictKind.VGACON && c.release() == Release.DETACH) {
          steps.add(new Step.UnbindVtConsole(c.name(), "vgacon",
              gpu.address() + " is the boot VGA device and vgacon draws on its legacy range"));
        }
      }
    }
    List<PciDevice> targets = new ArrayList<>();
    targets.add(gpu);
    targets.addAll(companions);
    for (PciDevice t : targets) {
      if (t.driver().isPresent() && !t.isBoundTo(SysfsPaths.VFIO_PCI)) {
        steps.add(new Step.UnbindPciDriver(t.address(), t.driver().get(),
            role(gpu, t) + " is bound to " + t.driver().get()));
      }
    }
    for (PciDevice t : targets) {
      if (!t.isBoundTo(SysfsPaths.VFIO_PCI)
          && !t.driverOverride().map(SysfsPaths.VFIO_PCI::equals).orElse(false)) {
        steps.add(new Step.SetDriverOverride(t.address(), SysfsPaths.VFIO_PCI,
            "so that only vfio-pci binds " + role(gpu, t) + ", now and after a rescan"));
      }
    }
    for (PciDevice t : targets) {
      if (!t.isBoundTo(SysfsPaths.VFIO_PCI)) {
        steps.add(new Step.ProbeDriver(t.address(), "bind " + role(gpu, t) + " to vfio-pci"));
      }
    }
    return steps;
  }

  private static String role(PciDevice gpu, PciDevice t) {
    return t.address().equals(gpu.address()) ? "the GPU " + t.address()
        : "IOMMU group companion " + t.address();
  }

  private static DevicePlan refused(PciAddress a, Optional<PciDevice> d, List<Conflict> conflicts,
      List<PciDevice> companions, Reason reason, String message) {
    return new DevicePlan(a, d, Disposition.REFUSED, conflicts, companions, List.of(),
        Optional.of(new Refusal(reason, message)));
  }
}
