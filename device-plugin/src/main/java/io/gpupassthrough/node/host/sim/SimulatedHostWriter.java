package io.gpupassthrough.node.host.sim;

import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.SysfsPaths;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder.Framebuffer;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder.Pci;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** Lays out the files a {@link SimulatedHostBuilder} describes. */
final class SimulatedHostWriter {
  private final Path root;
  private final SysfsPaths paths;
  private final Map<PciAddress, Pci> devices = new TreeMap<>();
  private final List<Framebuffer> framebuffers;
  private final String kernelRelease;
  private final boolean vfioLoaded;
  private final Boolean vgacon;
  private final boolean fbUnderGpu;
  private final String pciIds;

  SimulatedHostWriter(Path root, List<Pci> devices, List<Framebuffer> framebuffers,
      String kernelRelease, boolean vfioLoaded, Boolean vgacon, boolean fbUnderGpu, String pciIds) {
    this.root = root.toAbsolutePath().normalize();
    this.paths = new SysfsPaths(this.root);
    devices.forEach(d -> this.devices.put(d.address, d));
    this.framebuffers = framebuffers;
    this.kernelRelease = kernelRelease;
    this.vfioLoaded = vfioLoaded;
    this.vgacon = vgacon;
    this.fbUnderGpu = fbUnderGpu;
    this.pciIds = pciIds;
  }

  Path deviceDir(PciAddress a) {
    Pci p = devices.get(a);
    Path base = p != null && p.parent != null
        ? deviceDir(p.parent)
        : root.resolve("sys/devices/pci" + String.format("%04x:%02x", a.domain(), 0));
    return base.resolve(a.toString());
  }

  void write() {
    SimFiles.mkdirs(root.resolve("sys/bus/pci/devices"));
    SimFiles.mkdirs(root.resolve("sys/bus/platform/devices"));
    SimFiles.write(paths.pciDriversProbe(), "");
    SimFiles.write(root.resolve("sys/bus/pci/drivers_autoprobe"), "1\n");
    SimFiles.write(root.resolve("sys/bus/pci/rescan"), "");
    SimFiles.write(paths.kernelRelease(), kernelRelease + "\n");
    SimFiles.mkdirs(paths.iommuGroups());
    SimFiles.mkdirs(paths.devVfio());
    Set<String> drivers = new TreeSet<>();
    if (vfioLoaded) {
      drivers.add(SysfsPaths.VFIO_PCI);
      SimFiles.write(paths.vfioContainer(), "");
    }
    StringBuilder matches = new StringBuilder();
    Set<Integer> vfioGroups = new TreeSet<>();
    for (Pci p : devices.values()) {
      writeDevice(p);
      if (p.driver != null) {
        drivers.add(p.driver);
      }
      if (p.defaultDriver != null) {
        drivers.add(p.defaultDriver);
        matches.append(p.address).append(' ').append(p.defaultDriver).append('\n');
      }
      if (SysfsPaths.VFIO_PCI.equals(p.driver) && p.iommuGroup.isPresent()) {
        vfioGroups.add(p.iommuGroup.getAsInt());
      }
    }
    for (String d : drivers) {
      Path dir = paths.pciDriver(d);
      for (String f : List.of("bind", "unbind", "new_id", "remove_id", "uevent")) {
        SimFiles.write(dir.resolve(f), "");
      }
    }
    for (Pci p : devices.values()) {
      if (p.driver != null) {
        bindPci(p.address, p.driver);
      }
    }
    for (int g : vfioGroups) {
      SimFiles.write(paths.vfioGroupNode(g), "");
    }
    SimFiles.write(root.resolve(SimulatedKernel.MATCHES), matches.toString());
    writePlatform();
    writeVtConsoles();
    writeIomem();
    if (pciIds != null) {
      SimFiles.write(paths.pciIdsCandidates().get(0), pciIds);
    }
  }

