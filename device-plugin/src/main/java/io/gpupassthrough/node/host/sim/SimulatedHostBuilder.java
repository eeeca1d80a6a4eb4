package io.gpupassthrough.node.host.sim;

import io.gpupassthrough.node.host.Bar;
import io.gpupassthrough.node.host.FramebufferDrivers;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.SysfsPaths;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Writes a host root that looks like a real Linux host to the node agent: devices under
 * {@code sys/devices/pci0000:00}, relative {@code bus}, {@code driver} and {@code iommu_group}
 * links, {@code resource} files of three 0x%016llx fields per line, {@code class} as
 * {@code 0x030000}, a nested {@code /proc/iomem}, firmware framebuffer platform devices, fbN,
 * vtconsoles and {@code /dev/vfio}. Reads like the host it describes:
 *
 * <pre>{@code
 * SimulatedHost host = SimulatedHostBuilder.create()
 *     .gpu("0000:01:00.0", g -> g.ids(0x10de, 0x2236).bootVga().driver("nouveau").iommuGroup(1))
 *     .hdmiAudio("0000:01:00.1", a -> a.ids(0x10de, 0x1aef).iommuGroup(1))
 *     .efiFramebuffer("0000:01:00.0")
 *     .build(tempDir);
 * }</pre>
 */
public final class SimulatedHostBuilder {
  /** A PCI function to create. Unset BARs get addresses from the builder's MMIO allocator. */
  public static final class Pci {
    final PciAddress address;
    int vendor = 0x1234;
    int device = 0x1111;
    int subsystemVendor;
    int subsystemDevice;
    int pciClass;
    final TreeMap<Integer, long[]> bars = new TreeMap<>(); // index -> {start, size, flags}
    boolean autoBars;
    boolean bootVga;
    int numaNode = -1;
    String driver;
    String defaultDriver;
    OptionalInt iommuGroup = OptionalInt.empty();
    String driverOverride;
    PciAddress parent;
    boolean drmCard;
    Integer soundCard;
    Integer nvidiaMinor;

    Pci(PciAddress address) {
      this.address = address;
    }

    public Pci ids(int vendor, int device) {
      this.vendor = vendor;
      this.device = device;
      return this;
    }

    public Pci subsystem(int vendor, int device) {
      this.subsystemVendor = vendor;
      this.subsystemDevice = device;
      return this;
    }

    /** The 24-bit class, e.g. 0x030000 (VGA), 0x030200 (3D), 0x038000, 0x040300 (HD audio). */
    public Pci pciClass(int pciClass) {
      this.pciClass = pciClass;
      return this;
    }

    /** A 32-bit memory BAR. */
    public Pci memBar(int index, long start, long size) {
      bars.put(index, new long[] {start, size, 0x40200});
      autoBars = false;
      return this;
    }

    /** A 64-bit prefetchable memory BAR (takes two BAR slots, like real hardware). */
    public Pci memBar64(int index, long start, long size) {
      bars.put(index, new long[] {start, size, 0x14220c});
      autoBars = false;
      return this;
    }

    public Pci ioBar(int index, long start, long size) {
      bars.put(index, new long[] {start, size, 0x40101});
      return this;
    }

    public Pci bootVga() {
      this.bootVga = true;
      return this;
    }

    public Pci numaNode(int node) {
      this.numaNode = node;
      return this;
    }

    /** The driver bound now (null = none); also what {@code drivers_probe} binds by default. */
    public Pci driver(String driver) {
      this.driver = driver;
      if (defaultDriver == null && driver != null && !driver.equals(SysfsPaths.VFIO_PCI)) {
        this.defaultDriver = driver;
      }
      return this;
    }

    /** What the kernel's ID tables would bind on {@code drivers_probe} without an override. */
    public Pci defaultDriver(String driver) {
      this.defaultDriver = driver;
      return this;
    }

    public Pci iommuGroup(int group) {
      this.iommuGroup = OptionalInt.of(group);
      return this;
    }

    public Pci noIommuGroup() {
      this.iommuGroup = OptionalInt.empty();
      return this;
    }

    public Pci driverOverride(String driver) {
      this.driverOverride = driver;
      return this;
    }

    /** Puts the device directory under a bridge's directory, as on real PCIe topologies. */
    public Pci behind(String bridge) {
      this.parent = PciAddress.parse(bridge);
      return this;
    }

    /**
     * The bound driver is a DRM driver and registered {@code drm/cardN} and {@code drm/renderD(128+N)}
     * for this device ({@code /sys/class/drm/...}, {@code /dev/dri/...}).
     */
    public Pci drmCard() {
      this.drmCard = true;
      return this;
    }

    /** ALSA registered {@code sound/cardN} for this function: controlCN, pcmCND3p, hwCND0 in /dev/snd. */
    public Pci soundCard(int card) {
      this.soundCard = card;
      return this;
    }

    /** NVIDIA's driver numbers this GPU {@code /dev/nvidia<minor>} (/proc/driver/nvidia/gpus/...). */
    public Pci nvidiaMinor(int minor) {
      this.nvidiaMinor = minor;
      return this;
    }
  }

