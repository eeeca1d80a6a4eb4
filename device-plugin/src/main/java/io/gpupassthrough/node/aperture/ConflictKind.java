package io.gpupassthrough.node.aperture;

/** What stands on a GPU's BARs; {@link #json()} is the fixed {@code kind} of scan's JSON. */
public enum ConflictKind {
  /** A framebuffer driver's /proc/iomem range (efifb, vesafb, simpledrm) or firmware's BOOTFB. */
  FRAMEBUFFER("framebuffer"),
  /** A VT console drawn by fbcon on a framebuffer that is going away. */
  VTCONSOLE("vtconsole"),
  /** vgacon on the legacy VGA range of the boot VGA device. */
  VGACON("vgacon");

  private final String json;

  ConflictKind(String json) {
    this.json = json;
  }

  public String json() {
    return json;
  }
}
