package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.KernelFormats;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.SysfsPaths;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Reads which {@code /dev} files stand for a PCI function, from its sysfs directory (see
 * {@link DeviceNodes}): a handful of readlink and directory listings, none of which takes the
 * device lock (so it is safe while a write to the device is blocked in the kernel).
 */
public final class DeviceFileReader {
  private final HostRoot host;
  private final SysfsPaths paths;

  public DeviceFileReader(HostRoot host) {
    this.host = host;
    this.paths = host.paths();
  }

  /** The host-view paths ({@code /dev/...}) of the function's device nodes; empty when it is gone. */
  public Set<String> files(PciAddress a) {
    Set<String> files = new LinkedHashSet<>();
    if (!host.exists(paths.pciDevice(a))) {
      return files;
    }
    Optional<String> group = host.linkName(paths.iommuGroupLink(a));
    if (group.isPresent()) {
      int g = KernelFormats.parseGroupNumber(paths.iommuGroupLink(a), group.get());
      if (host.exists(paths.vfioGroupNode(g))) {
        files.add(DeviceNodes.vfioGroup(g));
      }
    }
    for (String child : host.list(paths.pciAttribute(a, "vfio-dev"))) {
      DeviceNodes.vfioCdev(child).ifPresent(files::add);
    }
    for (String child : host.list(paths.pciAttribute(a, "drm"))) {
      DeviceNodes.drm(child).ifPresent(files::add);
    }
    Path sound = paths.pciAttribute(a, "sound");
    for (String card : host.list(sound)) {
      if (DeviceNodes.isSoundCard(card)) {
        for (String child : host.list(sound.resolve(card))) {
          DeviceNodes.sound(child).ifPresent(files::add);
        }
      }
    }
    host.readIfPresent(paths.nvidiaGpuInformation(a)).flatMap(ProcFormats::nvidiaMinor)
        .ifPresent(minor -> files.add(DeviceNodes.nvidia(minor)));
    return files;
  }
}
