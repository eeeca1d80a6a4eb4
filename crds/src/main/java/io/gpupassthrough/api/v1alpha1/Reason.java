package io.gpupassthrough.api.v1alpha1;

/**
 * Why a device is not (or not yet) advertised, or what went wrong with it. One list shared by the
 * CLI's JSON output, {@code GpuPassthroughNode} status, conditions and metrics, so an admin can
 * search the README's troubleshooting table for the exact code they see.
 */
public enum Reason {
  /** The device has no {@code iommu_group} link: the IOMMU is off or absent. */
  NO_IOMMU("NoIommu"),
  /** Another member of the IOMMU group is bound to a driver that is in use. */
  IOMMU_GROUP_IN_USE("IommuGroupInUse"),
  /** A firmware framebuffer range (BOOTFB) overlaps a BAR and no driver can release it. */
  FIRMWARE_FRAMEBUFFER_HELD("FirmwareFramebufferHeld"),
  /** The PCI class is not a display controller this project passes through. */
  UNSUPPORTED_CLASS("UnsupportedClass"),
  /** Bound to a host driver other than vfio-pci and policy does not allow taking it. */
  BOUND_TO_HOST_DRIVER("BoundToHostDriver"),
  /** Console conflicts exist and {@code consoleConflicts: Fail} forbids detaching them. */
  CONSOLE_CONFLICT("ConsoleConflict"),
  /** The bind to vfio-pci was written but verification found it did not take. */
  BIND_FAILED("BindFailed"),
  /** {@code /sys/bus/pci/drivers/vfio-pci} is missing: the module is not loaded on the node. */
  VFIO_PCI_NOT_LOADED("VfioPciNotLoaded"),
  /** A step failed and the device was rolled back to its original driver. */
  ROLLED_BACK("RolledBack"),
  /** The device vanished from sysfs during the run. */
  DEVICE_GONE("DeviceGone"),
  /** A sysfs or procfs file could not be read or parsed. */
  HOST_READ_ERROR("HostReadError"),
  /** Was on vfio-pci and verified, but its driver link or group node is gone now. */
  UNHEALTHY("Unhealthy"),
  /**
   * Verified and healthy, but the kubelet has not registered the plugin serving it (no
   * {@code kubelet.sock}, no answer, or a refusal; the device's {@code kubelet} field says which).
   */
  NOT_REGISTERED("NotRegistered"),
  /** Two GpuPassthrough resources select this device; the later one is not applied. */
  CLAIM_CONFLICT("ClaimConflict"),
  /** Not matched by any device selector on this node. */
  NOT_SELECTED("NotSelected"),
  /** The GpuPassthrough spec failed validation; the message names the field and the expected form. */
  INVALID_SPEC("InvalidSpec");

  private final String code;

  Reason(String code) {
    this.code = code;
  }

  /** The CamelCase code written to status, JSON and metrics labels. */
  @com.fasterxml.jackson.annotation.JsonValue
  public String code() {
    return code;
  }

  /** Parses a code as written by {@link #code()}. */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static Reason fromCode(String code) {
    for (Reason r : values()) {
      if (r.code.equals(code)) {
        return r;
      }
    }
    throw new IllegalArgumentException(
        "unknown reason code '" + code + "'; expected one of " + java.util.Arrays.toString(values()));
  }

  @Override
  public String toString() {
    return code;
  }
}
