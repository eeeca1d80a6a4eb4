package io.gpupassthrough.node.agent;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus.Action;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.Conflict.Release;
import io.gpupassthrough.node.aperture.Step;
import io.gpupassthrough.node.agent.DeviceReport.ConflictReport;
import io.gpupassthrough.node.vfio.DeviceOutcome;
import io.gpupassthrough.node.vfio.StepRecord;
import java.util.ArrayList;
import java.util.List;

/** Pure: what was done about each console conflict of a device, from the executor's outcome. */
public final class ConflictActions {
  private ConflictActions() {}

  public static List<ConflictReport> of(DeviceOutcome outcome, ConsoleConflictPolicy policy) {
    List<ConflictReport> out = new ArrayList<>();
    for (Conflict c : outcome.conflicts()) {
      out.add(new ConflictReport(c, action(outcome, policy, c)));
    }
    return out;
  }

  static Action action(DeviceOutcome outcome, ConsoleConflictPolicy policy, Conflict c) {
    return switch (outcome.result()) {
      // Already on vfio-pci: adopted as found, nothing was touched, whatever is still there stays.
      case ALREADY_PREPARED -> Action.IGNORED;
      case REFUSED, PLANNED -> c.release() == Release.NONE ? Action.FAILED : Action.REFUSED;
      // Rolled back: the consoles were given back too, and the device is not advertised.
      case FAILED -> Action.FAILED;
      case PREPARED -> prepared(outcome, policy, c);
    };
  }

  private static Action prepared(DeviceOutcome outcome, ConsoleConflictPolicy policy, Conflict c) {
    switch (c.release()) {
      case WITH_GPU_DRIVER:
        return Action.DETACHED; // went with the unbind of the GPU's own driver
      case KERNEL_ON_BIND:
        return Action.ALREADY_RELEASED; // vfio-pci evicted it itself (Linux >= 6.0, class 0x0300)
      case NONE:
        return Action.IGNORED; // only reachable under Ignore: the engine refuses it otherwise
      default:
        break;
    }
    if (policy == ConsoleConflictPolicy.IGNORE) {
      return Action.IGNORED;
    }
    for (StepRecord r : outcome.steps()) {
      if (isStepFor(r.step(), c)) {
        return r.status() == StepRecord.Status.DONE ? Action.DETACHED : Action.ALREADY_RELEASED;
      }
    }
    return Action.ALREADY_RELEASED;
  }

  private static boolean isStepFor(Step step, Conflict c) {
    if (step instanceof Step.UnbindVtConsole v) {
      return v.vtcon().equals(c.name());
    }
    if (step instanceof Step.UnbindPlatformDriver p) {
      return p.device().equals(c.name());
    }
    return false;
  }
}
