package io.gpupassthrough.node.host;

import java.nio.file.Path;

/**
 * A host file could not be read or did not have the kernel's format. The message names the file
 * (and line), what was found and what was expected, so an admin can check it by hand.
 */
public class HostReadException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient Path file;

  public HostReadException(Path file, String problem) {
    super(file + ": " + problem);
    this.file = file;
  }

  public HostReadException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
    this.file = file;
  }

  public HostReadException(Path file, int line, String problem) {
    super(file + " line " + line + ": " + problem);
    this.file = file;
  }

  public Path file() {
    return file;
  }
}
