package io.gpupassthrough.node.host;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Every sysfs, procfs and /dev path the node agent touches, built in one place under a host root. */
public final class SysfsPaths {
  /** The driver vfio hands devices to. */
  public static final String VFIO_PCI = "vfio-pci";

  private final Path root;
  private final Path pciDevices;
  private final Path pciDrivers;

  public SysfsPaths(Path root) {
    this.root = root.toAbsolutePath().normalize();
    this.pciDevices = this.root.resolve("sys/bus/pci/devices");
    this.pciDrivers = this.root.resolve("sys/bus/pci/drivers");
  }

  public Path root() {
    return root;
  }

  /** {@code /sys/bus/pci/devices}: symlinks into {@code /sys/devices/pci0000:00/...}. */
  public Path pciDevices() {
    return pciDevices;
  }

  public Path pciDevice(PciAddress address) {
    return pciDevices.resolve(address.toString());
  }

  /** An attribute of a PCI device: class, vendor, resource, boot_vga, driver_override, ... */
  public Path pciAttribute(PciAddress address, String attribute) {
    return pciDevices.resolve(address.toString()).resolve(attribute);
  }

  public Path pciDriverLink(PciAddress address) {
    return pciAttribute(address, "driver");
  }

  public Path iommuGroupLink(PciAddress address) {
    return pciAttribute(address, "iommu_group");
  }

  public Path driverOverride(PciAddress address) {
    return pciAttribute(address, "driver_override");
  }

  public Path pciDrivers() {
    return pciDrivers;
  }

  public Path pciDriver(String driver) {
    return pciDrivers.resolve(driver);
  }

  public Path pciDriverUnbind(String driver) {
    return pciDrivers.resolve(driver).resolve("unbind");
  }

  public Path pciDriverBind(String driver) {
    return pciDrivers.resolve(driver).resolve("bind");
  }

  /** Writing an address here makes the kernel probe it (honouring driver_override). */
  public Path pciDriversProbe() {
    return root.resolve("sys/bus/pci/drivers_probe");
  }

  public Path iommuGroups() {
    return root.resolve("sys/kernel/iommu_groups");
  }

  public Path iommuGroupDevices(int group) {
    return iommuGroups().resolve(Integer.toString(group)).resolve("devices");
  }

  public Path platformDevices() {
    return root.resolve("sys/bus/platform/devices");
  }

  public Path platformDevice(String name) {
    return platformDevices().resolve(name);
  }

  public Path platformDriverLink(String device) {
    return platformDevices().resolve(device).resolve("driver");
  }

  public Path platformDriver(String driver) {
    return root.resolve("sys/bus/platform/drivers").resolve(driver);
  }

  public Path platformDriverUnbind(String driver) {
    return platformDriver(driver).resolve("unbind");
  }

  public Path platformDriverBind(String driver) {
    return platformDriver(driver).resolve("bind");
  }

  public Path vtConsoles() {
    return root.resolve("sys/class/vtconsole");
  }

  public Path vtConsole(String id) {
    return vtConsoles().resolve(id);
  }

  public Path vtConsoleBind(String id) {
    return vtConsoles().resolve(id).resolve("bind");
  }

  public Path graphics() {
    return root.resolve("sys/class/graphics");
  }

  public Path drmCards() {
    return root.resolve("sys/class/drm");
  }

  public Path procIomem() {
    return root.resolve("proc/iomem");
  }

  /** {@code /proc}: one directory per process of the host's PID namespace. */
  public Path proc() {
    return root.resolve("proc");
  }

  /** {@code /proc/<pid>/fd}: one symlink per open file. */
  public Path processFds(long pid) {
    return proc().resolve(Long.toString(pid)).resolve("fd");
  }

  /** {@code comm}, {@code cmdline}, {@code cgroup}, {@code fdinfo/N} of a process. */
  public Path processFile(long pid, String name) {
    return proc().resolve(Long.toString(pid)).resolve(name);
  }

  /** NVIDIA's driver: {@code Device Minor: N} in here names the GPU's {@code /dev/nvidiaN}. */
  public Path nvidiaGpuInformation(PciAddress address) {
    return proc().resolve("driver/nvidia/gpus").resolve(address.toString()).resolve("information");
  }

  /**
   * The kubelet's PodResources socket ({@code /var/lib/kubelet/pod-resources/kubelet.sock} on the
   * node; the DaemonSet mounts that directory at the same place under the host root).
   */
  public Path podResourcesSocket() {
    return root.resolve("var/lib/kubelet/pod-resources/kubelet.sock");
  }

  public Path kernelRelease() {
    return root.resolve("proc/sys/kernel/osrelease");
  }

  public Path devVfio() {
    return root.resolve("dev/vfio");
  }

  /** The vfio container node. */
  public Path vfioContainer() {
    return devVfio().resolve("vfio");
  }

  /** The per-group node a VM opens; exists once the group is bound to vfio. */
  public Path vfioGroupNode(int group) {
    return devVfio().resolve(Integer.toString(group));
  }

  /** iommufd (Linux ≥ 6.2) — handed to VMs when present. */
  public Path iommufd() {
    return root.resolve("dev/iommu");
  }

  /**
   * Environment variable naming a pci.ids file of the agent's own (outside the host root). The
   * node-agent image sets it to the copy it ships, because many nodes (minimal and immutable OSes)
   * have no pci.ids, and without names resource names fall back to hex IDs.
   */
  public static final String PCI_IDS_ENV = "GPUPT_PCI_IDS";

  /** Where distributions put pci.ids, in lookup order; the host's own copy wins over the agent's. */
  public List<Path> pciIdsCandidates() {
    List<Path> candidates = new ArrayList<>(List.of(
        root.resolve("usr/share/misc/pci.ids"),
        root.resolve("usr/share/hwdata/pci.ids"),
        root.resolve("usr/share/pci.ids")));
    String own = System.getenv(PCI_IDS_ENV);
    if (own != null && !own.isBlank()) {
      candidates.add(Path.of(own));
    }
    return List.copyOf(candidates);
  }

  /** The agent's own state (original drivers for restore), kept on the host so it survives pods. */
  public Path stateDirectory() {
    return root.resolve("var/lib/gpupassthrough");
  }

  public Path originalDrivers() {
    return stateDirectory().resolve("original-drivers.json");
  }

  /** The path as the host sees it ({@code /sys/...}), for messages. */
  public String hostView(Path path) {
    Path abs = path.toAbsolutePath().normalize();
    return abs.startsWith(root) ? "/" + root.relativize(abs) : abs.toString();
  }
}
