package io.gpupassthrough.node.vfio;

import io.gpupassthrough.node.aperture.Step;

/** What happened to one planned step. */
public record StepRecord(Step step, Status status, String detail) {
  /** Outcome of a step. */
  public enum Status {
    /** Written and verified. */
    DONE,
    /** The host was already in the step's target state (idempotent re-run, or a shared console). */
    ALREADY_DONE,
    /** Written, but verification failed or the kernel refused the write. */
    FAILED,
    /** Not reached because an earlier step failed. */
    NOT_RUN,
    /** Planned only ({@code --dry-run}). */
    PLANNED
  }
}
