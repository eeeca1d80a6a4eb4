package io.gpupassthrough.operator.status;

/** The condition types of {@code GpuPassthrough} status (DESIGN §3, plus KubeVirt's wiring). */
public enum ConditionType {
  READY("Ready", "False"),
  PROGRESSING("Progressing", "False"),
  DEGRADED("Degraded", "False"),
  CONFLICT("Conflict", "False"),
  /** The devices are in KubeVirt's permittedHostDevices; False says why not (KubeVirt missing, opted out). */
  KUBEVIRT_PERMITTED("KubeVirtPermitted", "True");

  private final String type;
  private final String assumed;

  ConditionType(String type, String assumed) {
    this.type = type;
    this.assumed = assumed;
  }

  public String type() {
    return type;
  }

  /**
   * The status taken for granted before a condition is first written: a first write that differs
   * from it is announced as an Event (so a new resource on a cluster without KubeVirt gets its
   * KubeVirtNotInstalled Warning, while a first Ready=False while nodes sync stays quiet).
   */
  public String assumed() {
    return assumed;
  }

  /** The assumed status of {@code type}; "False" for a type this version does not know. */
  public static String assumed(String type) {
    for (ConditionType t : values()) {
      if (t.type.equals(type)) {
        return t.assumed;
      }
    }
    return "False";
  }
}
