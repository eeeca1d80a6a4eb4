package io.gpupassthrough.node.plugin;

import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.host.SnapshotReader;
import io.gpupassthrough.node.host.SysfsPaths;
import io.gpupassthrough.node.vfio.Health;
import io.gpupassthrough.node.vfio.Verifier;
import io.gpupassthrough.node.vfio.VfioGpu;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The plugin's view of a real (or simulated) host: GPUs verified on vfio-pci, each re-checked by
 * the {@link Verifier}'s live check on every call (a few stat/readlink calls per device, cheap at
 * 4 Hz), and a full snapshot only every {@code rescan} to pick up GPUs that were prepared since.
 */
public final class HostDeviceInventory implements DeviceInventory {
  private final HostRoot host;
  private final SysfsPaths paths;
  private final SnapshotReader reader;
  private final Verifier verifier;
  private final long rescanNanos;
  private final Map<PciAddress, AdvertisedDevice> known = new LinkedHashMap<>();
  private long lastScan;
  private boolean scanned;

  public HostDeviceInventory(HostRoot host, Duration rescan) {
    this.host = host;
    this.paths = host.paths();
    this.reader = new SnapshotReader(host);
    this.verifier = new Verifier(host);
    this.rescanNanos = rescan.toNanos();
  }

  @Override
  public synchronized List<AdvertisedDevice> devices() {
    long now = System.nanoTime();
    if (!scanned || now - lastScan >= rescanNanos) {
      for (VfioGpu gpu : Verifier.verifiedGpus(reader.read())) {
        known.putIfAbsent(gpu.device().address(), describe(gpu));
      }
      lastScan = now;
      scanned = true;
    }
    List<AdvertisedDevice> out = new ArrayList<>(known.size());
    for (Map.Entry<PciAddress, AdvertisedDevice> e : known.entrySet()) {
      Health health = verifier.check(e.getKey());
      if (!health.healthy() && !host.exists(paths.pciDevice(e.getKey()))) {
        continue; // removed from the bus: the advertiser keeps it listed as unhealthy
      }
      AdvertisedDevice d = e.getValue();
      out.add(health.healthy() ? d : d.unhealthy(describe(health)));
    }
    return out;
  }

  /** Live re-check for PreStartContainer, independent of the poll. */
  @Override
  public Optional<String> problem(String address) {
    Health health = verifier.check(PciAddress.parse(address));
    return health.healthy() ? Optional.empty() : Optional.of(describe(health));
  }

  private static String describe(Health health) {
    return health.message() + health.reason().map(r -> " [" + r.code() + "]").orElse("");
  }

  private AdvertisedDevice describe(VfioGpu gpu) {
    PciDevice d = gpu.device();
    return new AdvertisedDevice(
        d.address().toString(),
        d.vendor(),
        d.device(),
        d.deviceName(),
        gpu.group().number(),
        d.numaNode() < 0 ? OptionalInt.empty() : OptionalInt.of(d.numaNode()),
        iommufdCdev(d.address()),
        DeviceHealth.HEALTHY,
        Optional.empty());
  }

  /**
   * The device's iommufd cdev ({@code vfio-dev/vfioN} in its sysfs directory, Linux 6.2+), when
   * both {@code /dev/iommu} and {@code /dev/vfio/devices/vfioN} exist on the host.
   */
  private Optional<String> iommufdCdev(PciAddress address) {
    if (!host.exists(paths.iommufd())) {
      return Optional.empty();
    }
    for (String name : host.list(paths.pciAttribute(address, "vfio-dev"))) {
      Path node = paths.devVfio().resolve("devices").resolve(name);
      if (name.startsWith("vfio") && host.exists(node)) {
        return Optional.of(name);
      }
    }
    return Optional.empty();
  }
}
