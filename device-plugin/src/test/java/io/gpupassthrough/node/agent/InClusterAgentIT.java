package io.gpupassthrough.node.agent;

import static io.gpupassthrough.node.agent.Claims.byAddress;
import static io.gpupassthrough.node.agent.Claims.byVendor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceHealth;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import io.gpupassthrough.node.plugin.NodeAgent;
import io.gpupassthrough.node.plugin.PluginServer;
import io.gpupassthrough.node.plugin.ResourceName;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The in-cluster agent against the fabric8 mock server in CRUD mode (with the generated CRDs),
 * a simulated host root and a temp device-plugin directory (no kubelet: the plugin servers serve
 * and wait for kubelet.sock, which is all these tests need).
 */
class InClusterAgentIT {
  private static final String NODE = "node-1";
  private static final String GPU = "0000:01:00.0";
  private static final String AUDIO = "0000:01:00.1";
  /** Generous: the shared build machine runs several builds at once; passing tests never wait it out. */
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final ResourceName DEFAULT_NAME = ResourceName.parse("gpupassthrough.io/10de_2236");

  @TempDir Path hostDir;
  @TempDir Path pluginDir;

  private final AtomicInteger statusPatches = new AtomicInteger();
  private final List<String> sysfsWrites = new CopyOnWriteArrayList<>();
  private final List<InClusterAgent> agents = new ArrayList<>();
  private KubernetesMockServer server;
  private KubernetesClient client;
  private SimulatedHost host;

  @BeforeEach
  void startApiServer() throws Exception {
    KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher(List.of()) {
      @Override
      public MockResponse handlePatch(RecordedRequest request) {
        if (request.getPath().contains("/gpupassthroughnodes/") && request.getPath().contains("/status")) {
          statusPatches.incrementAndGet();
        }
        return super.handlePatch(request);
      }
    };
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    server.init();
    client = server.createClient();
    // The committed CRDs (what deploy/ applies; crds' snapshot test keeps them equal to the
    // generated ones). Surefire runs in the module directory.
    for (String crd : List.of("gpupassthroughnodes", "gpupassthroughs")) {
      try (InputStream yaml = Files.newInputStream(
          Path.of("../deploy/base/crds", crd + ".gpupassthrough.io-v1.yml"))) {
        client.apiextensions().v1().customResourceDefinitions().load(yaml).create();
      }
    }
  }

  @AfterEach
  void stopEverything() {
    agents.forEach(InClusterAgent::close);
    client.close();
    server.destroy();
  }

  // ---- hosts ----

  /** UEFI host: one A10 on nouveau with its HDMI audio in IOMMU group 1, efifb on its BAR0. */
  private void uefiHost(Consumer<SimulatedHostBuilder> more) {
    SimulatedHostBuilder b = SimulatedHostBuilder.create()
        .gpu(GPU, g -> g.bootVga().driver("nouveau").iommuGroup(1).numaNode(0))
        .hdmiAudio(AUDIO, a -> a.iommuGroup(1))
        .efiFramebuffer(GPU);
    more.accept(b);
    host = b.build(hostDir);
    host.kernel().beforeWrite((path, value) -> sysfsWrites.add(path + " <- " + value.strip()));
  }

  private InClusterAgent startAgent() {
    NodeAgent.Settings settings =
        new NodeAgent.Settings(pluginDir, Optional.empty(), Duration.ofMillis(50), Duration.ofMillis(200));
    InClusterAgent agent = InClusterAgent.start(client, host.kernel(), NODE, settings, Duration.ofMillis(100),
        Duration.ofMillis(200));
    agents.add(agent);
    return agent;
  }

  // ---- the API object ----

  private void createNode(List<DeviceClaim> claims) {
    GpuPassthroughNode node = new GpuPassthroughNode();
    node.getMetadata().setName(NODE);
    node.getSpec().setClaims(new ArrayList<>(claims));
    client.resource(node).create();
  }

  private void editSpec(Consumer<GpuPassthroughNode> edit) {
    client.resources(GpuPassthroughNode.class).withName(NODE).edit(n -> {
      edit.accept(n);
      return n;
    });
  }