  private void writeDevice(Pci p) {
    Path dir = deviceDir(p.address);
    SimFiles.write(dir.resolve("vendor"), String.format("0x%04x%n", p.vendor));
    SimFiles.write(dir.resolve("device"), String.format("0x%04x%n", p.device));
    SimFiles.write(dir.resolve("subsystem_vendor"), String.format("0x%04x%n", p.subsystemVendor));
    SimFiles.write(dir.resolve("subsystem_device"), String.format("0x%04x%n", p.subsystemDevice));
    SimFiles.write(dir.resolve("class"), String.format("0x%06x%n", p.pciClass));
    SimFiles.write(dir.resolve("numa_node"), p.numaNode + "\n");
    SimFiles.write(dir.resolve("enable"), "1\n");
    SimFiles.write(dir.resolve("driver_override"),
        (p.driverOverride == null ? "(null)" : p.driverOverride) + "\n");
    if ((p.pciClass >> 8) == 0x0300) {
      SimFiles.write(dir.resolve("boot_vga"), (p.bootVga ? "1" : "0") + "\n");
    }
    boolean bridge = (p.pciClass >> 16) == 0x06;
    StringBuilder res = new StringBuilder();
    for (int i = 0; i < (bridge ? 17 : 13); i++) {
      long[] b = p.bars.get(i);
      res.append(b == null
          ? String.format("0x%016x 0x%016x 0x%016x%n", 0L, 0L, 0L)
          : String.format("0x%016x 0x%016x 0x%016x%n", b[0], SimulatedHostBuilder.barEnd(b), b[2]));
    }
    SimFiles.write(dir.resolve("resource"), res.toString());
    SimFiles.link(dir.resolve("subsystem"), root.resolve("sys/bus/pci"));
    SimFiles.link(paths.pciDevice(p.address), dir);
    if (p.iommuGroup.isPresent()) {
      int g = p.iommuGroup.getAsInt();
      Path groupDir = paths.iommuGroups().resolve(Integer.toString(g));
      SimFiles.write(groupDir.resolve("type"), "DMA\n");
      SimFiles.link(groupDir.resolve("devices").resolve(p.address.toString()), dir);
      SimFiles.link(dir.resolve("iommu_group"), groupDir);
    }
    if (p.drmCard) {
      int n = countDrmCards();
      for (String node : List.of("card" + n, "renderD" + (128 + n))) {
        Path card = dir.resolve("drm").resolve(node);
        SimFiles.link(card.resolve("device"), dir);
        SimFiles.link(root.resolve("sys/class/drm").resolve(node), card);
        SimFiles.write(root.resolve("dev/dri").resolve(node), "");
      }
    }
    if (p.soundCard != null) {
      int c = p.soundCard;
      Path card = dir.resolve("sound/card" + c);
      SimFiles.link(card.resolve("device"), dir);
      SimFiles.link(root.resolve("sys/class/sound/card" + c), card);
      for (String node : List.of("controlC" + c, "pcmC" + c + "D3p", "hwC" + c + "D0")) {
        SimFiles.link(card.resolve(node).resolve("device"), card);
        SimFiles.link(root.resolve("sys/class/sound").resolve(node), card.resolve(node));
        SimFiles.write(root.resolve("dev/snd").resolve(node), "");
      }
    }
    if (p.nvidiaMinor != null) {
      SimFiles.write(paths.nvidiaGpuInformation(p.address), "Model: \t\t NVIDIA A10\nIRQ:   \t\t 98\n"
          + "GPU UUID: \t GPU-8e2f0c6a-2f4b-4b8e-9d1c-000000000000\nVideo BIOS: \t 94.02.5c.00.03\n"
          + "Bus Type: \t PCIe\nDMA Size: \t 47 bits\nDMA Mask: \t 0x7fffffffffff\nBus Location: \t "
          + p.address + "\nDevice Minor: \t " + p.nvidiaMinor + "\n");
      SimFiles.write(root.resolve("dev/nvidia" + p.nvidiaMinor), "");
      SimFiles.write(root.resolve("dev/nvidiactl"), "");
    }
  }

  /** {@code /proc/<pid>/{comm,cmdline,cgroup,fd/N}}; fd links keep their text as the kernel shows it. */
  static void writeProcesses(SysfsPaths paths, List<SimulatedHostBuilder.Process> processes) {
    for (SimulatedHostBuilder.Process p : processes) {
      Path dir = paths.proc().resolve(Long.toString(p.pid));
      SimFiles.write(dir.resolve("comm"), p.comm + "\n");
      SimFiles.write(dir.resolve("cmdline"), p.cmdline.isEmpty() ? "" : String.join("\0", p.cmdline) + "\0");
      SimFiles.write(dir.resolve("cgroup"), p.cgroup);
      SimFiles.mkdirs(dir.resolve("fd"));
      p.fds.forEach((fd, text) -> SimFiles.rawLink(dir.resolve("fd").resolve(Integer.toString(fd)), text));
    }
  }

  private int drmCards;

  private int countDrmCards() {
    return drmCards++;
  }

  private void bindPci(PciAddress a, String driver) {
    Path dir = deviceDir(a);
    SimFiles.link(dir.resolve("driver"), paths.pciDriver(driver));
    SimFiles.link(paths.pciDriver(driver).resolve(a.toString()), dir);
  }

