package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.ApiCluster.device;
import static io.gpupassthrough.operator.ApiCluster.gpt;
import static io.gpupassthrough.operator.ApiCluster.vendors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Deleting a resource whose GPU a VM still holds, against the real API server with the operator
 * as its ServiceAccount: the node answers {@code Waiting}, the deletion shows who keeps it and
 * waits; once the node answers {@code Done} it completes.
 */
class RestoreWaitingIT {
  static ApiCluster cluster;

  @BeforeAll
  static void start() {
    cluster = ApiCluster.start().startOperator(Duration.ofMinutes(5));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static RestoreResult answer(RestoreResult.State state, String message) {
    RestoreResult r = new RestoreResult();
    r.setOwner("a10");
    r.setState(state);
    r.setMessage(message);
    if (state == RestoreResult.State.DONE) {
      r.setRestored(List.of("0000:41:00.0"));
    }
    return r;
  }

  @Test
  void aHeldDeviceKeepsTheDeletionProgressingWithTheHolderNamedUntilItIsReleased() {
    cluster.node("gpu-node-1", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("gpu-node-1") != null);
    cluster.report("gpu-node-1", List.of(device("a10", "0000:41:00.0", "nvidia.com/GA102GL_A10", true, null)), List.of());
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.get("a10").getStatus().getDevicesAdvertised() == 1);

    cluster.delete("a10");
    await().atMost(Duration.ofSeconds(30)).until(() -> !cluster.state("gpu-node-1").getSpec().getRestore().isEmpty());
    String waiting = "waiting for pod default/virt-launcher-vm1-x to release 0000:41:00.0 (pod"
        + " default/virt-launcher-vm1-x (container compute)); it stays on vfio-pci until then";
    cluster.report("gpu-node-1", List.of(device("a10", "0000:41:00.0", null, false, Reason.DEVICE_IN_USE)),
        List.of(answer(RestoreResult.State.WAITING, waiting)));

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Condition progressing = GpuPassthroughOperatorIT.condition(cluster.get("a10"), "Progressing").orElse(null);
      assertThat(progressing).isNotNull();
      assertThat(progressing.getStatus()).isEqualTo("True");
      assertThat(progressing.getReason()).isEqualTo("Restoring");
      assertThat(progressing.getMessage()).contains("gpu-node-1: waiting for pod default/virt-launcher-vm1-x to release 0000:41:00.0");
    });
    assertThat(cluster.get("a10")).as("the finalizer keeps it while the device is held").isNotNull();

    cluster.report("gpu-node-1", List.of(), List.of(answer(RestoreResult.State.DONE, "back on the original drivers: 0000:41:00.0")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.get("a10") == null);
  }
}
