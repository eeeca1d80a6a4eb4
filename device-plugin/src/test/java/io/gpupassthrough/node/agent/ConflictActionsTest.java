package io.gpupassthrough.node.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus.Action;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.Conflict.Release;
import io.gpupassthrough.node.aperture.ConflictKind;
import io.gpupassthrough.node.aperture.DevicePlan;
import io.gpupassthrough.node.aperture.Disposition;
import io.gpupassthrough.node.aperture.Step;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.vfio.DeviceOutcome;
import io.gpupassthrough.node.vfio.DeviceOutcome.Result;
import io.gpupassthrough.node.vfio.StepRecord;
import io.gpupassthrough.node.vfio.StepRecord.Status;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConflictActionsTest {
  private static final PciAddress GPU = PciAddress.parse("0000:01:00.0");
  private static final Conflict EFIFB = new Conflict(ConflictKind.FRAMEBUFFER, "efi-framebuffer.0",
      Optional.of("efifb"), 0x80000000L, 0x802fffffL, Release.DETACH);
  private static final Step UNBIND_EFIFB =
      new Step.UnbindPlatformDriver("efi-framebuffer.0", "efi-framebuffer", "efifb on BAR0");

  private static DeviceOutcome outcome(Result result, Conflict conflict, Status stepStatus) {
    DevicePlan plan = new DevicePlan(GPU, Optional.empty(), Disposition.READY, List.of(conflict), List.of(),
        List.of(UNBIND_EFIFB), Optional.empty());
    return new DeviceOutcome(GPU, result, Optional.empty(), "", plan,
        stepStatus == null ? List.of() : List.of(new StepRecord(UNBIND_EFIFB, stepStatus, "")));
  }

  private static Conflict released(Release release) {
    return new Conflict(EFIFB.kind(), EFIFB.name(), EFIFB.driver(), EFIFB.start(), EFIFB.end(), release);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("efifb unbound by this run", outcome(Result.PREPARED, EFIFB, Status.DONE),
            ConsoleConflictPolicy.DETACH, Action.DETACHED),
        Arguments.of("efifb already gone when the step ran", outcome(Result.PREPARED, EFIFB, Status.ALREADY_DONE),
            ConsoleConflictPolicy.DETACH, Action.ALREADY_RELEASED),
        Arguments.of("BOOTFB evicted by vfio-pci itself (>= 6.0, VGA class)",
            outcome(Result.PREPARED, released(Release.KERNEL_ON_BIND), null),
            ConsoleConflictPolicy.DETACH, Action.ALREADY_RELEASED),
        Arguments.of("Ignore policy leaves the console", outcome(Result.PREPARED, EFIFB, null),
            ConsoleConflictPolicy.IGNORE, Action.IGNORED),
        Arguments.of("Fail policy refuses", outcome(Result.REFUSED, EFIFB, null),
            ConsoleConflictPolicy.FAIL, Action.REFUSED),
        Arguments.of("firmware range nothing can release", outcome(Result.REFUSED, released(Release.NONE), null),
            ConsoleConflictPolicy.DETACH, Action.FAILED),
        Arguments.of("rolled back after a failed bind", outcome(Result.FAILED, EFIFB, Status.DONE),
            ConsoleConflictPolicy.DETACH, Action.FAILED),
        Arguments.of("adopted on vfio-pci: nothing touched", outcome(Result.ALREADY_PREPARED, EFIFB, null),
            ConsoleConflictPolicy.DETACH, Action.IGNORED));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void reportsWhatWasDoneAboutEachConflict(String name, DeviceOutcome outcome,
      ConsoleConflictPolicy policy, Action expected) {
    assertThat(ConflictActions.of(outcome, policy)).singleElement()
        .satisfies(r -> assertThat(r.action()).isEqualTo(expected));
  }
}
