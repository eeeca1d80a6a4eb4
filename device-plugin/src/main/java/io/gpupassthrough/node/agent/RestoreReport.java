package io.gpupassthrough.node.agent;

import java.util.List;

/**
 * The answer to one restore request: {@code done} when every requested device is back on its
 * original driver (or had none recorded to go back to); {@code message} names what failed.
 */
public record RestoreReport(String owner, boolean done, List<String> restored, String message) {
  public RestoreReport {
    restored = List.copyOf(restored);
  }
}
