package io.gpupassthrough.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.gpupassthrough.operator.metrics.OperatorMetrics;
import io.gpupassthrough.operator.probes.ProbeServer;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Entry point of {@code gpupt-operator.jar}: wiring only. */
public final class GpuptOperator implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GpuptOperator.class);

  private final Operator operator;
  private final ProbeServer probes;
  private final OperatorMetrics metrics;
  private final GpuPassthroughReconciler reconciler;
  private final Runnable leaseLost;
  private volatile boolean closing;

  /** Builds and starts the operator against {@code client}; losing the Lease ends the process. */
  public GpuptOperator(KubernetesClient client, OperatorConfig config, Clock clock, PrometheusMeterRegistry registry)
      throws IOException {
    this(client, config, clock, registry, () -> System.exit(1));
  }

  /** @param leaseLost run when the Lease is lost while running (tests record it instead of exiting) */
  GpuptOperator(KubernetesClient client, OperatorConfig config, Clock clock, PrometheusMeterRegistry registry,
      Runnable leaseLost) throws IOException {
    this.leaseLost = leaseLost;
    this.metrics = new OperatorMetrics(registry);
    this.operator = new Operator(o -> {
      o.withKubernetesClient(client)
          .withCloseClientOnStop(false)
          // No server-side apply: the operator is the only writer of what it writes (the status of
          // GpuPassthrough, the spec of GpuPassthroughNode, replaced whole by FieldReplacement), so
          // field ownership would buy nothing, and JOSDK's finalizer patch stays a plain patch.
          .withSSABasedCreateUpdateMatchForDependentResources(false)
          .withUseSSAToPatchPrimaryResource(false)
          // Controller-level meters only: per-resource meters would grow with every GpuPassthrough.
          .withMetrics(MicrometerMetrics.withoutPerResourceMetrics(registry));
      if (config.leaderElection()) {
        o.withLeaderElectionConfiguration(leaderElection(config));
      }
    });
    this.reconciler = new GpuPassthroughReconciler(client, config, clock, metrics);
    operator.register(reconciler);
    operator.start();
    this.probes = new ProbeServer(config.probePort(),
        () -> !operator.getRuntimeInfo().isStarted() || operator.getRuntimeInfo().allEventSourcesAreHealthy(),
        () -> operator.getRuntimeInfo().isStarted(),
        registry);
    LOG.info("gpupt-operator started (namespace {}, agent image {}, probes on :{})", config.namespace(),
        config.agentImage(), probes.port());
  }

  /**
   * Losing the Lease while running must end the process (another replica is reconciling now), but
   * our own {@link #close()} also "stops leading", and exiting from inside a shutdown hook would
   * deadlock the JVM. So JOSDK's exit-on-stop is off and this callback exits unless we are closing.
   */
  private LeaderElectionConfiguration leaderElection(OperatorConfig config) {
    LeaderCallbacks callbacks = new LeaderCallbacks(
        () -> LOG.info("leading: this replica reconciles (Lease {}/{})", config.namespace(), OperatorConfig.LEASE_NAME),
        () -> {
          if (!closing) {
            LOG.error("lost the Lease {}/{}; exiting so only the new leader reconciles", config.namespace(),
                OperatorConfig.LEASE_NAME);
            leaseLost.run();
          }
        },
        leader -> LOG.info("leader is {}", leader));
    return new LeaderElectionConfiguration(OperatorConfig.LEASE_NAME, config.namespace(),
        LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE, LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
        LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE, null, callbacks, false);
  }

  public OperatorMetrics metrics() {
    return metrics;
  }

  public int probePort() {
    return probes.port();
  }

  @Override
  public void close() {
    closing = true;
    probes.close();
    operator.stop();
    reconciler.close();
  }

  public static void main(String[] args) throws IOException {
    OperatorConfig config = OperatorConfig.fromEnv(System.getenv());
    KubernetesClient client = new KubernetesClientBuilder().build();
    GpuptOperator op = new GpuptOperator(client, config, Clock.systemUTC(),
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      op.close();
      client.close();
    }, "gpupt-operator-shutdown"));
    // JOSDK's threads are non-daemon; main returns and the process lives until SIGTERM.
  }
}
