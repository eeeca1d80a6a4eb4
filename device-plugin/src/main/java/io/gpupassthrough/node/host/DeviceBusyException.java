package io.gpupassthrough.node.host;

import java.nio.file.Path;

/**
 * A read that would block: the attribute's show method takes the device lock, which a blocked
 * write for the same device holds (PCI {@code driver_override} does on Linux 6.1, seen on
 * Debian's 6.1.0-57; not on 6.12). Readers treat the value as unknown instead of waiting.
 */
public final class DeviceBusyException extends HostReadException {
  private static final long serialVersionUID = 1L;

  DeviceBusyException(Path file, HungWrite hung) {
    super(file, "not read: it takes the device lock, held by a blocked write (" + hung.attribute()
        + " <- " + hung.value().strip() + ")");
  }
}
