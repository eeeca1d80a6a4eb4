package io.gpupassthrough.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.gpupassthrough.api.testing.RealApiServer;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeSpec;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.fixtures.FixtureHosts;
import io.gpupassthrough.node.host.FileSystemHostRoot;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.plugin.FakeKubelet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve --simulated-kernel} in a cluster, as the cluster e2e runs it: the in-cluster agent as
 * its own process, as ServiceAccount gpu-passthrough/gpupt-node-agent under the RBAC deploy/ ships,
 * against a real API server and the kubelet stand-in (a device counts as advertised once the kubelet
 * registered its plugin), on a copy of the {@code dual-gpu-one-on-vfio} fixture. The simulated
 * kernel is what turns the agent's sysfs writes into binds; without it a directory host root only
 * gets plain file writes, nothing binds, and the pass rolls back.
 */
class ServeSimulatedKernelIT {
  private static final String NAMESPACE = "gpu-passthrough";
  private static final String AGENT = "gpupt-node-agent";
  private static final String OWNER = "nvidia-a10";
  private static final String PREPARED = "0000:01:00.0";
  private static final String PREPARED_AUDIO = "0000:01:00.1";
  private static final String ADOPTED = "0000:02:00.0";
  /** Generous: the shared build machine runs several builds at once; passing tests never wait it out. */
  private static final Duration TIMEOUT = Duration.ofSeconds(90);

  private static RealApiServer api;
  private static KubernetesClient admin;

  @TempDir Path work;
  private FakeKubelet kubelet;
  private Process serve;
  private Path log;

  @BeforeAll
  static void startApiServer() {
    api = RealApiServer.start();
    api.applyDeployBase();
    admin = api.admin();
  }

  @AfterAll
  static void stopApiServer() {
    if (api != null) {
      api.close();
    }
  }

  @AfterEach
  void stopServe() {
    if (serve != null && serve.isAlive()) {
      serve.destroyForcibly();
    }
    if (kubelet != null) {
      kubelet.close();
    }
  }

