package io.gpupassthrough.node.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NodeStatusRecorderTest {
  private static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");
  private static final Instant T1 = Instant.parse("2026-01-01T10:05:00Z");

  private static GpuPassthroughNodeStatus built(Optional<String> hostProblem) {
    return NodeStatusBuilder.build(new PassResult(1, List.of(), List.of(), List.of(), hostProblem), Map.of());
  }

  @Test
  void unchangedConditionKeepsItsTransitionTimeAndLastSyncMoves() {
    GpuPassthroughNodeStatus first = NodeStatusRecorder.stamped(built(Optional.empty()), null, T0);
    GpuPassthroughNodeStatus again = NodeStatusRecorder.stamped(built(Optional.empty()), first, T1);

    assertThat(again.getConditions()).allSatisfy(c -> assertThat(c.getLastTransitionTime()).isEqualTo(T0.toString()));
    assertThat(again.getLastSync()).isEqualTo(T1.toString());
  }

  @Test
  void flippedConditionGetsANewTransitionTime() {
    GpuPassthroughNodeStatus first = NodeStatusRecorder.stamped(built(Optional.empty()), null, T0);
    GpuPassthroughNodeStatus broken = NodeStatusRecorder.stamped(built(Optional.of("/proc/iomem unreadable")), first, T1);

    assertThat(broken.getConditions()).allSatisfy(c -> assertThat(c.getLastTransitionTime()).isEqualTo(T1.toString()));
  }
}
