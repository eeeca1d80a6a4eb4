package io.gpupassthrough.node.host;

import java.nio.file.Path;

/**
 * A read that would block: the attribute's show method takes the device lock, which a blocked
 * write for the same device holds (PCI {@code driver_override} does, since the 2017 fix for
 * CVE-2017-12146). Readers treat the value as unknown instead of waiting for the kernel.
 */
public final class DeviceBusyException extends HostReadException {
  private static final long serialVersionUID = 1L;

  DeviceBusyException(Path file, HungWrite hung) {
    super(file, "not read: it takes the device lock, held by a blocked write (" + hung.attribute()
        + " <- " + hung.value().strip() + ")");
  }
}