  @Test
  void preparesTheGpuAdoptsTheVfioOneAndGivesThePreparedOneBack() throws Exception {
    Path root = FixtureHosts.copy("dual-gpu-one-on-vfio", work.resolve("host"));
    claimA10s("node-sim");

    serve = startServe(root, "node-sim", "--simulated-kernel");

    GpuPassthroughNodeStatus status =
        awaitStatus("node-sim", s -> s.getDevicesTotal() == 2 && s.getDevicesReady() == 2);
    DeviceStatus prepared = device(status, PREPARED);
    assertThat(prepared.getAdvertised()).isTrue();
    assertThat(prepared.getOriginalDriver()).isEqualTo("nouveau");
    assertThat(prepared.getConsoleConflicts()).extracting(c -> c.getName() + "=" + c.getAction())
        .contains("efi-framebuffer.0=DETACHED", "vtcon1=DETACHED");
    assertThat(device(status, ADOPTED).getMessage()).contains("adopted");
    HostRoot host = FileSystemHostRoot.open(root);
    assertThat(driver(host, PREPARED)).contains("vfio-pci");
    assertThat(driver(host, PREPARED_AUDIO)).contains("vfio-pci");
    assertThat(host.linkTarget(root.resolve("sys/bus/platform/devices/efi-framebuffer.0/driver"))).isEmpty();

    // What the operator writes when the GpuPassthrough is deleted: no claim, a restore request.
    admin.resources(GpuPassthroughNode.class).withName("node-sim").edit(n -> {
      RestoreRequest r = new RestoreRequest();
      r.setOwner(OWNER);
      r.setAddresses(List.of(PREPARED, ADOPTED));
      n.getSpec().setClaims(new ArrayList<>());
      n.getSpec().setRestore(new ArrayList<>(List.of(r)));
      return n;
    });

    status = awaitStatus("node-sim", s -> s.getRestores().stream()
        .anyMatch(r -> r.getOwner().equals(OWNER) && r.getState() == RestoreResult.State.DONE));
    assertThat(status.getRestores()).singleElement()
        .satisfies(r -> assertThat(r.getRestored()).containsExactly(PREPARED));
    assertThat(driver(host, PREPARED)).contains("nouveau");
    assertThat(driver(host, PREPARED_AUDIO)).contains("snd_hda_intel");
    assertThat(host.linkTarget(root.resolve("sys/bus/platform/devices/efi-framebuffer.0/driver")))
        .contains("efi-framebuffer");
    assertThat(driver(host, ADOPTED)).as("nothing recorded for the adopted GPU: left as found").contains("vfio-pci");

    serve.destroy(); // SIGTERM, as the kubelet stops the pod
    assertThat(serve.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(serve.exitValue()).as("serve log:%n%s", Files.readString(log)).isZero();
  }

  @Test
  void withoutTheFlagTheWritesBindNothingAndTheGpuIsRolledBack() throws Exception {
    Path root = FixtureHosts.copy("dual-gpu-one-on-vfio", work.resolve("host"));
    claimA10s("node-plain");

    serve = startServe(root, "node-plain");

    GpuPassthroughNodeStatus status = awaitStatus("node-plain", s -> s.getDevicesTotal() == 2);
    DeviceStatus prepared = device(status, PREPARED);
    assertThat(prepared.getAdvertised()).isFalse();
    assertThat(prepared.getReason()).isIn(Reason.BIND_FAILED, Reason.ROLLED_BACK);
    assertThat(device(status, ADOPTED).getAdvertised()).as("adopting needs no write").isTrue();
    assertThat(driver(FileSystemHostRoot.open(root), PREPARED)).contains("nouveau");
  }

  @Test
  void refusesTheFlagOnAHostRootTheSimulatedHostBuilderDidNotWrite() throws Exception {
    Path root = FixtureHosts.copy("dual-gpu-one-on-vfio", work.resolve("host"));
    Files.delete(root.resolve(".simkernel/matches"));

    serve = startServe(root, "node-real", "--simulated-kernel");

    assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(serve.exitValue()).isEqualTo(2);
    assertThat(Files.readString(log)).contains("not a simulated host root", "drop the flag");
  }

  private void claimA10s(String node) {
    DeviceSelector selector = new DeviceSelector();
    selector.setVendorIds(List.of("10de"));
    selector.setDeviceIds(List.of("2236"));
    DeviceClaim claim = new DeviceClaim();
    claim.setOwner(OWNER);
    claim.setSelector(selector);
    GpuPassthroughNode n = new GpuPassthroughNode();
    n.getMetadata().setName(node);
    n.setSpec(new GpuPassthroughNodeSpec());
    n.getSpec().setClaims(new ArrayList<>(List.of(claim)));
    admin.resource(n).create();
  }

  private Process startServe(Path root, String node, String... more) throws Exception {
    Path pluginDir = Files.createDirectories(work.resolve("device-plugins"));
    kubelet = new FakeKubelet(pluginDir).start();
    log = work.resolve("serve.log");
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
        "io.gpupassthrough.node.cli.GpuptNode", "serve", "--host-root", root.toString(),
        "--device-plugin-dir", pluginDir.toString(), "--node-name", node, "--metrics-port", "0"));
    cmd.addAll(List.of(more));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> env = api.processEnvAs(work, NAMESPACE, AGENT);
    pb.environment().putAll(env);
    return pb.start();
  }

  private GpuPassthroughNodeStatus awaitStatus(String node,
      java.util.function.Predicate<GpuPassthroughNodeStatus> done) {
    return await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(200))
        .alias("status of GpuPassthroughNode " + node + " (serve log in " + log + ")")
        .failFast("serve exited; its log is " + log, () -> !serve.isAlive())
        .until(() -> Optional.ofNullable(admin.resources(GpuPassthroughNode.class).withName(node).get())
            .map(GpuPassthroughNode::getStatus).orElse(null), s -> s != null && done.test(s));
  }

  private static DeviceStatus device(GpuPassthroughNodeStatus status, String address) {
    return status.getDevices().stream().filter(d -> d.getAddress().equals(address)).findFirst()
        .orElseThrow(() -> new AssertionError(address + " not in the node status " + status.getDevices()));
  }

  private static Optional<String> driver(HostRoot host, String address) {
    return host.linkTarget(host.paths().pciDriverLink(PciAddress.parse(address)));
  }
}
