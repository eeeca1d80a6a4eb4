package io.gpupassthrough.node.agent;

import io.gpupassthrough.api.v1alpha1.Reason;
import java.util.List;
import java.util.Map;

/**
 * The answer to one restore request: {@code done} when every requested device is back on its
 * original driver (or had none recorded to go back to); {@code message} names what failed.
 *
 * @param waiting per GPU still held (or with a write blocked in the kernel), why: it stays on
 *     vfio-pci and the agent tries again; the request is then neither done nor failed
 */
public record RestoreReport(String owner, boolean done, List<String> restored, String message,
    Map<String, Held> waiting) {
  /** Why a GPU is not given back yet: {@code DeviceInUse} or {@code WriteHung}, and who or what. */
  public record Held(Reason reason, String message) {}

  public RestoreReport {
    restored = List.copyOf(restored);
    waiting = Map.copyOf(waiting);
  }

  public RestoreReport(String owner, boolean done, List<String> restored, String message) {
    this(owner, done, restored, message, Map.of());
  }

  public boolean isWaiting() {
    return !done && !waiting.isEmpty();
  }
}
