package io.gpupassthrough.node.vfio;

import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.Conflict.Release;
import io.gpupassthrough.node.aperture.ConflictKind;
import io.gpupassthrough.node.aperture.DevicePlan;
import io.gpupassthrough.node.aperture.Disposition;
import io.gpupassthrough.node.aperture.Plan;
import io.gpupassthrough.node.aperture.Step;
import io.gpupassthrough.node.holders.DeviceHolders;
import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.holders.HolderReport;
import io.gpupassthrough.node.host.FramebufferDrivers;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.HostWriteException;
import io.gpupassthrough.node.host.HungWrite;
import io.gpupassthrough.node.host.IomemTree;
import io.gpupassthrough.node.host.KernelFormats;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.host.SysfsPaths;
import io.gpupassthrough.node.host.WriteHungException;
import io.gpupassthrough.node.vfio.DeviceOutcome.Result;
import io.gpupassthrough.node.vfio.OriginalDrivers.PciOriginal;
import io.gpupassthrough.node.vfio.StepRecord.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Carries out a {@link Plan} through the {@link HostRoot}: records the original drivers first,
 * runs each step unless the host is already in its target state (so a second run does nothing),
 * verifies each step's effect by reading it back, verifies the end state (every group member on
 * vfio-pci, {@code /dev/vfio/<group>} present, the conflicting ranges gone from /proc/iomem), and
 * on any failure rolls the device back to the recorded drivers.
 *
 * <p>Before the first write it refuses a device that someone holds ({@link HolderCheck}: a pod
 * the kubelet allocated it to, a process with its DRM, sound, NVIDIA or VFIO files open):
 * unbinding a driver from under its users can block the write in the kernel or take the device
 * from them. A holder that appears between that check and the write is not seen; the write
 * deadline ({@link io.gpupassthrough.node.host.WriteDeadline}) is what then keeps the agent going.
 */
public final class Executor {
  /** devtmpfs creates /dev/vfio/<group> as the group registers; allow it a moment. */
  private static final Duration GROUP_NODE_WAIT = Duration.ofSeconds(2);

  private final HostRoot host;
  private final SysfsPaths paths;
  private final OriginalDriverStore store;
  private final Verifier verifier;
  private final Restorer restorer;
  private final HolderCheck holders;
  private final Consumer<String> events;

  /** Holders are checked through the host root's /proc and its kubelet socket, when it has one. */
  public Executor(HostRoot host, OriginalDriverStore store, Consumer<String> events) {
    this(host, store, HolderCheck.forHost(host), events);
  }

  public Executor(HostRoot host, OriginalDriverStore store, HolderCheck holders, Consumer<String> events) {
    this.host = host;
    this.paths = host.paths();
    this.store = store;
    this.verifier = new Verifier(host);
    this.holders = holders;
    this.restorer = new Restorer(host, holders, events);
    this.events = events;
  }

  public List<DeviceOutcome> execute(Plan plan) {
    List<DeviceOutcome> out = new ArrayList<>();
    for (DevicePlan p : plan.devices()) {
      out.add(execute(p));
    }
    return out;
  }

  public DeviceOutcome execute(DevicePlan p) {
    return switch (p.disposition()) {
      case REFUSED -> new DeviceOutcome(p.address(), Result.REFUSED,
          p.refusal().map(r -> r.reason()), p.refusal().map(r -> r.message()).orElse(""), p,
          notRun(p.steps()));
      case ALREADY_PREPARED -> alreadyPrepared(p);
      case READY -> run(p);
    };
  }

  /** The outcome a dry run reports: the planned steps, nothing written. */
  public static DeviceOutcome planned(DevicePlan p) {
    if (p.disposition() == Disposition.READY) {
      return new DeviceOutcome(p.address(), Result.PLANNED, Optional.empty(),
          p.steps().size() + " step(s) planned", p,
          p.steps().stream().map(s -> new StepRecord(s, Status.PLANNED, s.why())).toList());
    }
    if (p.disposition() == Disposition.ALREADY_PREPARED) {
      return new DeviceOutcome(p.address(), Result.ALREADY_PREPARED, Optional.empty(),
          "already on vfio-pci; nothing to do", p, List.of());
    }
    return new DeviceOutcome(p.address(), Result.REFUSED, p.refusal().map(r -> r.reason()),
        p.refusal().map(r -> r.message()).orElse(""), p, List.of());
  }

