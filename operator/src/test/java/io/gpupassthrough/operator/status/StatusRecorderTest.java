package io.gpupassthrough.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.GpuPassthroughStatus;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StatusRecorderTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static GpuPassthroughStatus status(long generation, NodeReport... reports) {
    return StatusAggregator.aggregate(generation, null, Optional.empty(), List.of(reports), List.of(),
        StatusAggregatorTest.KV, T0);
  }

  @Test
  void countsMovingAloneIsNotAFlipSoItMayWait() {
    NodeReport waiting = new NodeReport("b", true, false, List.of());
    assertThat(StatusRecorder.flips(
        status(1, StatusAggregatorTest.ready("a", 1), waiting, waiting),
        status(1, StatusAggregatorTest.ready("a", 2), waiting, waiting))).isFalse();
  }

  @Test
  void aConditionFlipOrANewGenerationIsWrittenAtOnce() {
    NodeReport waiting = new NodeReport("b", true, false, List.of());
    assertThat(StatusRecorder.flips(status(1, waiting), status(1, StatusAggregatorTest.ready("b", 1)))).isTrue();
    assertThat(StatusRecorder.flips(status(1, waiting), status(2, waiting))).isTrue();
    assertThat(StatusRecorder.flips(null, status(1, waiting))).isTrue();
  }

  static io.fabric8.kubernetes.api.model.Condition cond(String type, String status, String reason) {
    var c = new io.fabric8.kubernetes.api.model.Condition();
    c.setType(type);
    c.setStatus(status);
    c.setReason(reason);
    return c;
  }

  @Test
  void missingKubeVirtWarnsButOptingOutDoesNot() {
    assertThat(StatusRecorder.warns(cond("KubeVirtPermitted", "False", "KubeVirtNotInstalled"))).isTrue();
    assertThat(StatusRecorder.warns(cond("KubeVirtPermitted", "False", "KubeVirtNotFound"))).isTrue();
    assertThat(StatusRecorder.warns(cond("KubeVirtPermitted", "False", "PermitDisabled"))).isFalse();
    assertThat(StatusRecorder.warns(cond("KubeVirtPermitted", "True", "PermittedInKubeVirt"))).isFalse();
    assertThat(StatusRecorder.warns(cond("Ready", "False", "NodesSyncing"))).isTrue();
    assertThat(StatusRecorder.warns(cond("Degraded", "True", "NoIommu"))).isTrue();
  }
}
