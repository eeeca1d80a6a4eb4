package io.gpupassthrough.node.cli;

/** Exit codes of scan, prepare and restore (README, section cli). */
final class ExitCodes {
  /** Everything selected is verified on vfio-pci (scan: the scan ran). */
  static final int OK = 0;
  /** At least one selected device is not verified: refused, failed and rolled back, or absent. */
  static final int NOT_ALL_VERIFIED = 1;
  /** Bad flags (picocli's usage error code). */
  static final int USAGE = 2;
  /** The host root could not be read or has malformed kernel files; nothing was changed. */
  static final int HOST_UNREADABLE = 3;

  private ExitCodes() {}
}
