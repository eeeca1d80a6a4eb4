package io.gpupassthrough.node.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Reads one {@link Snapshot} from a host root. Only display functions and their IOMMU group peers
 * are read in full, so a pass over a 256-GPU host stays a few thousand small reads. Keep one reader
 * per host to reuse the pci.ids lookup between passes.
 */
public final class SnapshotReader {
  private final HostRoot host;
  private final SysfsPaths paths;
  private CachedIds cachedIds;

  private record CachedIds(Path file, long modified, long size, Set<Long> wanted, PciIds ids) {}

  public SnapshotReader(HostRoot host) {
    this.host = host;
    this.paths = host.paths();
  }

  public Snapshot read() {
    Set<String> drivers = new HashSet<>(host.list(paths.pciDrivers()));
    Set<String> groupNames = new HashSet<>(host.list(paths.iommuGroups()));
    Map<PciAddress, Integer> classes = new HashMap<>();
    for (String name : host.list(paths.pciDevices())) {
      PciAddress address = parseAddress(name);
      classes.put(address, KernelFormats.parseClass(
          paths.pciAttribute(address, "class"),
          host.read(paths.pciAttribute(address, "class"))));
    }
    Set<PciAddress> wanted = new LinkedHashSet<>();
    Map<Integer, IommuGroup> groups = new HashMap<>();
    Map<PciAddress, OptionalInt> groupLinks = new HashMap<>();
    for (Map.Entry<PciAddress, Integer> e : classes.entrySet()) {
      if ((e.getValue() >> 16) == 0x03) {
        wanted.add(e.getKey());
        OptionalInt group = readGroup(e.getKey(), groupNames);
        groupLinks.put(e.getKey(), group);
        if (group.isPresent() && !groups.containsKey(group.getAsInt())) {
          IommuGroup g = readGroupMembers(group.getAsInt());
          groups.put(g.number(), g);
          wanted.addAll(g.members());
        }
      }
    }
    for (PciAddress a : wanted) {
      if (!classes.containsKey(a)) {
        throw new HostReadException(
            paths.iommuGroups(), "IOMMU group lists " + a + " but /sys/bus/pci/devices has no such device");
      }
    }
    // Thousands of tiny sysfs reads: two threads halve the wall time of a big host's scan.
    List<RawDevice> raw = wanted.parallelStream()
        .map(a -> readDevice(a, classes.get(a), groupLinks.get(a), drivers, groupNames))
        .toList();
    Set<Long> idKeys = new HashSet<>();
    for (RawDevice d : raw) {
      idKeys.add(((long) d.vendor << 16) | d.device);
      d.group.ifPresent(n -> groups.computeIfAbsent(n, this::readGroupMembers));
    }
    PciIds ids = pciIds(idKeys);
    List<PciDevice> devices = new ArrayList<>(raw.size());
    for (RawDevice d : raw) {
      PciIds.Names names = ids.names(d.vendor, d.device);
      devices.add(new PciDevice(d.address, d.vendor, d.device, d.subVendor, d.subDevice, d.pciClass,
          d.bars, d.bootVga, d.numaNode, d.driver, d.group, d.override, names.vendor(), names.device()));
    }
    return new Snapshot(
        devices,
        classes,
        groups,
        readIomem(),
        readPlatformFramebuffers(),
        readVtConsoles(),
        readFramebuffers(),
        readDrmCards(),
        drivers,
        host.exists(paths.vfioContainer()),
        readVfioGroupNodes(),
        host.readIfPresent(paths.kernelRelease()).map(String::strip));
  }

  private record RawDevice(PciAddress address, int vendor, int device, int subVendor, int subDevice,
      int pciClass, List<Bar> bars, boolean bootVga, int numaNode, Optional<String> driver,
      OptionalInt group, Optional<String> override) {}

  private PciAddress parseAddress(String name) {
    try {
      return PciAddress.parse(name);
    } catch (IllegalArgumentException e) {
      throw new HostReadException(paths.pciDevices().resolve(name), e.getMessage());
    }
  }

  private RawDevice readDevice(PciAddress a, int pciClass, OptionalInt knownGroup,
      Set<String> drivers, Set<String> groupNames) {
    Path vendor = paths.pciAttribute(a, "vendor");
    Path device = paths.pciAttribute(a, "device");
    Path subVendor = paths.pciAttribute(a, "subsystem_vendor");
    Path subDevice = paths.pciAttribute(a, "subsystem_device");
    Path resource = paths.pciAttribute(a, "resource");
    Path bootVga = paths.pciAttribute(a, "boot_vga");
    Path numa = paths.pciAttribute(a, "numa_node");
    return new RawDevice(
        a,
        KernelFormats.parseId(vendor, host.read(vendor)),
        KernelFormats.parseId(device, host.read(device)),
        host.readIfPresent(subVendor).map(t -> KernelFormats.parseId(subVendor, t)).orElse(0),
        host.readIfPresent(subDevice).map(t -> KernelFormats.parseId(subDevice, t)).orElse(0),
        pciClass,
        KernelFormats.parseResource(resource, host.readLines(resource)),
        // boot_vga only exists on VGA-class functions; don't probe (and miss) it on the others.
        (pciClass >> 8) == 0x0300
            && host.readIfPresent(bootVga).map(t -> KernelFormats.parseFlag(bootVga, t)).orElse(false),
        host.readIfPresent(numa).map(t -> KernelFormats.parseNumaNode(numa, t)).orElse(-1),
        readDriver(a, drivers),
        knownGroup != null ? knownGroup : readGroup(a, groupNames),
        driverOverride(a));
  }

