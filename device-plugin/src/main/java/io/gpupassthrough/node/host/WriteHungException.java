package io.gpupassthrough.node.host;

import java.nio.file.Path;
import java.time.Instant;

/**
 * A sysfs write is blocked in the kernel: either this write passed its deadline, or an earlier
 * write for the same target still is, and this one was not even started (queuing it behind the
 * blocked one would block it too: the kernel holds the device lock for the whole write).
 */
public final class WriteHungException extends HostWriteException {
  private static final long serialVersionUID = 1L;
  private final transient HungWrite hung;

  /** The message names the attribute as the host does ({@code /sys/...}), not under the host root. */
  WriteHungException(String hostPath, String value, HungWrite hung, boolean earlier, Instant now) {
    super(Path.of(hostPath), value, earlier
        ? "not written: an earlier write for " + hung.target() + " is still blocked ("
            + hung.describe(now) + "); the agent writes nothing more for it until that one returns"
        : "still blocked in the kernel after the write deadline (" + hung.seconds(now)
            + " s); the write was abandoned on its own thread and completes when the kernel lets"
            + " it (for vfio-pci: when the device's users close it; see dmesg)");
    this.hung = hung;
  }

  public HungWrite hung() {
    return hung;
  }
}
