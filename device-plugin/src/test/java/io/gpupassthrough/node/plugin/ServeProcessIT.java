package io.gpupassthrough.node.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.gpupassthrough.node.demo.DemoHosts;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gpupt-node serve} as its own process, as a node runs it: registers the host's verified
 * GPUs with the kubelet stand-in, and on SIGTERM removes its sockets and exits 0 (DESIGN §7).
 */
class ServeProcessIT {
  @TempDir Path work;
  private FakeKubelet kubelet;
  private Process serve;

  @AfterEach
  void tearDown() {
    if (serve != null && serve.isAlive()) {
      serve.destroyForcibly();
    }
    if (kubelet != null) {
      kubelet.close();
    }
  }

  private Process startServe(Path hostRoot, Path pluginDir, Path log) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    return new ProcessBuilder(
            java, "-cp", System.getProperty("java.class.path"),
            "io.gpupassthrough.node.cli.GpuptNode", "serve",
            "--host-root", hostRoot.toString(),
            "--device-plugin-dir", pluginDir.toString(),
            "--node-name", "node-a",
            "--metrics-port", "0")
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  @Test
  void servesTheVerifiedGpusAndOnSigtermRemovesItsSocketsAndExitsZero() throws Exception {
    SimulatedHost host = DemoHosts.vfioServer(work.resolve("host"), 2);
    Path pluginDir = Files.createDirectories(work.resolve("device-plugins"));
    kubelet = new FakeKubelet(pluginDir).start();
    Path log = work.resolve("serve.log");

    serve = startServe(host.root(), pluginDir, log);

    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () -> assertThat(kubelet.registrations()).as("serve log:%n%s", Files.readString(log)).hasSize(1));
    assertThat(kubelet.registrations().get(0).request().getResourceName()).isEqualTo("nvidia.com/GA102GL_A10");
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(FakeKubelet.health(kubelet.latest("nvidia.com/GA102GL_A10")))
                    .containsExactly("0000:10:00.0=Healthy", "0000:11:00.0=Healthy"));

    serve.destroy(); // SIGTERM

    assertThat(serve.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(serve.exitValue()).as("exit code after SIGTERM; log:%n%s", Files.readString(log)).isZero();
    try (Stream<Path> files = Files.list(pluginDir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("kubelet.sock");
    }
  }

  @Test
  void refusesAMissingDevicePluginDirectoryWithAClearMessage() throws Exception {
    SimulatedHost host = DemoHosts.vfioServer(work.resolve("host"), 1);
    Path log = work.resolve("serve.log");

    serve = startServe(host.root(), work.resolve("no-such-dir"), log);

    assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(serve.exitValue()).isEqualTo(2);
    assertThat(Files.readString(log)).contains("no-such-dir", "does not exist", "device-plugin directory");
  }

  @Test
  void refusesAHostRootThatIsNotALinuxRoot() throws Exception {
    Path pluginDir = Files.createDirectories(work.resolve("device-plugins"));
    Path log = work.resolve("serve.log");

    serve = startServe(Files.createDirectories(work.resolve("empty")), pluginDir, log);

    assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(serve.exitValue()).isEqualTo(2);
    assertThat(Files.readString(log)).contains("sys/bus/pci");
    try (Stream<Path> files = Files.list(pluginDir)) {
      assertThat(files.toList()).isEqualTo(List.of());
    }
  }
}
