package io.gpupassthrough.node.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.KubeletRegistration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NodeStatusRecorderTest {
  private static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");
  private static final Instant T1 = Instant.parse("2026-01-01T10:05:00Z");

  private static GpuPassthroughNodeStatus built(Optional<String> hostProblem) {
    return NodeStatusBuilder.build(new PassResult(1, List.of(), List.of(), List.of(), hostProblem), Map.of(), Map.of());
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

  private static GpuPassthroughNodeStatus device(KubeletRegistration kubelet, String since) {
    DeviceStatus d = new DeviceStatus();
    d.setAddress("0000:01:00.0");
    d.setOwner("a");
    d.setKubelet(kubelet);
    d.setRegisteredSince(since);
    GpuPassthroughNodeStatus s = new GpuPassthroughNodeStatus();
    s.setDevices(new ArrayList<>(List.of(d)));
    return s;
  }

  /** A restarted agent registers again; the status it finds already says Registered: no change. */
  @Test
  void stillRegisteredKeepsRegisteredSinceSoARestartIsNotAWrite() {
    GpuPassthroughNodeStatus written = device(KubeletRegistration.REGISTERED, T0.toString());

    GpuPassthroughNodeStatus next = NodeStatusRecorder.stamped(device(KubeletRegistration.REGISTERED, T1.toString()), written, T1);

    assertThat(next.getDevices().get(0).getRegisteredSince()).isEqualTo(T0.toString());
  }

  @Test
  void registeredAgainAfterAReportedGapGetsTheNewTime() {
    GpuPassthroughNodeStatus serving = device(KubeletRegistration.SERVING, null);

    GpuPassthroughNodeStatus next = NodeStatusRecorder.stamped(device(KubeletRegistration.REGISTERED, T1.toString()), serving, T1);

    assertThat(next.getDevices().get(0).getRegisteredSince()).isEqualTo(T1.toString());
    assertThat(NodeStatusRecorder.stamped(device(KubeletRegistration.SERVING, null), next, T1).getDevices().get(0)
        .getRegisteredSince()).isNull();
  }
}
