package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.MockCluster.NAMESPACE;
import static io.gpupassthrough.operator.MockCluster.gpt;
import static io.gpupassthrough.operator.MockCluster.vendors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** With leader election on (the default in deploy/), the operator reconciles only after taking the Lease. */
class LeaderElectionIT {
  private MockCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = new MockCluster().start(Duration.ofMinutes(5), true);
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void takesTheLeaseThenReconciles() {
    cluster.node("gpu-a", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Lease lease = cluster.client.leases().inNamespace(NAMESPACE).withName(OperatorConfig.LEASE_NAME).get();
      assertThat(lease).isNotNull();
      assertThat(lease.getSpec().getHolderIdentity()).isNotBlank();
      assertThat(cluster.state("gpu-a")).isNotNull();
      assertThat(cluster.get("a10").getStatus()).isNotNull();
    });
  }
}
