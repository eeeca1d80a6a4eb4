package io.gpupassthrough.node.vfio;

import io.gpupassthrough.api.v1alpha1.Reason;

/** A step whose write was refused or whose effect could not be verified. */
final class StepFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Reason reason;

  StepFailure(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  Reason reason() {
    return reason;
  }
}