  private void writePlatform() {
    for (String other : List.of("serial8250", "pcspkr", "reg-dummy")) {
      Path dir = root.resolve("sys/devices/platform").resolve(other);
      SimFiles.write(dir.resolve("uevent"), "");
      SimFiles.link(paths.platformDevice(other), dir);
    }
    int fbIndex = 0;
    for (Framebuffer fb : framebuffers) {
      Path dir = fbUnderGpu && fb.gpu() != null
          ? deviceDir(fb.gpu()).resolve(fb.platformDevice())
          : root.resolve("sys/devices/platform").resolve(fb.platformDevice());
      SimFiles.write(dir.resolve("uevent"), "");
      SimFiles.link(paths.platformDevice(fb.platformDevice()), dir);
      String kindDriver = fb.platformDevice().substring(0, fb.platformDevice().indexOf('.'));
      if (!kindDriver.equals("platform-framebuffer")) {
        SimFiles.write(paths.platformDriverBind(kindDriver), "");
        SimFiles.write(paths.platformDriverUnbind(kindDriver), "");
      }
      if (fb.driver().isPresent()) {
        String drv = fb.driver().get();
        SimFiles.write(paths.platformDriverBind(drv), "");
        SimFiles.write(paths.platformDriverUnbind(drv), "");
        SimFiles.link(dir.resolve("driver"), paths.platformDriver(drv));
        SimFiles.link(paths.platformDriver(drv).resolve(fb.platformDevice()), dir);
        String fbId = "fb" + fbIndex++;
        Path fbDir = dir.resolve("graphics").resolve(fbId);
        SimFiles.write(fbDir.resolve("name"), fb.fbName() + "\n");
        SimFiles.link(fbDir.resolve("device"), dir);
        SimFiles.link(paths.graphics().resolve(fbId), fbDir);
        if (fb.bootfb()) {
          int n = countDrmCards();
          Path card = dir.resolve("drm/card" + n);
          SimFiles.link(card.resolve("device"), dir);
          SimFiles.link(root.resolve("sys/class/drm/card" + n), card);
        }
      }
    }
    Path fbcon = root.resolve("sys/devices/virtual/graphics/fbcon");
    SimFiles.write(fbcon.resolve("rotate"), "0\n");
    SimFiles.link(paths.graphics().resolve("fbcon"), fbcon);
  }

  private void writeVtConsoles() {
    boolean anyFb = framebuffers.stream().anyMatch(f -> f.driver().isPresent());
    if (vgacon != null) {
      SimulatedKernel.createVtConsole(root, "vtcon0", "(S) VGA+", vgacon);
    } else {
      SimulatedKernel.createVtConsole(root, "vtcon0", "(S) dummy device", !anyFb);
    }
    if (anyFb) {
      SimulatedKernel.createVtConsole(root, "vtcon1", SimulatedKernel.FBCON_NAME, true);
    }
  }

  private void writeIomem() {
    List<String> out = new ArrayList<>();
    out.add("00000000-00000fff : Reserved");
    out.add("00001000-0009fbff : System RAM");
    out.add("0009fc00-0009ffff : Reserved");
    out.add("000a0000-000bffff : PCI Bus 0000:00");
    out.add("000c0000-000c9bff : Video ROM");
    out.add("000f0000-000fffff : Reserved");
    out.add("  000f0000-000fffff : System ROM");
    out.add("00100000-7ffdffff : System RAM");
    out.add("  0b000000-0bc02de6 : Kernel code");
    out.add("  0be00000-0c2c3fff : Kernel rodata");
    out.add("80000000-afffffff : PCI Bus 0000:00");
    bars(out, 0x80000000L, 0xafffffffL);
    out.add("b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]");
    out.add("  b0000000-bfffffff : Reserved");
    out.add("c0000000-febfffff : PCI Bus 0000:00");
    bars(out, 0xc0000000L, 0xfebfffffL);
    out.add("fec00000-fec003ff : IOAPIC 0");
    out.add("fed00000-fed003ff : HPET 0");
    out.add("fee00000-fee00fff : Local APIC");
    out.add("100000000-17fffffff : System RAM");
    out.add("380000000000-3fffffffffff : PCI Bus 0000:00");
    bars(out, 0x380000000000L, 0x3fffffffffffL);
    SimFiles.write(paths.procIomem(), String.join("\n", out) + "\n");
  }

  private void bars(List<String> out, long windowStart, long windowEnd) {
    record Line(long start, long end, PciAddress owner, int index) {}
    List<Line> lines = new ArrayList<>();
    for (Pci p : devices.values()) {
      for (Map.Entry<Integer, long[]> e : p.bars.entrySet()) {
        long[] b = e.getValue();
        if (SimulatedHostBuilder.isMem(b) && b[0] >= windowStart && b[0] <= windowEnd) {
          lines.add(new Line(b[0], SimulatedHostBuilder.barEnd(b), p.address, e.getKey()));
        }
      }
    }
    lines.sort(Comparator.comparingLong(Line::start));
    for (Line l : lines) {
      out.add(range(1, l.start, l.end, l.owner.toString()));
      for (Framebuffer fb : framebuffers) {
        if (l.owner.equals(fb.gpu()) && l.index == fb.bar()) {
          long start = l.start + fb.offset();
          long end = fb.size() < 0 ? l.end : start + fb.size() - 1;
          if (fb.bootfb()) {
            out.add(range(2, start, end, "BOOTFB"));
            fb.iomemName().ifPresent(n -> out.add(range(3, start, end, n)));
          } else {
            fb.iomemName().ifPresent(n -> out.add(range(2, start, end, n)));
          }
        }
      }
    }
  }

  static String range(int depth, long start, long end, String name) {
    return "  ".repeat(depth) + String.format("%08x-%08x : %s", start, end, name);
  }
}