  /**
   * Unknown (empty) while a write for the device is blocked in the kernel: on Linux 6.1 reading
   * it would block too, because {@code driver_override}'s show method takes the device lock.
   */
  private Optional<String> driverOverride(PciAddress a) {
    try {
      return host.readIfPresent(paths.driverOverride(a)).flatMap(KernelFormats::parseDriverOverride);
    } catch (DeviceBusyException e) {
      return Optional.empty();
    }
  }

  /** The driver link's name, checked against the listing of /sys/bus/pci/drivers. */
  private Optional<String> readDriver(PciAddress a, Set<String> drivers) {
    Path link = paths.pciDriverLink(a);
    Optional<String> name = host.linkName(link);
    if (name.isPresent() && !drivers.contains(name.get())) {
      // The driver went away (module unloaded) or the tree is broken: say which.
      return host.linkTarget(link);
    }
    return name;
  }

  private OptionalInt readGroup(PciAddress a, Set<String> groupNames) {
    Path link = paths.iommuGroupLink(a);
    Optional<String> target = host.linkName(link);
    if (target.isPresent() && !groupNames.contains(target.get())) {
      target = host.linkTarget(link);
    }
    return target.isPresent()
        ? OptionalInt.of(KernelFormats.parseGroupNumber(link, target.get()))
        : OptionalInt.empty();
  }

  private IommuGroup readGroupMembers(int group) {
    Path dir = paths.iommuGroupDevices(group);
    List<PciAddress> members = new ArrayList<>();
    for (String name : host.list(dir)) {
      try {
        members.add(PciAddress.parse(name));
      } catch (IllegalArgumentException e) {
        throw new HostReadException(dir.resolve(name), e.getMessage());
      }
    }
    return new IommuGroup(group, members);
  }

  private IomemTree readIomem() {
    Path file = paths.procIomem();
    return KernelFormats.parseIomem(file, host.readLines(file));
  }

  private List<PlatformFramebuffer> readPlatformFramebuffers() {
    List<PlatformFramebuffer> out = new ArrayList<>();
    for (String name : host.list(paths.platformDevices())) {
      if (FramebufferDrivers.isFramebufferDevice(name)) {
        Path dev = paths.platformDevice(name);
        out.add(new PlatformFramebuffer(
            name,
            host.linkTarget(paths.platformDriverLink(name)),
            host.resolvedLink(dev).orElse(paths.root().relativize(dev).toString())));
      }
    }
    return out;
  }

  private List<VtConsole> readVtConsoles() {
    List<VtConsole> out = new ArrayList<>();
    for (String id : host.list(paths.vtConsoles())) {
      Path dir = paths.vtConsole(id);
      Path bind = paths.vtConsoleBind(id);
      out.add(new VtConsole(
          id, host.read(dir.resolve("name")), KernelFormats.parseFlag(bind, host.read(bind))));
    }
    return out;
  }

  private List<FramebufferDevice> readFramebuffers() {
    List<FramebufferDevice> out = new ArrayList<>();
    for (String id : host.list(paths.graphics())) {
      if (!id.startsWith("fb") || id.equals("fbcon")) {
        continue;
      }
      Path dir = paths.graphics().resolve(id);
      out.add(new FramebufferDevice(
          id, host.readIfPresent(dir.resolve("name")), host.linkTarget(dir.resolve("device"))));
    }
    return out;
  }

  private List<DrmCard> readDrmCards() {
    List<DrmCard> out = new ArrayList<>();
    for (String id : host.list(paths.drmCards())) {
      // card0-HDMI-A-1 and friends are connectors, renderD128 a render node.
      if (id.startsWith("card") && id.indexOf('-') < 0) {
        out.add(new DrmCard(id, host.linkTarget(paths.drmCards().resolve(id).resolve("device"))));
      }
    }
    return out;
  }

  private Set<Integer> readVfioGroupNodes() {
    Set<Integer> out = new HashSet<>();
    for (String name : host.list(paths.devVfio())) {
      if (!name.isEmpty() && name.chars().allMatch(Character::isDigit)) {
        out.add(Integer.parseInt(name));
      }
    }
    return out;
  }

  private PciIds pciIds(Set<Long> wanted) {
    for (Path file : paths.pciIdsCandidates()) {
      BasicFileAttributes attrs;
      try {
        attrs = Files.readAttributes(file, BasicFileAttributes.class);
      } catch (IOException e) {
        continue;
      }
      long modified = attrs.lastModifiedTime().toMillis();
      CachedIds c = cachedIds;
      if (c != null && c.file.equals(file) && c.modified == modified && c.size == attrs.size()
          && c.wanted.containsAll(wanted)) {
        return c.ids;
      }
      PciIds ids = PciIds.load(file, wanted);
      cachedIds = new CachedIds(file, modified, attrs.size(), Set.copyOf(wanted), ids);
      return ids;
    }
    return PciIds.none();
  }
}