  private GpuPassthroughNode node() {
    return client.resources(GpuPassthroughNode.class).withName(NODE).get();
  }

  private GpuPassthroughNodeStatus awaitStatus(long generation) {
    await().atMost(TIMEOUT).until(() -> {
      GpuPassthroughNodeStatus s = node().getStatus();
      return s != null && s.getObservedGeneration() != null && s.getObservedGeneration() == generation;
    });
    return node().getStatus();
  }

  private static DeviceStatus device(GpuPassthroughNodeStatus s, String address, String owner) {
    return s.getDevices().stream()
        .filter(d -> d.getAddress().equals(address) && d.getOwner().equals(owner))
        .findFirst().orElseThrow(() -> new AssertionError("no status for " + address + " of " + owner
            + " in " + s.getDevices().stream().map(d -> d.getAddress() + "/" + d.getOwner()).toList()));
  }

  private static Condition condition(GpuPassthroughNodeStatus s, String type) {
    return s.getConditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
  }

  private static List<String> advertised(InClusterAgent agent, ResourceName resource) {
    PluginServer server = agent.plugin().advertiser().servers().get(resource);
    return server == null ? List.of() : server.feed().devices().values().stream()
        .filter(d -> d.healthy()).map(d -> d.address()).toList();
  }

  // ---- behaviour ----

  @Test
  void claimedGpuIsPreparedAdvertisedAndReportedWithEveryStatusField() {
    uefiHost(b -> {});
    createNode(List.of(byVendor("a10s", "10de")));
    InClusterAgent agent = startAgent();

    GpuPassthroughNodeStatus s = awaitStatus(1);

    DeviceStatus d = device(s, GPU, "a10s");
    assertThat(d.getAdvertised()).isTrue();
    assertThat(d.getReason()).isNull();
    assertThat(d.getHealth()).isEqualTo(DeviceHealth.HEALTHY);
    assertThat(d.getVendor()).isEqualTo("10de");
    assertThat(d.getDevice()).isEqualTo("2236");
    assertThat(d.getPciClass()).isEqualTo("030000");
    assertThat(d.getIommuGroup()).isEqualTo(1);
    assertThat(d.getIommuGroupMembers()).containsExactly(GPU, AUDIO);
    assertThat(d.getNumaNode()).isZero();
    assertThat(d.getDriver()).isEqualTo("vfio-pci");
    assertThat(d.getOriginalDriver()).isEqualTo("nouveau");
    assertThat(d.getResourceName()).isEqualTo(DEFAULT_NAME.toString());
    assertThat(d.getConsoleConflicts())
        .extracting(ConsoleConflictStatus::getKind, ConsoleConflictStatus::getName, ConsoleConflictStatus::getAction)
        .contains(
            org.assertj.core.groups.Tuple.tuple(ConsoleConflictStatus.Kind.VTCONSOLE, "vtcon1", ConsoleConflictStatus.Action.DETACHED),
            org.assertj.core.groups.Tuple.tuple(ConsoleConflictStatus.Kind.FRAMEBUFFER, "efi-framebuffer.0", ConsoleConflictStatus.Action.DETACHED));
    assertThat(s.getDevicesReady()).isEqualTo(1);
    assertThat(s.getDevicesTotal()).isEqualTo(1);
    assertThat(s.getLastSync()).isNotBlank();
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("True");
    assertThat(condition(s, "Degraded").getStatus()).isEqualTo("False");
    assertThat(sysfsWrites).contains("/sys/bus/pci/drivers_probe <- " + GPU, "/sys/bus/pci/drivers_probe <- " + AUDIO);
    await().atMost(TIMEOUT).until(() -> advertised(agent, DEFAULT_NAME), l -> l.equals(List.of(GPU)));
    assertThat(Files.exists(pluginDir.resolve(DEFAULT_NAME.socketFileName()))).isTrue();
  }

