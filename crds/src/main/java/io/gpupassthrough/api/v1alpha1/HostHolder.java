package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Size;

/**
 * A process on the node with one of the device's files open ({@code /dev/vfio/<group>}, its
 * iommufd cdev, its DRM or sound nodes, {@code /dev/nvidia<minor>}), found in {@code /proc/<pid>/fd}.
 */
public class HostHolder {
  private Long pid;

  @Size(max = ApiPatterns.MAX_HOLDER_TEXT_LENGTH)
  private String command;

  @Size(max = ApiPatterns.MAX_HOLDER_TEXT_LENGTH)
  private String containerId;

  @Size(max = ApiPatterns.MAX_HOLDER_TEXT_LENGTH)
  private String file;

  public HostHolder() {}

  /** The process ID in the node's (the host's) PID namespace. */
  public Long getPid() {
    return pid;
  }

  public void setPid(Long pid) {
    this.pid = pid;
  }

  /** {@code comm} and the start of the command line, e.g. {@code qemu-kvm (/usr/libexec/qemu-kvm -name ...)}. */
  public String getCommand() {
    return command;
  }

  public void setCommand(String command) {
    this.command = command;
  }

  /** The container (64 hex digits from {@code /proc/<pid>/cgroup}); null for a process outside any. */
  public String getContainerId() {
    return containerId;
  }

  public void setContainerId(String containerId) {
    this.containerId = containerId;
  }

  /** The device file it holds open, as the node names it, e.g. {@code /dev/vfio/12}. */
  public String getFile() {
    return file;
  }

  public void setFile(String file) {
    this.file = file;
  }
}
