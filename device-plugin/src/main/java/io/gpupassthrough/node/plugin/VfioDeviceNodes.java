package io.gpupassthrough.node.plugin;

/**
 * Host paths of the VFIO device nodes a VM container needs. These are paths on the node as the
 * kubelet and container runtime see them, never prefixed with the agent's host root.
 */
public final class VfioDeviceNodes {
  /** The legacy VFIO container node, needed by every VFIO user. */
  public static final String CONTAINER = "/dev/vfio/vfio";
  /** The iommufd node (Linux 6.2+), needed together with the per-device cdev. */
  public static final String IOMMUFD = "/dev/iommu";
  /** cgroup device permissions: mknod, read, write. */
  public static final String PERMISSIONS = "mrw";

  private VfioDeviceNodes() {}

  /** {@code /dev/vfio/<group>}. */
  public static String group(int iommuGroup) {
    return "/dev/vfio/" + iommuGroup;
  }

  /** {@code /dev/vfio/devices/<cdev>}, the per-device iommufd character device. */
  public static String cdev(String name) {
    return "/dev/vfio/devices/" + name;
  }
}
