package io.gpupassthrough.node.vfio;

import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.IommuGroup;
import io.gpupassthrough.node.host.KernelFormats;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.SysfsPaths;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Decides whether a device is really on vfio-pci. A {@code drivers_probe} write succeeds even when
 * nothing bound, so success is only ever what these checks see afterwards.
 */
public final class Verifier {
  private final HostRoot host;
  private final SysfsPaths paths;

  public Verifier(HostRoot host) {
    this.host = host;
    this.paths = host.paths();
  }

  /**
   * Live check of one device, a handful of stat/readlink calls (cheap enough to poll every 250
   * ms): the device directory exists, every non-bridge member of its IOMMU group has a
   * {@code driver} link naming vfio-pci, and {@code /dev/vfio/<group>} exists.
   */
  public Health check(PciAddress address) {
    try {
      if (!host.exists(paths.pciDevice(address))) {
        return Health.bad(address, Reason.DEVICE_GONE, address + " is no longer in /sys/bus/pci/devices");
      }
      Optional<String> group = host.linkTarget(paths.iommuGroupLink(address));
      if (group.isEmpty()) {
        return Health.bad(address, Reason.NO_IOMMU, address + " has no iommu_group link");
      }
      int g = KernelFormats.parseGroupNumber(paths.iommuGroupLink(address), group.get());
      for (String member : host.list(paths.iommuGroupDevices(g))) {
        PciAddress m = PciAddress.parse(member);
        if (isBridge(m)) {
          continue;
        }
        Optional<String> driver = host.linkTarget(paths.pciDriverLink(m));
        if (!driver.map(SysfsPaths.VFIO_PCI::equals).orElse(false)) {
          return Health.bad(address, Reason.UNHEALTHY, "IOMMU group " + g + " member " + m
              + " is bound to " + driver.orElse("no driver") + ", not vfio-pci");
        }
      }
      if (!host.exists(paths.vfioGroupNode(g))) {
        return Health.bad(address, Reason.UNHEALTHY, "/dev/vfio/" + g + " is missing");
      }
      return Health.ok(address, g);
    } catch (HostReadException e) {
      // A link that vanished between readlink and stat means the device is going away.
      return host.exists(paths.pciDevice(address))
          ? Health.bad(address, Reason.HOST_READ_ERROR, e.getMessage())
          : Health.bad(address, Reason.DEVICE_GONE, address + " is no longer in /sys/bus/pci/devices");
    }
  }

  private boolean isBridge(PciAddress m) {
    Path cls = paths.pciAttribute(m, "class");
    return (KernelFormats.parseClass(cls, host.read(cls)) >> 16) == 0x06;
  }

  /** The snapshot's GPUs that pass the same checks as {@link #check}, in address order. */
  public static List<VfioGpu> verifiedGpus(Snapshot snapshot) {
    List<VfioGpu> out = new ArrayList<>();
    for (PciDevice gpu : snapshot.gpus()) {
      verified(snapshot, gpu).ifPresent(out::add);
    }
    return out;
  }

  /** The GPU as a {@link VfioGpu} when it and its group are verified on vfio-pci in the snapshot. */
  public static Optional<VfioGpu> verified(Snapshot snapshot, PciDevice gpu) {
    Optional<IommuGroup> group = snapshot.groupOf(gpu);
    if (group.isEmpty() || !snapshot.vfioGroupNodes().contains(group.get().number())) {
      return Optional.empty();
    }
    List<PciDevice> members = new ArrayList<>();
    for (PciAddress a : group.get().members()) {
      Optional<PciDevice> m = snapshot.device(a);
      if (m.isEmpty()) {
        return Optional.empty();
      }
      if (m.get().isBridge()) {
        continue;
      }
      if (!m.get().isBoundTo(SysfsPaths.VFIO_PCI)) {
        return Optional.empty();
      }
      members.add(m.get());
    }
    return Optional.of(new VfioGpu(gpu, group.get(), members));
  }
}
