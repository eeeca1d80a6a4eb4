package io.gpupassthrough.node.aperture;

import io.gpupassthrough.node.host.Bar;
import io.gpupassthrough.node.host.FramebufferDevice;
import io.gpupassthrough.node.host.IommuGroup;
import io.gpupassthrough.node.host.KernelFormats;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.host.PlatformFramebuffer;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.VtConsole;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/** In-memory snapshots for engine unit tests: no files, just the records a scan would produce. */
final class Snapshots {
  private final List<PciDevice> devices = new ArrayList<>();
  private final List<String> iomem = new ArrayList<>();
  private final List<PlatformFramebuffer> platform = new ArrayList<>();
  private final List<VtConsole> vts = new ArrayList<>();
  private final List<FramebufferDevice> fbs = new ArrayList<>();
  private final Set<Integer> vfioNodes = new HashSet<>();
  private boolean vfioLoaded = true;
  private String kernel = "6.1.0-18-amd64";

  static Snapshots host() {
    return new Snapshots();
  }

  /** A VGA GPU with BAR0 (16 MiB at base) and a 64-bit BAR1 (256 MiB at base64). */
  Snapshots gpu(String address, long base, long base64, boolean bootVga, String driver, Integer group) {
    return device(address, 0x030000, List.of(
        new Bar(0, base, base + 0xffffff, 0x40200),
        new Bar(1, base64, base64 + 0xfffffff, 0x14220c),
        new Bar(5, 0xe000, 0xe07f, 0x40101)), bootVga, driver, group);
  }

  Snapshots device(String address, int pciClass, List<Bar> bars, boolean bootVga, String driver,
      Integer group) {
    devices.add(new PciDevice(PciAddress.parse(address), 0x10de, 0x2236, 0x10de, 0x1482, pciClass,
        bars, bootVga, 0, Optional.ofNullable(driver),
        group == null ? OptionalInt.empty() : OptionalInt.of(group), Optional.empty(),
        Optional.empty(), Optional.empty()));
    return this;
  }

  Snapshots iomem(String... lines) {
    iomem.addAll(List.of(lines));
    return this;
  }

  Snapshots platformFb(String name, String driver) {
    platform.add(new PlatformFramebuffer(name, Optional.ofNullable(driver), "sys/devices/platform/" + name));
    return this;
  }

  Snapshots fb(String id, String device) {
    fbs.add(new FramebufferDevice(id, Optional.empty(), Optional.of(device)));
    return this;
  }

  Snapshots vt(String id, String name, boolean bound) {
    vts.add(new VtConsole(id, name, bound));
    return this;
  }

  Snapshots vfioNode(int group) {
    vfioNodes.add(group);
    return this;
  }

  Snapshots vfioNotLoaded() {
    vfioLoaded = false;
    return this;
  }

  Snapshots kernel(String release) {
    kernel = release;
    return this;
  }

  Snapshot build() {
    Map<Integer, List<PciAddress>> groups = new HashMap<>();
    Map<PciAddress, Integer> classes = new HashMap<>();
    for (PciDevice d : devices) {
      classes.put(d.address(), d.pciClass());
      d.iommuGroup().ifPresent(g -> groups.computeIfAbsent(g, k -> new ArrayList<>()).add(d.address()));
    }
    Map<Integer, IommuGroup> g = new HashMap<>();
    groups.forEach((n, m) -> g.put(n, new IommuGroup(n, m)));
    Set<String> drivers = new HashSet<>(Set.of("nouveau", "snd_hda_intel", "pcieport"));
    if (vfioLoaded) {
      drivers.add("vfio-pci");
    }
    return new Snapshot(devices, classes, g, KernelFormats.parseIomem(Path.of("/proc/iomem"), iomem),
        platform, vts, fbs, List.of(), drivers, vfioLoaded, vfioNodes, Optional.of(kernel));
  }
}
