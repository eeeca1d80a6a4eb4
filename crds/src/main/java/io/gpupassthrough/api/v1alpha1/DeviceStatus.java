package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Pattern;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's truth about one GPU it matched on its node. Companions (functions of the same IOMMU
 * group) are listed in {@link #getIommuGroupMembers()}, not as devices of their own. When
 * {@link #getAdvertised()} is false, {@link #getReason()} says why in a code the README's
 * troubleshooting table explains, and {@link #getMessage()} says it for a human. Advertised means
 * what a pod can rely on: verified on vfio-pci, healthy, and {@link #getKubelet()} registered; a
 * device that is only served on a socket nobody dialled is not advertised.
 */
public class DeviceStatus {
  @Pattern(ApiPatterns.PCI_ADDRESS)
  private String address;

  @Pattern(ApiPatterns.PCI_ID)
  private String vendor;

  @Pattern(ApiPatterns.PCI_ID)
  private String device;

  private String vendorName;
  private String deviceName;
  private String pciClass;
  private Integer iommuGroup;
  private List<String> iommuGroupMembers = new ArrayList<>();
  private Integer numaNode;
  private String driver;
  private String originalDriver;
  private String owner;
  private String resourceName;
  private DeviceHealth health = DeviceHealth.UNKNOWN;
  private List<ConsoleConflictStatus> consoleConflicts = new ArrayList<>();
  private KubeletRegistration kubelet = KubeletRegistration.NOT_SERVING;
  private String registeredSince;
  private Boolean advertised = Boolean.FALSE;
  private Reason reason;
  private String message;

  public DeviceStatus() {}

  /** PCI address, e.g. {@code 0000:01:00.0}; also the kubelet device ID. */
  public String getAddress() {
    return address;
  }

  public void setAddress(String address) {
    this.address = address;
  }

  /** Vendor ID, hex without 0x, e.g. {@code 10de}. */
  public String getVendor() {
    return vendor;
  }

  public void setVendor(String vendor) {
    this.vendor = vendor;
  }

  /** Device ID, hex without 0x, e.g. {@code 2236}. */
  public String getDevice() {
    return device;
  }

  public void setDevice(String device) {
    this.device = device;
  }

  /** Vendor name from pci.ids, when known. */
  public String getVendorName() {
    return vendorName;
  }

  public void setVendorName(String vendorName) {
    this.vendorName = vendorName;
  }

  /** Device name from pci.ids, when known, e.g. {@code GA102GL [A10]}. */
  public String getDeviceName() {
    return deviceName;
  }

  public void setDeviceName(String deviceName) {
    this.deviceName = deviceName;
  }

  /** PCI class code as sysfs has it without 0x, e.g. {@code 030000}. */
  public String getPciClass() {
    return pciClass;
  }

  public void setPciClass(String pciClass) {
    this.pciClass = pciClass;
  }

  /** IOMMU group number; null when the device has no IOMMU group. */
  public Integer getIommuGroup() {
    return iommuGroup;
  }

  public void setIommuGroup(Integer iommuGroup) {
    this.iommuGroup = iommuGroup;
  }

  /** Every PCI address in the IOMMU group, this device included. */
  public List<String> getIommuGroupMembers() {
    return iommuGroupMembers;
  }

  public void setIommuGroupMembers(List<String> iommuGroupMembers) {
    this.iommuGroupMembers = iommuGroupMembers;
  }

  /** NUMA node from sysfs; null when the platform reports -1. */
  public Integer getNumaNode() {
    return numaNode;
  }

  public void setNumaNode(Integer numaNode) {
    this.numaNode = numaNode;
  }

  /** The driver bound now; null when none. */
  public String getDriver() {
    return driver;
  }

  public void setDriver(String driver) {
    this.driver = driver;
  }

  /** The driver bound before the agent took the device (what a restore gives it back to). */
  public String getOriginalDriver() {
    return originalDriver;
  }

  public void setOriginalDriver(String originalDriver) {
    this.originalDriver = originalDriver;
  }

  /** The {@link GpuPassthrough} whose claim matched this device. */
  public String getOwner() {
    return owner;
  }

  public void setOwner(String owner) {
    this.owner = owner;
  }

  /**
   * The resource name the device is (or would be) advertised under: the claim's explicit name or
   * the default the agent derived from pci.ids. The operator permits exactly this in KubeVirt.
   */
  public String getResourceName() {
    return resourceName;
  }

  public void setResourceName(String resourceName) {
    this.resourceName = resourceName;
  }

  public DeviceHealth getHealth() {
    return health;
  }

  public void setHealth(DeviceHealth health) {
    this.health = health;
  }

  /** Consoles and framebuffers found overlapping this device's BARs, and what was done. */
  public List<ConsoleConflictStatus> getConsoleConflicts() {
    return consoleConflicts;
  }

  public void setConsoleConflicts(List<ConsoleConflictStatus> consoleConflicts) {
    this.consoleConflicts = consoleConflicts;
  }

  /** Where the plugin serving this device stands with the kubelet. */
  public KubeletRegistration getKubelet() {
    return kubelet;
  }

  public void setKubelet(KubeletRegistration kubelet) {
    this.kubelet = kubelet;
  }

  /**
   * RFC 3339 time (seconds) since which the status has said {@code Registered} without a break;
   * null unless {@link #getKubelet()} is {@code Registered}. Like a condition's
   * {@code lastTransitionTime} it is kept while the state holds, so an agent or kubelet restart
   * whose re-registration no status write ever showed as a gap does not move it (and costs no
   * write). Every registration itself is in the agent's log and its
   * {@code gpupt_registrations_total} metric.
   */
  public String getRegisteredSince() {
    return registeredSince;
  }

  public void setRegisteredSince(String registeredSince) {
    this.registeredSince = registeredSince;
  }

  /**
   * True when a pod can be given the device: verified on vfio-pci, healthy, and registered with the
   * kubelet ({@link #getKubelet()} {@code Registered}).
   */
  public Boolean getAdvertised() {
    return advertised;
  }

  public void setAdvertised(Boolean advertised) {
    this.advertised = advertised;
  }

  /** Why the device is not advertised; null when it is. */
  public Reason getReason() {
    return reason;
  }

  public void setReason(Reason reason) {
    this.reason = reason;
  }

  /** The same for a human: what failed, where, and what to do. */
  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }
}