  @Test
  void blockedAndMissingDevicesAreReportedNotAdvertisedWithReason() {
    uefiHost(b -> b.gpu("0000:02:00.0", g -> g.ids(0x1002, 0x73bf).driver("amdgpu").noIommuGroup()));
    createNode(List.of(byAddress("amd", "0000:02:00.0", "0000:09:00.0")));
    startAgent();

    GpuPassthroughNodeStatus s = awaitStatus(1);

    DeviceStatus noIommu = device(s, "0000:02:00.0", "amd");
    assertThat(noIommu.getAdvertised()).isFalse();
    assertThat(noIommu.getReason()).isEqualTo(Reason.NO_IOMMU);
    assertThat(noIommu.getMessage()).contains("intel_iommu=on");
    assertThat(noIommu.getHealth()).isEqualTo(DeviceHealth.UNKNOWN);
    assertThat(noIommu.getDriver()).isEqualTo("amdgpu");
    DeviceStatus missing = device(s, "0000:09:00.0", "amd");
    assertThat(missing.getReason()).isEqualTo(Reason.DEVICE_GONE);
    assertThat(missing.getAdvertised()).isFalse();
    assertThat(s.getDevicesReady()).isZero();
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("False");
    assertThat(condition(s, "Degraded").getReason()).isEqualTo(Reason.NO_IOMMU.code());
    assertThat(sysfsWrites).isEmpty();
  }

  @Test
  void secondClaimOnTheSameDeviceIsAClaimConflict() {
    uefiHost(b -> {});
    createNode(List.of(byVendor("first", "10de"), Claims.named(byAddress("second", GPU), "example.com/mine")));
    InClusterAgent agent = startAgent();

    GpuPassthroughNodeStatus s = awaitStatus(1);

    assertThat(device(s, GPU, "first").getAdvertised()).isTrue();
    DeviceStatus lost = device(s, GPU, "second");
    assertThat(lost.getAdvertised()).isFalse();
    assertThat(lost.getReason()).isEqualTo(Reason.CLAIM_CONFLICT);
    assertThat(lost.getMessage()).contains("'first'");
    assertThat(lost.getResourceName()).isEqualTo("example.com/mine");
    assertThat(s.getDevicesTotal()).isEqualTo(1);
    assertThat(condition(s, "Degraded").getReason()).isEqualTo("ClaimConflict");
    await().atMost(TIMEOUT).until(() -> advertised(agent, DEFAULT_NAME), l -> l.equals(List.of(GPU)));
    assertThat(agent.plugin().advertiser().servers()).doesNotContainKey(ResourceName.parse("example.com/mine"));
  }

  @Test
  void restartedAgentAdoptsDevicesOnVfioWithoutAnySysfsWriteOrStatusWrite() {
    uefiHost(b -> {});
    createNode(List.of(byVendor("a10s", "10de")));
    InClusterAgent first = startAgent();
    awaitStatus(1);
    await().atMost(TIMEOUT).until(() -> advertised(first, DEFAULT_NAME), l -> l.equals(List.of(GPU)));

    // A rolling update: the old pod stops (devices must stay bound, a VM may be using them) ...
    first.close();
    agents.remove(first);
    assertThat(new io.gpupassthrough.node.vfio.Verifier(host.kernel()).check(PciAddress.parse(GPU)).healthy()).isTrue();
    // ... and the new one starts on a host whose GPU is already on vfio-pci.
    sysfsWrites.clear();
    InClusterAgent second = startAgent();
    await().atMost(TIMEOUT).until(() -> advertised(second, DEFAULT_NAME), l -> l.equals(List.of(GPU)));
    int patchesAfterAdoption = awaitQuiet();

    assertThat(sysfsWrites).isEmpty();
    DeviceStatus d = device(node().getStatus(), GPU, "a10s");
    assertThat(d.getAdvertised()).isTrue();
    assertThat(d.getMessage()).contains("adopted");
    assertThat(d.getOriginalDriver()).isEqualTo("nouveau");

    // A third start finds the status it would write already there: no PATCH at all.
    second.close();
    agents.remove(second);
    InClusterAgent third = startAgent();
    await().atMost(TIMEOUT).until(() -> advertised(third, DEFAULT_NAME), l -> l.equals(List.of(GPU)));
    assertThat(awaitQuiet()).isEqualTo(patchesAfterAdoption);
    assertThat(sysfsWrites).isEmpty();
  }

