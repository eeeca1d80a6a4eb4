package io.gpupassthrough.operator;

import static io.gpupassthrough.operator.ApiCluster.NAMESPACE;
import static io.gpupassthrough.operator.ApiCluster.gpt;
import static io.gpupassthrough.operator.ApiCluster.vendors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * With leader election on (the default in deploy/), the operator reconciles only after taking the
 * Lease, and keeps it: renewals (PATCH, by fabric8's LeaderElector) must pass the Role of
 * deploy/base/operator/rbac.yaml, or the operator loses the Lease and exits one renew deadline
 * after it starts.
 */
class LeaderElectionIT {
  static ApiCluster cluster;

  @BeforeAll
  static void start() {
    cluster = ApiCluster.start().startOperator(Duration.ofMinutes(5), true);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void takesTheLeaseReconcilesAndKeepsRenewingPastTheRenewDeadline() {
    cluster.node("gpu-a", Map.of());
    cluster.create(gpt("a10", Map.of(), vendors("10de")));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(lease()).isNotNull();
      assertThat(lease().getSpec().getHolderIdentity()).isNotBlank();
      assertThat(cluster.state("gpu-a")).isNotNull();
      assertThat(cluster.get("a10").getStatus()).isNotNull();
    });
    String holder = lease().getSpec().getHolderIdentity();

    // Renewals every retry period; watch them for longer than the renew deadline, after which a
    // leader whose renewals fail gives the Lease up.
    Duration renewDeadline = LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE;
    Set<ZonedDateTime> renewals = new ConcurrentSkipListSet<>();
    await().atMost(renewDeadline.multipliedBy(3)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      renewals.add(lease().getSpec().getRenewTime());
      assertThat(cluster.leaseLost).as("times the operator lost its Lease").hasValue(0);
      assertThat(renewals).as("distinct renewTime values seen").hasSizeGreaterThan(
          (int) (renewDeadline.toMillis() / LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE.toMillis()));
    });
    assertThat(lease().getSpec().getHolderIdentity()).isEqualTo(holder);
    assertThat(cluster.leaseLost).hasValue(0);
  }

  static Lease lease() {
    return cluster.admin.leases().inNamespace(NAMESPACE).withName(OperatorConfig.LEASE_NAME).get();
  }
}