  private DeviceOutcome alreadyPrepared(DevicePlan p) {
    Health h = verifier.check(p.address());
    if (h.healthy()) {
      return new DeviceOutcome(p.address(), Result.ALREADY_PREPARED, Optional.empty(),
          "already on vfio-pci and verified; nothing to do", p, List.of());
    }
    return new DeviceOutcome(p.address(), Result.FAILED, h.reason(), h.message(), p, List.of());
  }

  private DeviceOutcome run(DevicePlan p) {
    Optional<DeviceOutcome> busy = refuseIfBusy(p);
    if (busy.isPresent()) {
      return busy.get();
    }
    OriginalDrivers originals = originalsOf(p);
    store.record(originals);
    List<StepRecord> records = new ArrayList<>();
    int index = 0;
    try {
      for (; index < p.steps().size(); index++) {
        Step step = p.steps().get(index);
        if (isDone(step)) {
          records.add(new StepRecord(step, Status.ALREADY_DONE, "already in place"));
          continue;
        }
        apply(step);
        verifyStep(step);
        records.add(new StepRecord(step, Status.DONE, step.why()));
        events.accept(p.address() + ": " + step.describe());
      }
      verifyEndState(p);
    } catch (WriteHungException e) {
      // Nothing more can be written for that device until the kernel returns; a rollback would
      // only queue writes behind the blocked one. The originals stay recorded for 'restore'.
      if (index < p.steps().size()) {
        records.add(new StepRecord(p.steps().get(index), Status.FAILED, e.getMessage()));
        records.addAll(notRun(p.steps().subList(index + 1, p.steps().size())));
      }
      events.accept(p.address() + ": " + e.getMessage());
      return new DeviceOutcome(p.address(), Result.FAILED, Optional.of(Reason.WRITE_HUNG),
          e.getMessage() + "; not rolled back (no write can reach the device meanwhile): the host"
              + " stays as it is until the write returns, then the next pass or 'restore' goes on"
              + " from there", p, records);
    } catch (StepFailure | HostWriteException | HostReadException e) {
      Reason reason = e instanceof StepFailure f ? f.reason()
          : host.exists(paths.pciDevice(p.address())) ? Reason.BIND_FAILED : Reason.DEVICE_GONE;
      if (index < p.steps().size()) {
        records.add(new StepRecord(p.steps().get(index), Status.FAILED, e.getMessage()));
        records.addAll(notRun(p.steps().subList(index + 1, p.steps().size())));
      }
      return rolledBack(p, originals, records, reason, e.getMessage());
    }
    events.accept(p.address() + ": verified on vfio-pci");
    return new DeviceOutcome(p.address(), Result.PREPARED, Optional.empty(),
        "bound to vfio-pci and verified", p, records);
  }

  private DeviceOutcome rolledBack(DevicePlan p, OriginalDrivers originals, List<StepRecord> records,
      Reason reason, String problem) {
    events.accept(p.address() + ": " + problem + "; rolling back");
    List<RestoreItem> items = restorer.restore(originals);
    List<RestoreItem> failed = items.stream().filter(i -> !i.restored()).toList();
    OriginalDrivers restored = new OriginalDrivers(
        filter(originals.devices(), items), filter(originals.framebuffers(), items),
        filter(originals.vtConsoles(), items));
    store.forget(restored);
    String rollback = failed.isEmpty()
        ? "rolled back to the original drivers"
        : "rollback incomplete: " + String.join("; ", failed.stream().map(RestoreItem::message).toList())
            + " (still recorded for 'restore')";
    return new DeviceOutcome(p.address(), Result.FAILED, Optional.of(reason),
        problem + "; " + rollback, p, records);
  }