  /**
   * A process as {@code /proc/<pid>} shows it: {@code comm}, {@code cmdline}, {@code cgroup} and
   * {@code fd/N} links whose text is the file's path in the process's own mount namespace.
   */
  public static final class Process {
    final long pid;
    String comm = "sleep";
    List<String> cmdline = List.of();
    String cgroup = "0::/init.scope\n";
    final Map<Integer, String> fds = new TreeMap<>();

    Process(long pid) {
      this.pid = pid;
      fds.put(0, "/dev/null");
      fds.put(1, "pipe:[" + (40000 + pid) + "]");
      fds.put(2, "pipe:[" + (40000 + pid) + "]");
    }

    public Process command(String comm, String... args) {
      this.comm = comm;
      this.cmdline = List.of(args);
      return this;
    }

    /** The whole {@code /proc/<pid>/cgroup} text. */
    public Process cgroup(String text) {
      this.cgroup = text.endsWith("\n") ? text : text + "\n";
      return this;
    }

    /**
     * In a kubelet pod's container, as cgroup v2 with the systemd driver and containerd writes it
     * ({@code /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope}).
     */
    public Process inPodContainer(String podUid, String containerId) {
      String slice = "kubepods-besteffort-pod" + podUid.replace('-', '_') + ".slice";
      return cgroup("0::/kubepods.slice/kubepods-besteffort.slice/" + slice + "/cri-containerd-"
          + containerId + ".scope");
    }

    /** Opens these files on the next free fds (paths as the process sees them, e.g. /dev/vfio/1). */
    public Process opens(String... files) {
      for (String f : files) {
        fds.put(fds.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1, f);
      }
      return this;
    }
  }


  /** A firmware framebuffer the builder places on a GPU's BAR. */
  record Framebuffer(
      String platformDevice,
      Optional<String> driver,
      Optional<String> iomemName,
      boolean bootfb,
      PciAddress gpu,
      int bar,
      long offset,
      long size,
      String fbName) {}

  private final Map<PciAddress, Pci> devices = new LinkedHashMap<>();
  private final List<Framebuffer> framebuffers = new ArrayList<>();
  private final Map<Long, Process> processes = new TreeMap<>();
  private final Map<String, String> files = new TreeMap<>();
  private String kernelRelease = "6.1.0-18-amd64";
  private boolean vfioLoaded = true;
  private Boolean vgacon;
  private boolean platformFramebufferUnderGpu;
  private String pciIds;
  private long next32 = 0x80000000L;
  private long next64 = 0x380000000000L;
  private long nextIo = 0x1000;

  private SimulatedHostBuilder() {}

  public static SimulatedHostBuilder create() {
    return new SimulatedHostBuilder();
  }

  /** {@code /proc/sys/kernel/osrelease}; ≥ 6.0 makes vfio-pci evict VGA consoles itself. */
  public SimulatedHostBuilder kernelRelease(String release) {
    this.kernelRelease = release;
    return this;
  }

  /** Whether {@code /sys/bus/pci/drivers/vfio-pci} and {@code /dev/vfio/vfio} exist. */
  public SimulatedHostBuilder vfioPciLoaded(boolean loaded) {
    this.vfioLoaded = loaded;
    return this;
  }

  /** vtcon0 is vgacon ("(S) VGA+") with this bind state; without the call it is the dummy console. */
  public SimulatedHostBuilder vgacon(boolean bound) {
    this.vgacon = bound;
    return this;
  }

  /** Linux 6.12 registers efi-framebuffer.0 under the GPU's PCI directory instead of platform/. */
  public SimulatedHostBuilder platformFramebufferUnderGpu() {
    this.platformFramebufferUnderGpu = true;
    return this;
  }

  /** Installs {@code usr/share/misc/pci.ids} with this content. */
  public SimulatedHostBuilder pciIds(String content) {
    this.pciIds = content;
    return this;
  }

  /** A process in {@code /proc} (holding device files, or not). */
  public SimulatedHostBuilder process(long pid, Consumer<Process> spec) {
    spec.accept(processes.computeIfAbsent(pid, Process::new));
    return this;
  }

  /** Any other file, by its path under the root (e.g. the agent's record of original drivers). */
  public SimulatedHostBuilder file(String path, String content) {
    files.put(path, content);
    return this;
  }

  public SimulatedHostBuilder device(String address, Consumer<Pci> spec) {
    Pci p = devices.computeIfAbsent(PciAddress.parse(address), Pci::new);
    spec.accept(p);
    return this;
  }

  /** A VGA-class GPU with BAR0 16 MiB, BAR1 256 MiB 64-bit prefetchable, BAR3 32 MiB, I/O BAR5. */
  public SimulatedHostBuilder gpu(String address, Consumer<Pci> spec) {
    return device(address, p -> {
      p.pciClass = 0x030000;
      p.ids(0x10de, 0x2236).subsystem(0x10de, 0x1482);
      p.autoBars = true;
      spec.accept(p);
    });
  }

