package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.MockCluster.NAMESPACE;
import static io.gpupassthrough.operator.MockCluster.device;
import static io.gpupassthrough.operator.MockCluster.gpt;
import static io.gpupassthrough.operator.MockCluster.vendors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A node that never answers (agent gone, node dead) cannot block deletion forever. */
class RestoreTimeoutIT {
  private MockCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = new MockCluster().start(Duration.ofSeconds(2));
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void deletionCompletesAfterTheRestoreTimeoutWithAWarning() {
    cluster.node("dead-node", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.state("dead-node") != null);
    cluster.report("dead-node", List.of(device("a10", "0000:01:00.0", "nvidia.com/GA102GL_A10", true, null)), List.of());
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.get("a10").getStatus().getDevicesAdvertised() == 1);

    cluster.client.resources(GpuPassthrough.class).withName("a10").delete();
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(cluster.get("a10")).isNull());
    assertThat(cluster.client.v1().events().inNamespace(NAMESPACE).list().getItems())
        .anySatisfy(e -> {
          assertThat(e.getType()).isEqualTo("Warning");
          assertThat(e.getReason()).isEqualTo("RestoreTimedOut");
          assertThat(e.getMessage()).contains("dead-node", "stay on vfio-pci");
        });
  }
}
