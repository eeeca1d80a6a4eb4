package io.gpupassthrough.node.aperture;

/** What the engine decided for one selected device. */
public enum Disposition {
  /** Steps are planned; the executor will carry them out and verify. */
  READY,
  /** Already verified on vfio-pci with its whole group: nothing to do. */
  ALREADY_PREPARED,
  /** Not prepared; the refusal says why. */
  REFUSED
}
