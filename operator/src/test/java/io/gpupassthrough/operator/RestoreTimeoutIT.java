package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.ApiCluster.device;
import static io.gpupassthrough.operator.ApiCluster.gpt;
import static io.gpupassthrough.operator.ApiCluster.vendors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A node that never answers (agent gone, node dead) cannot hold the finalizer forever. */
class RestoreTimeoutIT {
  static ApiCluster cluster;

  @BeforeAll
  static void start() {
    cluster = ApiCluster.start().startOperator(Duration.ofSeconds(3));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void deletionCompletesAfterTheRestoreTimeoutWithAWarning() {
    cluster.node("dead-node", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.state("dead-node") != null);
    cluster.report("dead-node", List.of(device("a10", "0000:01:00.0", "nvidia.com/GA102GL_A10", true, null)), List.of());
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.get("a10").getStatus().getDevicesAdvertised() == 1);

    cluster.delete("a10");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(cluster.get("a10")).isNull());
    assertThat(cluster.events("a10")).anySatisfy(e -> {
      assertThat(e.getType()).isEqualTo("Warning");
      assertThat(e.getReason()).isEqualTo("RestoreTimedOut");
      assertThat(e.getMessage()).contains("dead-node", "stay on vfio-pci");
    });
  }
}
