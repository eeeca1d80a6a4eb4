package io.gpupassthrough.node.plugin;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The node agent's serving half, assembled: the Unix-socket transport, the device advertiser with
 * its plugin servers and kubelet connection, and the optional {@code /healthz} + {@code /metrics}
 * endpoint. {@link #close()} stops everything and removes the agent's sockets.
 */
public final class NodeAgent implements AutoCloseable {
  /** What the agent needs to run; one place for every serve knob and its default. */
  public record Settings(
      Path pluginDir,
      Optional<InetSocketAddress> metricsAddress,
      Duration healthPoll,
      Duration shutdownGrace) {
    public static final Duration DEFAULT_HEALTH_POLL = Duration.ofMillis(250);
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(5);
    public static final int DEFAULT_METRICS_PORT = 9464;
  }

  private final Settings settings;
  private final UnixSocketTransport transport;
  private final PrometheusMeterRegistry registry;
  private final DeviceAdvertiser advertiser;
  private AgentEndpoint endpoint;

  public NodeAgent(DeviceInventory inventory, DesiredState desired, Settings settings) {
    this.settings = settings;
    this.transport = new UnixSocketTransport();
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    this.advertiser =
        new DeviceAdvertiser(
            inventory,
            desired,
            settings.pluginDir(),
            transport,
            new PluginMetrics(registry),
            settings.healthPoll());
  }

  public NodeAgent start() {
    advertiser.start();
    settings.metricsAddress().ifPresent(a -> endpoint = AgentEndpoint.start(a, registry, this::liveness));
    return this;
  }

  public DeviceAdvertiser advertiser() {
    return advertiser;
  }

  public Optional<Integer> metricsPort() {
    return Optional.ofNullable(endpoint).map(AgentEndpoint::port);
  }

  /** Live when every plugin server is serving on a socket that exists. */
  public AgentEndpoint.Liveness liveness() {
    var servers = advertiser.kubelet().servers();
    boolean ok = servers.stream().allMatch(s -> s.serving() && s.socketPresent());
    String detail =
        servers.isEmpty()
            ? "ok: no verified GPUs to advertise"
            : servers.stream()
                .map(
                    s ->
                        s.resource()
                            + " "
                            + (s.serving() && s.socketPresent() ? "serving" : "NOT serving")
                            + ", "
                            + advertiser.kubelet().state(s.resource()))
                .collect(Collectors.joining("\n", ok ? "ok\n" : "unhealthy\n", ""));
    return new AgentEndpoint.Liveness(ok, detail);
  }

  @Override
  public void close() {
    if (endpoint != null) {
      endpoint.close();
    }
    advertiser.stop(settings.shutdownGrace());
    transport.close();
    registry.close();
  }
}
