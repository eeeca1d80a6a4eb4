package io.gpupassthrough.node.host;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * A sysfs write that had not returned when its deadline passed. The thread doing it was
 * abandoned (a thread blocked in {@code write(2)} cannot be interrupted): it finishes, or not,
 * whenever the kernel lets it.
 *
 * @param target what the write is about ({@link WriteTarget}): a PCI address, a platform device,
 *     a VT console
 * @param attribute the sysfs file, as the host names it ({@code /sys/bus/pci/drivers/vfio-pci/unbind})
 */
public record HungWrite(String target, String attribute, String value, Instant since) {
  /** How long it has been blocked at {@code now}, in whole seconds. */
  public long seconds(Instant now) {
    return Math.max(0, Duration.between(since, now).toSeconds());
  }

  /** {@code writing '0000:41:00.0' to /sys/bus/pci/drivers/vfio-pci/unbind has been blocked for 31 s}. */
  public String describe(Instant now) {
    return "writing '" + value.strip() + "' to " + attribute + " has been blocked in the kernel for "
        + seconds(now) + " s (since " + since.truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + ")";
  }

  static HungWrite of(String target, SysfsPaths paths, Path attribute, String value, Instant since) {
    return new HungWrite(target, paths.hostView(attribute), value, since);
  }
}