  /** An HD audio function (class 0x040300) with one 16 KiB BAR, bound to snd_hda_intel. */
  public SimulatedHostBuilder hdmiAudio(String address, Consumer<Pci> spec) {
    return device(address, p -> {
      p.pciClass = 0x040300;
      p.ids(0x10de, 0x1aef).subsystem(0x10de, 0x1482).driver("snd_hda_intel");
      p.memBar(0, allocate32(0x4000), 0x4000);
      spec.accept(p);
    });
  }

  /** A PCIe port (class 0x060400) bound to pcieport. */
  public SimulatedHostBuilder bridge(String address, Consumer<Pci> spec) {
    return device(address, p -> {
      p.pciClass = 0x060400;
      p.ids(0x8086, 0x29c1).driver("pcieport");
      spec.accept(p);
    });
  }

  /** UEFI GOP framebuffer: efi-framebuffer.0 bound to efifb over the first 3 MiB of BAR0. */
  public SimulatedHostBuilder efiFramebuffer(String gpu) {
    return efiFramebuffer(gpu, 0);
  }

  /** efifb on another BAR (NVIDIA boards put the framebuffer in BAR1, their VRAM aperture). */
  public SimulatedHostBuilder efiFramebuffer(String gpu, int bar) {
    return framebuffer(new Framebuffer("efi-framebuffer.0", Optional.of("efi-framebuffer"),
        Optional.of("efifb"), false, PciAddress.parse(gpu), bar, 0, 0x300000, "EFI VGA"));
  }

  /** BIOS {@code vga=0x317}: vesa-framebuffer.0 bound to vesafb over the whole of BAR0. */
  public SimulatedHostBuilder vesaFramebuffer(String gpu) {
    return framebuffer(new Framebuffer("vesa-framebuffer.0", Optional.of("vesa-framebuffer"),
        Optional.of("vesafb"), false, PciAddress.parse(gpu), 0, 0, -1, "VESA VGA"));
  }

  /**
   * sysfb's simple-framebuffer.0 with its BOOTFB range on BAR0; with {@code driverBound} simpledrm
   * holds a child range, without it the BOOTFB range is left behind with no driver.
   */
  public SimulatedHostBuilder simpleFramebuffer(String gpu, boolean driverBound) {
    return framebuffer(new Framebuffer("simple-framebuffer.0",
        driverBound ? Optional.of("simple-framebuffer") : Optional.empty(),
        driverBound ? Optional.of("simpledrm") : Optional.empty(), true,
        PciAddress.parse(gpu), 0, 0, 0x7e9000, "simpledrmdrmfb"));
  }

  /** SeaBIOS without {@code vga=}: a driverless platform-framebuffer.0 and no range in iomem. */
  public SimulatedHostBuilder driverlessPlatformFramebuffer() {
    return framebuffer(new Framebuffer("platform-framebuffer.0", Optional.empty(), Optional.empty(),
        false, null, 0, 0, 0, null));
  }

  private SimulatedHostBuilder framebuffer(Framebuffer fb) {
    framebuffers.add(fb);
    return this;
  }

  private long allocate32(long size) {
    long start = align(next32, size);
    if (start + size > 0xfe000000L) {
      return allocate64(size);
    }
    next32 = start + size;
    return start;
  }

  private long allocate64(long size) {
    long start = align(next64, size);
    next64 = start + size;
    return start;
  }

  private long allocateIo(long size) {
    long start = nextIo;
    nextIo = nextIo + size >= 0xffff ? 0x1000 : nextIo + size;
    return start;
  }

  private static long align(long v, long a) {
    return (v + a - 1) / a * a;
  }

  /** Writes the host root into {@code root} (an empty or missing directory). */
  public SimulatedHost build(Path root) {
    for (Pci p : devices.values()) {
      if (p.autoBars && p.bars.isEmpty()) {
        p.memBar(0, allocate32(0x1000000), 0x1000000);
        p.memBar64(1, allocate64(0x10000000), 0x10000000);
        p.memBar64(3, allocate64(0x2000000), 0x2000000);
        p.ioBar(5, allocateIo(0x80), 0x80);
        p.autoBars = false;
      }
    }
    SimulatedHostWriter writer =
        new SimulatedHostWriter(root, List.copyOf(devices.values()), List.copyOf(framebuffers),
            kernelRelease, vfioLoaded, vgacon, platformFramebufferUnderGpu, pciIds);
    writer.write();
    SimulatedHostWriter.writeProcesses(new SysfsPaths(root), List.copyOf(processes.values()));
    files.forEach((path, content) -> SimFiles.write(root.resolve(path), content));
    return new SimulatedHost(root.toAbsolutePath().normalize(), new SimulatedKernel(root));
  }

  static long barEnd(long[] bar) {
    return bar[0] + bar[1] - 1;
  }

  static boolean isMem(long[] bar) {
    return (bar[2] & Bar.IORESOURCE_MEM) != 0;
  }

  static String iomemNameOf(Framebuffer fb) {
    return fb.iomemName().orElse(FramebufferDrivers.FIRMWARE_REGION);
  }
}
