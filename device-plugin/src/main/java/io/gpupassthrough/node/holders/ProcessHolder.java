package io.gpupassthrough.node.holders;

import java.util.Objects;
import java.util.Optional;

/**
 * A process with one of a device's files open.
 *
 * @param pid in the PID namespace of the host root's {@code /proc} (the node's, for the agent)
 * @param comm the kernel's short name ({@code /proc/<pid>/comm}, at most 15 characters)
 * @param commandLine {@code cmdline} as one line, possibly cut; empty for kernel threads and zombies
 * @param containerId from the process's cgroup path, when it runs in a container
 * @param podUid from the process's cgroup path, when it runs in a kubelet pod
 * @param file the device file it holds, as the host names it ({@code /dev/vfio/12})
 */
public record ProcessHolder(long pid, String comm, String commandLine, Optional<String> containerId,
    Optional<String> podUid, String file) {
  public ProcessHolder {
    Objects.requireNonNull(comm, "comm");
    Objects.requireNonNull(commandLine, "commandLine");
    Objects.requireNonNull(file, "file");
  }

  /** {@code pid 4242 qemu-kvm (container 3f2a1b2c3d4e) has /dev/vfio/12 open}. */
  public String describe() {
    return "pid " + pid + " " + comm
        + containerId.map(c -> " (container " + c.substring(0, Math.min(12, c.length())) + ")").orElse("")
        + " has " + file + " open";
  }

  /** {@code comm} and, when it adds anything, the command line: what status shows. */
  public String command() {
    return commandLine.isEmpty() || commandLine.equals(comm) ? comm : comm + " (" + commandLine + ")";
  }
}
