package io.gpupassthrough.node.host.sim;

import io.gpupassthrough.node.host.Bar;
import io.gpupassthrough.node.host.FileSystemHostRoot;
import io.gpupassthrough.node.host.FramebufferDrivers;
import io.gpupassthrough.node.host.HostWriteException;
import io.gpupassthrough.node.host.KernelFormats;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.SysfsPaths;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A {@link io.gpupassthrough.node.host.HostRoot} whose sysfs writes behave like the kernel's,
 * bad parts included (DESIGN §4, §9), on a tree written by {@link SimulatedHostBuilder}:
 *
 * <ul>
 *   <li>{@code drivers_probe} returns success even when nothing bound (vfio-pci without an IOMMU
 *       group fails with -22, only the log says so);
 *   <li>on kernels ≥ 6.0, vfio-pci probing a class 0x0300 device first evicts the framebuffers on
 *       its BARs and, for the boot VGA device, vgacon ("vgaarb: deactivate vga console") — before the
 *       IOMMU check, so the console is gone even when the probe then fails;
 *   <li>unbinding a firmware framebuffer driver removes its iomem range but leaves sysfb's BOOTFB
 *       range behind, and takes vtcon1 (fbcon) away with the last fbN;
 *   <li>{@code bind} honours {@code driver_override}; writes to a driver that is not bound fail
 *       with ENODEV, to a bound device with EBUSY;
 *   <li>unbinding vfio-pci from a device that a process (in the tree's {@code proc/<pid>/fd}) has
 *       open through VFIO blocks the write until the process lets go: the {@code driver} link goes
 *       at once, then the driver's remove waits ("Relaying device request to user (#N)"), holding
 *       the device lock; reading the device's {@code driver_override} blocks too, as on 6.1 (6.12
 *       returns it; seen on Debian's kernels, e2e guest {@code vfio-holder}). The write cannot be
 *       interrupted once signalled (SIGTERM leaves the task in D state).
 * </ul>
 *
 * The whole state lives in the tree (plus {@code .simkernel/}), so a CLI run in another process
 * with {@code --simulated-kernel} sees the same host.
 */
public class SimulatedKernel extends FileSystemHostRoot {
  static final String MATCHES = ".simkernel/matches";
  static final String PARKED = ".simkernel/parked";
  static final String DMESG = ".simkernel/dmesg";
  static final String FBCON_NAME = "(M) frame buffer device";

  private final Path root;
  private final SysfsPaths paths;
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final Set<PciAddress> failingProbes = Collections.synchronizedSet(new HashSet<>());
  /** Devices whose unbind is blocked in the driver's remove; their device lock is held. */
  private final Set<PciAddress> locked = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile BiConsumer<String, String> beforeWrite = (p, v) -> {};

  public SimulatedKernel(Path root) {
    this(root, null);
  }

  public SimulatedKernel(Path root, Consumer<String> trace) {
    super(root, trace);
    this.paths = paths();
    this.root = paths.root();
  }

  /** True when {@code root} was written by the builder (it has the simulated kernel's state). */
  public static boolean isSimulated(Path root) {
    return Files.isRegularFile(root.resolve(MATCHES));
  }

  /** Kernel log lines this kernel printed, oldest first. */
  public List<String> dmesg() {
    return List.copyOf(log);
  }

  /** Test hook: runs before every write with the host path ({@code /sys/...}) and value. */
  public void beforeWrite(BiConsumer<String, String> hook) {
    this.beforeWrite = hook == null ? (p, v) -> {} : hook;
  }

  /** Test hook: the next vfio-pci probes of this device fail (-EIO) with nothing bound. */
  public void failProbe(PciAddress address) {
    failingProbes.add(address);
  }

  // ---- direct state changes for tests and the demo (no kernel semantics) ----

  /** Points the device's {@code driver} link at {@code driver}, or removes it for null. */
  public void setDriverLink(PciAddress address, String driver) {
    Path dir = deviceDir(address);
    currentDriver(address).ifPresent(d -> SimFiles.delete(paths.pciDriver(d).resolve(address.toString())));
    SimFiles.delete(dir.resolve("driver"));
    if (driver != null) {
      ensureDriver(driver);
      SimFiles.link(dir.resolve("driver"), paths.pciDriver(driver));
      SimFiles.link(paths.pciDriver(driver).resolve(address.toString()), dir);
    }
  }

  /**
   * A process starts with these files open (paths as it sees them, e.g. {@code /dev/vfio/1} and
   * {@code anon_inode:[vfio-device]} for a VM's QEMU); {@code spec} sets its command and cgroup.
   */
  public void startProcess(long pid, java.util.function.Consumer<SimulatedHostBuilder.Process> spec) {
    SimulatedHostBuilder.Process p = new SimulatedHostBuilder.Process(pid);
    spec.accept(p);
    SimulatedHostWriter.writeProcesses(paths, List.of(p));
  }

  /** The process exits: its files are closed, /proc/<pid> goes. */
  public void endProcess(long pid) {
    SimFiles.deleteTree(paths.processFds(pid));
    SimFiles.deleteTree(paths.proc().resolve(Long.toString(pid)));
  }

  /** Removes {@code /dev/vfio/<group>} (what a crashed udev or a container without /dev shows). */
  public void removeVfioGroupNode(int group) {
    SimFiles.delete(paths.vfioGroupNode(group));
  }

  /** Hot-unplug: the device vanishes from sysfs (its IOMMU group entry and links go too). */
  public void removeDevice(PciAddress address) {
    Path dir = deviceDir(address);
    currentDriver(address).ifPresent(d -> SimFiles.delete(paths.pciDriver(d).resolve(address.toString())));
    group(address).ifPresent(g -> SimFiles.delete(paths.iommuGroupDevices(g).resolve(address.toString())));
    SimFiles.delete(paths.pciDevice(address));
    SimFiles.deleteTree(dir);
    log("pci " + address + ": removed");
  }

  // ---- sysfs writes ----

  @Override
  public void write(Path attribute, String value) {
    trace("write", attribute, value);
    String rel = root.relativize(attribute.toAbsolutePath().normalize()).toString();
    beforeWrite.accept("/" + rel, value);
    if (rel.equals("sys/bus/pci/drivers/" + SysfsPaths.VFIO_PCI + "/unbind")) {
      Optional<PciAddress> held = vfioDeviceInUse(value.strip());
      if (held.isPresent()) {
        unbindHeldVfio(held.get());
        return;
      }
    }
    synchronized (this) {
      apply(attribute, rel, value);
    }
  }

  /**
   * Reads block like the kernel's do while a device's unbind is stuck in the driver's remove:
   * {@code driver_override}'s show method takes the device lock that the unbind holds.
   */
  @Override
  public Optional<String> readIfPresent(Path file) {
    if (!locked.isEmpty() && file.getFileName() != null && file.getFileName().toString().equals("driver_override")) {
      for (PciAddress a : locked) {
        if (file.toAbsolutePath().normalize().equals(paths.driverOverride(a))) {
          waitUninterruptibly(() -> locked.contains(a), () -> {});
        }
      }
    }
    return super.readIfPresent(file);
  }

  private void apply(Path attribute, String rel, String value) {
    String[] p = rel.split("/");
    String v = value.strip();
    if (rel.equals("sys/bus/pci/drivers_probe")) {
      probe(attribute, v);
    } else if (p.length == 6 && rel.startsWith("sys/bus/pci/drivers/") && p[5].equals("unbind")) {
      unbindPci(attribute, p[4], address(attribute, v));
    } else if (p.length == 6 && rel.startsWith("sys/bus/pci/drivers/") && p[5].equals("bind")) {
      bindPciByWrite(attribute, p[4], address(attribute, v));
    } else if (p.length == 6 && rel.startsWith("sys/bus/pci/devices/") && p[5].equals("driver_override")) {
      driverOverride(attribute, PciAddress.parse(p[4]), v);
    } else if (p.length == 6 && rel.startsWith("sys/bus/platform/drivers/") && p[5].equals("unbind")) {
      unbindPlatform(attribute, p[4], v);
    } else if (p.length == 6 && rel.startsWith("sys/bus/platform/drivers/") && p[5].equals("bind")) {
      bindPlatform(attribute, p[4], v);
    } else if (p.length == 5 && rel.startsWith("sys/class/vtconsole/") && p[4].equals("bind")) {
      vtconsoleBind(attribute, p[3], v);
    } else {
      throw new HostWriteException(attribute, value, "Permission denied (not a writable attribute)");
    }
  }

  private PciAddress address(Path attribute, String v) {
    try {
      return PciAddress.parse(v);
    } catch (IllegalArgumentException e) {
      throw new HostWriteException(attribute, v, "No such device");
    }
  }

  private void requireFile(Path attribute, String value) {
    if (!Files.exists(attribute)) {
      throw new HostWriteException(attribute, value, "No such file or directory");
    }
  }

  private void probe(Path attribute, String v) {
    PciAddress a = address(attribute, v);
    if (!Files.exists(paths.pciDevice(a))) {
      throw new HostWriteException(attribute, v, "No such device");
    }
    if (currentDriver(a).isPresent()) {
      return;
    }
    Optional<String> override = override(a);
    Optional<String> driver = override.isPresent() ? override : defaultDriver(a);
    if (driver.isEmpty() || !Files.isDirectory(paths.pciDriver(driver.get()))) {
      return; // nothing matches: the write still succeeds
    }
    tryBind(a, driver.get());
  }

  /** Binds like driver core would; returns false (and logs) when the driver's probe fails. */
  private boolean tryBind(PciAddress a, String driver) {
    if (driver.equals(SysfsPaths.VFIO_PCI)) {
      if (majorVersion() >= 6 && isVga(a)) {
        evictConsoles(a);
      }
      if (group(a).isEmpty()) {
        log("vfio-pci " + a + ": probe with driver vfio-pci failed with error -22");
        return false;
      }
      if (failingProbes.contains(a)) {
        log("vfio-pci " + a + ": probe with driver vfio-pci failed with error -5");
        return false;
      }
    }
    linkDriver(a, driver);
    if (driver.equals(SysfsPaths.VFIO_PCI)) {
      SimFiles.write(paths.vfioGroupNode(group(a).getAsInt()), "");
    }
    log(driver + " " + a + ": bound");
    return true;
  }

  private void bindPciByWrite(Path attribute, String driver, PciAddress a) {
    requireFile(attribute, a.toString());
    if (!Files.exists(paths.pciDevice(a))) {
      throw new HostWriteException(attribute, a.toString(), "No such device");
    }
    if (currentDriver(a).isPresent()) {
      throw new HostWriteException(attribute, a.toString(), "Device or resource busy");
    }
    Optional<String> override = override(a);
    if (override.isPresent() && !override.get().equals(driver)) {
      throw new HostWriteException(attribute, a.toString(), "No such device (driver_override is "
          + override.get() + ")");
    }
    if (!tryBind(a, driver)) {
      throw new HostWriteException(attribute, a.toString(), "Invalid argument");
    }
  }

  private void unbindPci(Path attribute, String driver, PciAddress a) {
    requireFile(attribute, a.toString());
    if (!currentDriver(a).map(driver::equals).orElse(false)) {
      throw new HostWriteException(attribute, a.toString(), "No such device");
    }
    Path dir = deviceDir(a);
    SimFiles.delete(dir.resolve("driver"));
    SimFiles.delete(paths.pciDriver(driver).resolve(a.toString()));
    afterRemove(driver, a);
  }

  /**
   * vfio_unregister_group_dev(): the driver link is already gone (driver_sysfs_remove() runs
   * before the driver's remove), then the write waits, unkillable, until no process has the
   * device open through VFIO; every round the kernel asks the user to release it.
   */
  private void unbindHeldVfio(PciAddress a) {
    synchronized (this) {
      Path dir = deviceDir(a);
      SimFiles.delete(dir.resolve("driver"));
      SimFiles.delete(paths.pciDriver(SysfsPaths.VFIO_PCI).resolve(a.toString()));
      locked.add(a);
    }
    int[] round = {0};
    log("vfio-pci " + a + ": Relaying device request to user (#0)");
    try {
      waitUninterruptibly(() -> vfioDeviceInUse(a.toString()).isPresent(), () -> {
        if (++round[0] % 50 == 0) {
          log("vfio-pci " + a + ": Relaying device request to user (#" + round[0] / 50 + ")");
        }
      });
    } finally {
      synchronized (this) {
        afterRemove(SysfsPaths.VFIO_PCI, a);
        locked.remove(a);
      }
    }
  }

  /**
   * The device, when a process has it open through VFIO: its iommufd cdev, or its group node
   * together with a VFIO device fd ({@code anon_inode:[vfio-device]}). A group fd alone does not
   * hold a device in the kernel (only VFIO_GROUP_GET_DEVICE_FD takes its registration).
   */
  private Optional<PciAddress> vfioDeviceInUse(String address) {
    PciAddress a;
    try {
      a = PciAddress.parse(address);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    if (!currentDriver(a).map(SysfsPaths.VFIO_PCI::equals).orElse(locked.contains(a)) || group(a).isEmpty()) {
      return Optional.empty();
    }
    String groupNode = "/dev/vfio/" + group(a).getAsInt();
    Set<String> cdevs = new HashSet<>();
    list(paths.pciAttribute(a, "vfio-dev")).forEach(c -> cdevs.add("/dev/vfio/devices/" + c));
    for (String pid : list(paths.proc())) {
      boolean group = false;
      boolean device = false;
      for (String fd : list(paths.proc().resolve(pid).resolve("fd"))) {
        String text = linkText(paths.proc().resolve(pid).resolve("fd").resolve(fd)).orElse("")
            .replace(" (deleted)", "");
        group |= text.equals(groupNode);
        device |= text.equals("anon_inode:[vfio-device]");
        if (cdevs.contains(text)) {
          return Optional.of(a);
        }
      }
      if (group && device) {
        return Optional.of(a);
      }
    }
    return Optional.empty();
  }

  private static void waitUninterruptibly(java.util.function.BooleanSupplier stillBlocked, Runnable eachRound) {
    boolean interrupted = false;
    while (stillBlocked.getAsBoolean()) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        interrupted = true; // like TASK_UNINTERRUPTIBLE: keep waiting
      }
      eachRound.run();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** What a driver's remove leaves behind: its DRM cards go, the group node when no member is on vfio. */
  private void afterRemove(String driver, PciAddress a) {
    // A DRM driver's card and render node go with it, a sound driver's card and its nodes too.
    for (String card : list(paths.drmCards())) {
      if (linkTarget(paths.drmCards().resolve(card).resolve("device"))
          .map(a.toString()::equals).orElse(false)) {
        SimFiles.delete(paths.drmCards().resolve(card));
      }
    }
    Path sound = root.resolve("sys/class/sound");
    for (String node : list(sound)) {
      if (resolvedLink(sound.resolve(node)).map(r -> r.contains("/" + a + "/sound/")).orElse(false)) {
        SimFiles.delete(sound.resolve(node));
      }
    }
    SimFiles.deleteTree(deviceDir(a).resolve("drm"));
    SimFiles.deleteTree(deviceDir(a).resolve("sound"));
    if (driver.equals(SysfsPaths.VFIO_PCI) && group(a).isPresent()) {
      int g = group(a).getAsInt();
      boolean stillVfio = list(paths.iommuGroupDevices(g)).stream()
          .map(PciAddress::parse)
          .anyMatch(m -> currentDriver(m).map(SysfsPaths.VFIO_PCI::equals).orElse(false));
      if (!stillVfio) {
        SimFiles.delete(paths.vfioGroupNode(g));
      }
    }
    log(driver + " " + a + ": unbound");
  }

  private void driverOverride(Path attribute, PciAddress a, String v) {
    requireFile(attribute, v);
    SimFiles.write(attribute, (v.isEmpty() ? "(null)" : v) + "\n");
  }

  private void unbindPlatform(Path attribute, String driver, String device) {
    requireFile(attribute, device);
    if (!linkTarget(paths.platformDriverLink(device)).map(driver::equals).orElse(false)) {
      throw new HostWriteException(attribute, device, "No such device");
    }
    Path dir = realDir(paths.platformDevice(device));
    SimFiles.delete(dir.resolve("driver"));
    SimFiles.delete(paths.platformDriver(driver).resolve(device));
    // The driver's request_mem_region goes away; sysfb's BOOTFB (the device's own resource) stays.
    List<String> iomem = new ArrayList<>(readLines(paths.procIomem()));
    List<String> parked = new ArrayList<>();
    Set<String> names = new HashSet<>();
    FramebufferDrivers.KINDS.stream()
        .filter(k -> k.platformDriver().equals(driver))
        .forEach(k -> names.add(k.iomemName()));
    for (int i = 0; i < iomem.size(); i++) {
      String line = iomem.get(i);
      if (names.contains(line.substring(line.indexOf(" : ") + 3))) {
        parked.add("iomem\t" + device + "\t" + (i == 0 ? "" : iomem.get(i - 1)) + "\t" + line);
        iomem.remove(i--);
      }
    }
    SimFiles.write(paths.procIomem(), String.join("\n", iomem) + "\n");
    for (String fb : list(paths.graphics())) {
      Path fbLink = paths.graphics().resolve(fb);
      if (fb.startsWith("fb") && !fb.equals("fbcon")
          && linkTarget(fbLink.resolve("device")).map(device::equals).orElse(false)) {
        parked.add("fb\t" + device + "\t" + fb + "\t" + readLines(fbLink.resolve("name")).get(0));
        SimFiles.deleteTree(dir.resolve("graphics").resolve(fb));
        SimFiles.delete(fbLink);
      }
    }
    for (String card : list(paths.drmCards())) {
      Path cardLink = paths.drmCards().resolve(card);
      if (linkTarget(cardLink.resolve("device")).map(device::equals).orElse(false)) {
        parked.add("drm\t" + device + "\t" + card + "\t");
        SimFiles.deleteTree(dir.resolve("drm").resolve(card));
        SimFiles.delete(cardLink);
      }
    }
    appendParked(parked);
    log(driver + " " + device + ": unbound");
    boolean anyFb = list(paths.graphics()).stream().anyMatch(f -> f.startsWith("fb") && !f.equals("fbcon"));
    if (!anyFb) {
      for (String vt : list(paths.vtConsoles())) {
        if (readIfPresent(paths.vtConsole(vt).resolve("name")).map(FBCON_NAME::equals).orElse(false)) {
          SimFiles.deleteTree(root.resolve("sys/devices/virtual/vtconsole").resolve(vt));
          SimFiles.delete(paths.vtConsole(vt));
          log("fbcon: " + vt + " unregistered (no framebuffer left)");
        }
      }
    }
  }

  private void bindPlatform(Path attribute, String driver, String device) {
    requireFile(attribute, device);
    if (!Files.exists(paths.platformDevice(device))) {
      throw new HostWriteException(attribute, device, "No such device");
    }
    if (linkTarget(paths.platformDriverLink(device)).isPresent()) {
      throw new HostWriteException(attribute, device, "Device or resource busy");
    }
    if (!device.startsWith(driver + ".")) {
      throw new HostWriteException(attribute, device, "No such device (driver does not match)");
    }
    Path dir = realDir(paths.platformDevice(device));
    SimFiles.link(dir.resolve("driver"), paths.platformDriver(driver));
    SimFiles.link(paths.platformDriver(driver).resolve(device), dir);
    List<String> remaining = new ArrayList<>();
    List<String> iomem = new ArrayList<>(readLines(paths.procIomem()));
    for (String entry : readParked()) {
      String[] f = entry.split("\t", -1);
      if (!f[1].equals(device)) {
        remaining.add(entry);
        continue;
      }
      switch (f[0]) {
        case "iomem" -> {
          int at = iomem.indexOf(f[2]);
          iomem.add(at < 0 ? iomem.size() : at + 1, f[3]);
        }
        case "fb" -> {
          Path fbDir = dir.resolve("graphics").resolve(f[2]);
          SimFiles.write(fbDir.resolve("name"), f[3] + "\n");
          SimFiles.link(fbDir.resolve("device"), dir);
          SimFiles.link(paths.graphics().resolve(f[2]), fbDir);
        }
        case "drm" -> {
          Path card = dir.resolve("drm").resolve(f[2]);
          SimFiles.link(card.resolve("device"), dir);
          SimFiles.link(paths.drmCards().resolve(f[2]), card);
        }
        default -> remaining.add(entry);
      }
    }
    SimFiles.write(paths.procIomem(), String.join("\n", iomem) + "\n");
    SimFiles.write(root.resolve(PARKED), remaining.isEmpty() ? "" : String.join("\n", remaining) + "\n");
    log(driver + " " + device + ": bound");
    boolean anyFb = list(paths.graphics()).stream().anyMatch(f -> f.startsWith("fb") && !f.equals("fbcon"));
    boolean fbcon = list(paths.vtConsoles()).stream().anyMatch(vt ->
        readIfPresent(paths.vtConsole(vt).resolve("name")).map(FBCON_NAME::equals).orElse(false));
    if (anyFb && !fbcon) {
      int n = 1;
      while (Files.exists(paths.vtConsole("vtcon" + n))) {
        n++;
      }
      createVtConsole(root, "vtcon" + n, FBCON_NAME, true);
      log("fbcon: taking over console as vtcon" + n);
    }
  }

  private void vtconsoleBind(Path attribute, String id, String v) {
    requireFile(attribute, v);
    if (!v.equals("0") && !v.equals("1")) {
      throw new HostWriteException(attribute, v, "Invalid argument");
    }
    if (v.equals("0") && list(paths.vtConsoles()).size() == 1) {
      // The last registered console driver cannot be unbound: the write is accepted, nothing
      // changes (vgacon alone on a BIOS boot, seen on Debian 6.1 and 6.12).
      log("vt: " + id + " is the only console driver; not unbound");
      return;
    }
    SimFiles.write(attribute, v + "\n");
    log("vtconsole " + id + ": bind=" + v);
  }

  /** vfio_pci_core_register_device → aperture_remove_conflicting_pci_devices (Linux ≥ 6.0). */
  private void evictConsoles(PciAddress a) {
    List<Bar> bars = KernelFormats.parseResource(
        paths.pciAttribute(a, "resource"), readLines(paths.pciAttribute(a, "resource")));
    for (String dev : list(paths.platformDevices())) {
      if (!FramebufferDrivers.isFramebufferDevice(dev)) {
        continue;
      }
      Optional<String> drv = linkTarget(paths.platformDriverLink(dev));
      if (drv.isEmpty()) {
        continue;
      }
      boolean overlaps = false;
      for (String line : readLines(paths.procIomem())) {
        String name = line.substring(line.indexOf(" : ") + 3);
        if (FramebufferDrivers.byIomemName(name).map(k -> k.platformDriver().equals(drv.get()))
            .orElse(false)) {
          String[] se = line.strip().substring(0, line.strip().indexOf(' ')).split("-");
          long s = Long.parseUnsignedLong(se[0], 16);
          long e = Long.parseUnsignedLong(se[1], 16);
          overlaps |= bars.stream().anyMatch(b -> b.isMemoryAperture() && b.overlaps(s, e));
        }
      }
      if (overlaps) {
        log("vfio-pci " + a + ": aperture: removing conflicting framebuffer " + dev);
        unbindPlatform(paths.platformDriverUnbind(drv.get()), drv.get(), dev);
      }
    }
    // sysfb_disable(): the firmware framebuffer device is unregistered, its BOOTFB range goes too.
    List<String> iomem = new ArrayList<>(readLines(paths.procIomem()));
    boolean removedBootfb = iomem.removeIf(line -> {
      if (!line.endsWith(" : " + FramebufferDrivers.FIRMWARE_REGION)) {
        return false;
      }
      String[] se = line.strip().substring(0, line.strip().indexOf(' ')).split("-");
      long s = Long.parseUnsignedLong(se[0], 16);
      long e = Long.parseUnsignedLong(se[1], 16);
      return bars.stream().anyMatch(b -> b.isMemoryAperture() && b.overlaps(s, e));
    });
    if (removedBootfb) {
      SimFiles.write(paths.procIomem(), String.join("\n", iomem) + "\n");
      for (String dev : list(paths.platformDevices())) {
        if (FramebufferDrivers.isFramebufferDevice(dev)) {
          Path dir = realDir(paths.platformDevice(dev));
          SimFiles.delete(paths.platformDevice(dev));
          SimFiles.deleteTree(dir);
          log("sysfb: unregistered " + dev);
        }
      }
    }
    boolean bootVga = readIfPresent(paths.pciAttribute(a, "boot_vga")).map("1"::equals).orElse(false);
    if (bootVga) {
      for (String vt : list(paths.vtConsoles())) {
        Path bind = paths.vtConsoleBind(vt);
        String name = readIfPresent(paths.vtConsole(vt).resolve("name")).orElse("");
        if (name.contains("VGA") && readIfPresent(bind).map("1"::equals).orElse(false)) {
          SimFiles.write(bind, "0\n");
          log("vgaarb: deactivate vga console");
        }
      }
    }
  }

  // ---- helpers ----

  static void createVtConsole(Path root, String id, String name, boolean bound) {
    Path dir = root.resolve("sys/devices/virtual/vtconsole").resolve(id);
    SimFiles.write(dir.resolve("name"), name + "\n");
    SimFiles.write(dir.resolve("bind"), (bound ? "1" : "0") + "\n");
    SimFiles.link(root.resolve("sys/class/vtconsole").resolve(id), dir);
  }

  private void linkDriver(PciAddress a, String driver) {
    Path dir = deviceDir(a);
    SimFiles.link(dir.resolve("driver"), paths.pciDriver(driver));
    SimFiles.link(paths.pciDriver(driver).resolve(a.toString()), dir);
  }

  private void ensureDriver(String driver) {
    Path dir = paths.pciDriver(driver);
    if (!Files.isDirectory(dir)) {
      for (String f : List.of("bind", "unbind", "new_id", "remove_id", "uevent")) {
        SimFiles.write(dir.resolve(f), "");
      }
    }
  }

  private Path deviceDir(PciAddress a) {
    return realDir(paths.pciDevice(a));
  }

  private Path realDir(Path link) {
    try {
      return link.toRealPath();
    } catch (NoSuchFileException e) {
      throw new HostWriteException(link, "", "No such device");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Optional<String> currentDriver(PciAddress a) {
    return linkTarget(paths.pciDriverLink(a));
  }

  private Optional<String> override(PciAddress a) {
    return readIfPresent(paths.driverOverride(a)).flatMap(KernelFormats::parseDriverOverride);
  }

  private java.util.OptionalInt group(PciAddress a) {
    Optional<String> g = linkTarget(paths.iommuGroupLink(a));
    return g.isPresent() ? java.util.OptionalInt.of(Integer.parseInt(g.get())) : java.util.OptionalInt.empty();
  }

  private boolean isVga(PciAddress a) {
    return readIfPresent(paths.pciAttribute(a, "class"))
        .map(c -> (KernelFormats.parseClass(paths.pciAttribute(a, "class"), c) >> 8) == 0x0300)
        .orElse(false);
  }

  private Optional<String> defaultDriver(PciAddress a) {
    for (String line : readIfPresent(root.resolve(MATCHES)).orElse("").split("\n")) {
      String[] f = line.split(" ");
      if (f.length == 2 && f[0].equals(a.toString())) {
        return Optional.of(f[1]);
      }
    }
    return Optional.empty();
  }

  private int majorVersion() {
    String release = readIfPresent(paths.kernelRelease()).orElse("0");
    try {
      return Integer.parseInt(release.strip().split("\\.")[0]);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private List<String> readParked() {
    String all = readIfPresent(root.resolve(PARKED)).orElse("");
    return all.isBlank() ? List.of() : List.of(all.split("\n"));
  }

  private void appendParked(List<String> entries) {
    List<String> all = new ArrayList<>(readParked());
    all.addAll(entries);
    SimFiles.write(root.resolve(PARKED), all.isEmpty() ? "" : String.join("\n", all) + "\n");
  }

  private void log(String line) {
    log.add(line);
    Path dmesg = root.resolve(DMESG);
    try {
      Files.createDirectories(dmesg.getParent());
      Files.writeString(dmesg, line + "\n", java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