  /**
   * Refuses, before anything is written, a device that has a write blocked in the kernel or that
   * someone holds, or whose holders cannot be known.
   */
  private Optional<DeviceOutcome> refuseIfBusy(DevicePlan p) {
    List<PciAddress> functions = p.targets().stream().map(PciDevice::address).toList();
    for (PciAddress f : functions) {
      Optional<HungWrite> hung = host.hungWrite(f.toString());
      if (hung.isPresent()) {
        return Optional.of(new DeviceOutcome(p.address(), Result.FAILED, Optional.of(Reason.WRITE_HUNG),
            "not touched: " + hung.get().describe(java.time.Instant.now())
                + "; nothing is written for it until that write returns", p, notRun(p.steps())));
      }
    }
    HolderReport report = holders.check(functions);
    DeviceHolders held = report.of(p.address(), functions);
    if (held.held()) {
      String message = p.address() + " is in use: " + held.describe() + "; not taking it from its"
          + " holders (its drivers are not unbound while it is held: stop them and prepare again;"
          + " the in-cluster agent retries by itself)";
      events.accept(message);
      return Optional.of(new DeviceOutcome(p.address(), Result.REFUSED, Optional.of(Reason.DEVICE_IN_USE),
          message, p, notRun(p.steps())));
    }
    if (report.blindness().isPresent()) {
      return Optional.of(new DeviceOutcome(p.address(), Result.REFUSED, Optional.of(Reason.HOST_READ_ERROR),
          "cannot tell whether " + p.address() + " is in use, so nothing was written: "
              + report.blindness().get(), p, notRun(p.steps())));
    }
    return Optional.empty();
  }

  private static <V> Map<String, V> filter(Map<String, V> map, List<RestoreItem> items) {
    Map<String, V> out = new HashMap<>();
    for (RestoreItem i : items) {
      if (i.restored() && map.containsKey(i.name())) {
        out.put(i.name(), map.get(i.name()));
      }
    }
    return out;
  }

  private static List<StepRecord> notRun(List<Step> steps) {
    return steps.stream().map(s -> new StepRecord(s, Status.NOT_RUN, "")).toList();
  }

  private static OriginalDrivers originalsOf(DevicePlan p) {
    Map<String, PciOriginal> devices = new HashMap<>();
    for (PciDevice t : p.targets()) {
      devices.put(t.address().toString(), new PciOriginal(t.driver().orElse(null),
          t.driverOverride().orElse(null), p.address().toString()));
    }
    Map<String, String> fbs = new HashMap<>();
    Map<String, Boolean> vts = new HashMap<>();
    for (Step s : p.steps()) {
      if (s instanceof Step.UnbindPlatformDriver u) {
        fbs.put(u.device(), u.driver());
      } else if (s instanceof Step.UnbindVtConsole v) {
        vts.put(v.vtcon(), true);
      }
    }
    // What the kernel itself takes away when vfio-pci binds (vgacon on Linux >= 6.0, seen on
    // Debian 6.1/6.12): recorded too, so restore names it instead of silently reporting success.
    for (Conflict c : p.conflicts()) {
      if (c.release() != Conflict.Release.KERNEL_ON_BIND) {
        continue;
      }
      if (c.kind() == ConflictKind.FRAMEBUFFER) {
        c.driver().ifPresent(d -> fbs.putIfAbsent(c.name(), d));
      } else {
        vts.putIfAbsent(c.name(), true);
      }
    }
    return new OriginalDrivers(devices, fbs, vts);
  }

  // ---- steps ----

  private boolean isDone(Step step) {
    if (step instanceof Step.UnbindVtConsole s) {
      return !host.exists(paths.vtConsole(s.vtcon()))
          || !KernelFormats.parseFlag(paths.vtConsoleBind(s.vtcon()), host.read(paths.vtConsoleBind(s.vtcon())));
    } else if (step instanceof Step.UnbindPlatformDriver s) {
      return !host.linkTarget(paths.platformDriverLink(s.device())).map(s.driver()::equals).orElse(false);
    } else if (step instanceof Step.UnbindPciDriver s) {
      return !driverOf(s.address()).map(s.driver()::equals).orElse(false);
    } else if (step instanceof Step.SetDriverOverride s) {
      return overrideOf(s.address()).map(s.driver()::equals).orElse(false);
    } else {
      return driverOf(((Step.ProbeDriver) step).address()).map(SysfsPaths.VFIO_PCI::equals).orElse(false);
    }
  }

