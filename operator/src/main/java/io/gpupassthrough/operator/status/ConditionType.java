package io.gpupassthrough.operator.status;

/** The condition types of {@code GpuPassthrough} status (DESIGN §3). */
public enum ConditionType {
  READY("Ready"),
  PROGRESSING("Progressing"),
  DEGRADED("Degraded"),
  CONFLICT("Conflict");

  private final String type;

  ConditionType(String type) {
    this.type = type;
  }

  public String type() {
    return type;
  }
}
