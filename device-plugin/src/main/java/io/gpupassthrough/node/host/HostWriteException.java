package io.gpupassthrough.node.host;

import java.nio.file.Path;

/** A sysfs write was refused (the kernel returns an errno from the attribute's store method). */
public class HostWriteException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient Path file;

  public HostWriteException(Path file, String value, String problem) {
    super("writing '" + value + "' to " + file + " failed: " + problem);
    this.file = file;
  }

  public HostWriteException(Path file, String value, String problem, Throwable cause) {
    super("writing '" + value + "' to " + file + " failed: " + problem, cause);
    this.file = file;
  }

  public Path file() {
    return file;
  }
}