  private void apply(Step step) {
    if (step instanceof Step.UnbindVtConsole s) {
      host.write(paths.vtConsoleBind(s.vtcon()), "0");
    } else if (step instanceof Step.UnbindPlatformDriver s) {
      host.write(paths.platformDriverUnbind(s.driver()), s.device());
    } else if (step instanceof Step.UnbindPciDriver s) {
      host.write(paths.pciDriverUnbind(s.driver()), s.address().toString());
    } else if (step instanceof Step.SetDriverOverride s) {
      host.write(paths.driverOverride(s.address()), s.driver());
    } else {
      Step.ProbeDriver s = (Step.ProbeDriver) step;
      if (!host.exists(paths.pciDriver(SysfsPaths.VFIO_PCI))) {
        throw new StepFailure(Reason.VFIO_PCI_NOT_LOADED, "the vfio-pci driver is not loaded"
            + " (/sys/bus/pci/drivers/vfio-pci is missing): run 'modprobe vfio-pci'");
      }
      host.write(paths.pciDriversProbe(), s.address().toString());
    }
  }

  private void verifyStep(Step step) {
    if (isDone(step)) {
      return;
    }
    String what;
    if (step instanceof Step.UnbindVtConsole s) {
      what = s.vtcon() + " still reads bind=1 (the kernel keeps the last console driver bound when"
          + " no other console driver can take over)";
    } else if (step instanceof Step.UnbindPlatformDriver s) {
      what = s.device() + " is still bound to " + s.driver();
    } else if (step instanceof Step.UnbindPciDriver s) {
      what = s.address() + " is still bound to " + s.driver();
    } else if (step instanceof Step.SetDriverOverride s) {
      what = s.address() + " driver_override reads " + overrideOf(s.address()).orElse("(null)")
          + ", expected " + s.driver();
    } else {
      // drivers_probe reports success even when no driver bound: only the link tells.
      PciAddress a = ((Step.ProbeDriver) step).address();
      what = "drivers_probe accepted " + a + " but it is bound to " + driverOf(a).orElse("no driver")
          + ", not vfio-pci (dmesg shows the probe error)";
    }
    throw new StepFailure(Reason.BIND_FAILED, what);
  }

  private void verifyEndState(DevicePlan p) {
    Health h = verifier.check(p.address());
    long deadline = System.nanoTime() + GROUP_NODE_WAIT.toNanos();
    while (!h.healthy() && h.message().contains("/dev/vfio/") && System.nanoTime() < deadline) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      h = verifier.check(p.address());
    }
    if (!h.healthy()) {
      throw new StepFailure(h.reason().orElse(Reason.BIND_FAILED), h.message());
    }
    if (p.steps().stream().noneMatch(s -> s instanceof Step.UnbindPlatformDriver)
        && p.conflicts().stream().noneMatch(c -> c.release() == Release.KERNEL_ON_BIND)) {
      return;
    }
    IomemTree iomem = KernelFormats.parseIomem(paths.procIomem(), host.readLines(paths.procIomem()));
    for (Conflict c : p.conflicts()) {
      if (c.kind() != ConflictKind.FRAMEBUFFER
          || (c.release() != Release.DETACH && c.release() != Release.KERNEL_ON_BIND)) {
        continue;
      }
      String region = c.driver().orElse(c.name());
      boolean stillThere = iomem.named(region).stream().anyMatch(r -> r.overlaps(c.start(), c.end()));
      if (stillThere) {
        throw new StepFailure(region.equals(FramebufferDrivers.FIRMWARE_REGION)
                ? Reason.FIRMWARE_FRAMEBUFFER_HELD : Reason.CONSOLE_CONFLICT,
            region + " " + c.hexStart() + "-" + c.hexEnd() + " is still in /proc/iomem after"
                + " the bind; vfio-pci could not reserve the BAR");
      }
    }
  }

  private Optional<String> driverOf(PciAddress a) {
    return host.linkTarget(paths.pciDriverLink(a));
  }

  private Optional<String> overrideOf(PciAddress a) {
    return host.readIfPresent(paths.driverOverride(a)).flatMap(KernelFormats::parseDriverOverride);
  }
}
