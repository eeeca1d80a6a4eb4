package io.gpupassthrough.node.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The assembled agent: /healthz and /metrics over HTTP while it serves the kubelet stand-in. */
class NodeAgentIT {
  @TempDir Path dir;
  private FakeKubelet kubelet;
  private NodeAgent agent;

  @AfterEach
  void tearDown() {
    if (agent != null) {
      agent.close();
    }
    if (kubelet != null) {
      kubelet.close();
    }
  }

  private HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.metricsPort().orElseThrow() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthzAndMetricsReportTheServersAndTheirDevices() throws Exception {
    kubelet = new FakeKubelet(dir).start();
    FakeInventory host = new FakeInventory().add(FakeInventory.gpu("0000:01:00.0", 3, 0));
    agent =
        new NodeAgent(
                host,
                new StandaloneDesiredState(Map.of()),
                new NodeAgent.Settings(dir, Optional.of(new InetSocketAddress("127.0.0.1", 0)), Duration.ofMillis(100), Duration.ofSeconds(1)))
            .start();
    await().atMost(Duration.ofSeconds(5)).until(() -> !kubelet.registrations().isEmpty());
    kubelet.allocate("nvidia.com/GA102GL_A10", java.util.List.of("0000:01:00.0"));

    HttpResponse<String> healthz = get("/healthz");
    assertThat(healthz.statusCode()).isEqualTo(200);
    assertThat(healthz.body()).contains("nvidia.com/GA102GL_A10 serving, REGISTERED");

    String metrics = get("/metrics").body();
    assertThat(metrics)
        .contains("gpupt_devices{health=\"Healthy\",resource=\"nvidia.com/GA102GL_A10\"} 1")
        .contains("gpupt_registrations_total{outcome=\"ok\",resource=\"nvidia.com/GA102GL_A10\"} 1")
        .contains("gpupt_allocate_seconds_count{outcome=\"ok\",resource=\"nvidia.com/GA102GL_A10\"} 1");
  }

  @Test
  void aServerWhoseSocketWasDeletedServesAgainWithoutAKubelet() throws Exception {
    // No kubelet: nothing re-creates the socket for us except the agent's own watcher.
    FakeInventory host = new FakeInventory().add(FakeInventory.gpu("0000:01:00.0", 3, 0));
    agent =
        new NodeAgent(
                host,
                new StandaloneDesiredState(Map.of()),
                new NodeAgent.Settings(dir, Optional.of(new InetSocketAddress("127.0.0.1", 0)), Duration.ofMillis(100), Duration.ofSeconds(1)))
            .start();
    assertThat(get("/healthz").body()).contains("WAITING_FOR_KUBELET");
    Path socket = dir.resolve(ResourceName.parse("nvidia.com/GA102GL_A10").socketFileName());

    java.nio.file.Files.delete(socket);

    await().atMost(Duration.ofSeconds(5)).until(() -> java.nio.file.Files.exists(socket));
    assertThat(get("/healthz").statusCode()).isEqualTo(200);
  }
}
