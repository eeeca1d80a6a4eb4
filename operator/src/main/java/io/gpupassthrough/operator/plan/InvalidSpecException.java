package io.gpupassthrough.operator.plan;

import io.gpupassthrough.api.v1alpha1.Reason;
import java.util.List;

/**
 * An expected failure: the admin's spec is wrong. It becomes a {@code Degraded}/{@code InvalidSpec}
 * condition and a Warning Event, never a retry loop. Each problem names the field, the bad value and
 * the expected form.
 */
public final class InvalidSpecException extends Exception {
  private static final long serialVersionUID = 1L;

  private final transient List<String> problems;

  public InvalidSpecException(List<String> problems) {
    super(String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }

  public Reason reason() {
    return Reason.INVALID_SPEC;
  }
}
