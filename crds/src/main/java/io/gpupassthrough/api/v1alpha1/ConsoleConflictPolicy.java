package io.gpupassthrough.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What the node agent does about console framebuffers and VT consoles that overlap a GPU's BARs. */
public enum ConsoleConflictPolicy {
  /** Detach exactly the conflicting consoles and framebuffer drivers, then bind (the default). */
  @JsonProperty("Detach")
  DETACH,
  /** Refuse the device with reason {@code ConsoleConflict} when any conflict exists. */
  @JsonProperty("Fail")
  FAIL,
  /** Bind without detaching; only sensible when the kernel evicts the framebuffer itself. */
  @JsonProperty("Ignore")
  IGNORE
}