  @Test
  void healthLossIsReportedAndAnUnchangedHostCausesNoFurtherWrites() {
    uefiHost(b -> {});
    createNode(List.of(byVendor("a10s", "10de")));
    startAgent();
    awaitStatus(1);
    int settled = awaitQuiet();

    host.kernel().removeVfioGroupNode(1);

    await().atMost(TIMEOUT).until(
        () -> device(node().getStatus(), GPU, "a10s").getHealth() == DeviceHealth.UNHEALTHY);
    DeviceStatus d = device(node().getStatus(), GPU, "a10s");
    assertThat(d.getAdvertised()).isFalse();
    assertThat(d.getReason()).isEqualTo(Reason.UNHEALTHY);
    assertThat(d.getMessage()).contains("/dev/vfio/1");
    assertThat(awaitQuiet()).isEqualTo(settled + 1);
  }

  @Test
  void restoreRequestGivesTheGpuBackStopsAdvertisingAndAnswersPerOwner() {
    uefiHost(b -> {});
    createNode(List.of(byVendor("a10s", "10de")));
    InClusterAgent agent = startAgent();
    awaitStatus(1);
    await().atMost(TIMEOUT).until(() -> advertised(agent, DEFAULT_NAME), l -> l.equals(List.of(GPU)));

    editSpec(n -> {
      n.getSpec().setClaims(new ArrayList<>());
      RestoreRequest r = new RestoreRequest();
      r.setOwner("a10s");
      r.setAddresses(List.of(GPU));
      n.getSpec().setRestore(new ArrayList<>(List.of(r)));
    });
    long generation = node().getMetadata().getGeneration();
    GpuPassthroughNodeStatus s = awaitStatus(generation);

    assertThat(s.getRestores()).singleElement().satisfies(r -> {
      assertThat(r.getOwner()).isEqualTo("a10s");
      assertThat(r.getState()).isEqualTo(RestoreResult.State.DONE);
      assertThat(r.getRestored()).containsExactly(GPU);
    });
    assertThat(s.getDevices()).isEmpty();
    assertThat(host.kernel().linkTarget(host.kernel().paths().pciDriverLink(PciAddress.parse(GPU)))).contains("nouveau");
    assertThat(host.kernel().linkTarget(host.kernel().paths().pciDriverLink(PciAddress.parse(AUDIO)))).contains("snd_hda_intel");
    assertThat(advertised(agent, DEFAULT_NAME)).isEmpty();
    assertThat(agent.plugin().advertiser().servers().get(DEFAULT_NAME).feed().devices()).isEmpty();
  }

  @Test
  void unreadableHostIsReportedAndRetriedUntilItCanBeRead() throws Exception {
    uefiHost(b -> {});
    Path iomem = host.root().resolve("proc/iomem");
    Path aside = host.root().resolve("proc/iomem.aside");
    Files.move(iomem, aside);
    createNode(List.of(byVendor("a10s", "10de")));
    startAgent();

    GpuPassthroughNodeStatus broken = awaitStatus(1);
    assertThat(condition(broken, "Ready").getReason()).isEqualTo(Reason.HOST_READ_ERROR.code());
    assertThat(broken.getMessage()).contains("proc/iomem");
    assertThat(sysfsWrites).isEmpty();

    Files.move(aside, iomem);

    await().atMost(TIMEOUT).until(() -> node().getStatus().getDevicesReady() == 1);
    assertThat(condition(node().getStatus(), "Ready").getStatus()).isEqualTo("True");
  }

  /** Waits until no status PATCH has arrived for a while; returns the count. */
  private int awaitQuiet() {
    AtomicInteger seen = new AtomicInteger(-1);
    await().pollDelay(Duration.ofMillis(600)).pollInterval(Duration.ofMillis(600)).atMost(TIMEOUT)
        .until(() -> seen.getAndSet(statusPatches.get()) == statusPatches.get());
    return statusPatches.get();
  }
}
