package io.gpupassthrough.node.agent;

import static io.gpupassthrough.node.agent.Claims.byAddress;
import static io.gpupassthrough.node.agent.Claims.byVendor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.gpupassthrough.api.testing.RealApiServer;
import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceHealth;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.KubeletRegistration;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import io.gpupassthrough.node.plugin.FakeKubelet;
import io.gpupassthrough.node.plugin.NodeAgent;
import io.gpupassthrough.node.plugin.PluginServer;
import io.gpupassthrough.node.plugin.ResourceName;
import io.gpupassthrough.node.vfio.Verifier;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The in-cluster agent against a real kube-apiserver (v1.28.7, RBAC on) with {@code deploy/base}
 * applied as shipped: the CRDs as generated, the agent's ServiceAccount and its RBAC from
 * {@code deploy/base/agent/rbac.yaml}. The agent's client impersonates
 * {@code gpu-passthrough/gpupt-node-agent}; the admin plays the operator, writing specs. Each test
 * has its own node name (one server for the class), a simulated host root, a temp device-plugin
 * directory and, unless the test is about its absence, the kubelet stand-in serving
 * {@code kubelet.sock} there.
 */
class InClusterAgentIT {
  private static final String GPU = "0000:01:00.0";
  private static final String AUDIO = "0000:01:00.1";
  /** Generous: the shared build machine runs several builds at once; passing tests never wait it out. */
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final ResourceName DEFAULT_NAME = ResourceName.parse("gpupassthrough.io/10de_2236");
  private static final AtomicInteger NODES = new AtomicInteger();

  static RealApiServer api;
  static KubernetesClient admin;
  static KubernetesClient agentClient;

  @TempDir Path hostDir;
  @TempDir Path pluginDir;

  private final List<String> sysfsWrites = new CopyOnWriteArrayList<>();
  private final List<InClusterAgent> agents = new ArrayList<>();
  /** Status writes of the agents this test closed (a closed agent's counter is gone with it). */
  private final AtomicLong closedAgentWrites = new AtomicLong();
  private String node;
  private SimulatedHost host;
  private FakeKubelet kubelet;

  @BeforeAll
  static void startApiServer() {
    api = RealApiServer.start();
    api.applyDeployBase();
    admin = api.admin();
    agentClient = api.track(AgentKubernetesClient.create(api.configAs("gpu-passthrough", "gpupt-node-agent")));
  }

  @AfterAll
  static void stopApiServer() {
    api.close();
  }

  @BeforeEach
  void nodeAndKubelet() {
    node = "node-" + NODES.incrementAndGet();
    kubelet = new FakeKubelet(pluginDir).start();
  }

  @AfterEach
  void stopEverything() {
    agents.forEach(InClusterAgent::close);
    kubelet.close();
    admin.resources(GpuPassthroughNode.class).withName(node).delete();
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
    InClusterAgent agent = InClusterAgent.start(agentClient, host.kernel(), node, settings, Duration.ofMillis(100),
        Duration.ofMillis(200));
    agents.add(agent);
    return agent;
  }

  private void stop(InClusterAgent agent) {
    agent.close();
    agents.remove(agent);
    closedAgentWrites.addAndGet(agent.statusWrites());
  }

  /** Every status write the agents of this test made, the closed ones included. */
  private long statusWrites() {
    return closedAgentWrites.get() + agents.stream().mapToLong(InClusterAgent::statusWrites).sum();
  }

  // ---- the API object, written by the admin in the operator's place ----

  private void createNode(String name, List<DeviceClaim> claims) {
    GpuPassthroughNode n = new GpuPassthroughNode();
    n.getMetadata().setName(name);
    n.getSpec().setClaims(new ArrayList<>(claims));
    admin.resource(n).create();
  }

  private void createNode(List<DeviceClaim> claims) {
    createNode(node, claims);
  }

  private void editSpec(Consumer<GpuPassthroughNode> edit) {
    admin.resources(GpuPassthroughNode.class).withName(node).edit(n -> {
      edit.accept(n);
      return n;
    });
  }

  private GpuPassthroughNode object() {
    return admin.resources(GpuPassthroughNode.class).withName(node).get();
  }

  private GpuPassthroughNodeStatus status() {
    return object().getStatus();
  }

  private GpuPassthroughNodeStatus awaitStatus(long generation) {
    await().atMost(TIMEOUT).until(() -> {
      GpuPassthroughNodeStatus s = status();
      return s != null && s.getObservedGeneration() != null && s.getObservedGeneration() == generation;
    });
    return status();
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

  /** Waits until the agents have made no status write for a while; returns the count. */
  private long awaitQuiet() {
    AtomicLong seen = new AtomicLong(-1);
    await().pollDelay(Duration.ofMillis(600)).pollInterval(Duration.ofMillis(600)).atMost(TIMEOUT)
        .until(() -> seen.getAndSet(statusWrites()) == statusWrites());
    return statusWrites();
  }

  /** {@code kubectl get gptnode NAME} with the admin's kubeconfig: the printer columns as a user sees them. */
  private String kubectlGetNode() throws IOException, InterruptedException {
    Path kubeconfig = hostDir.resolve("admin.kubeconfig");
    Files.writeString(kubeconfig, api.kubeconfigYaml());
    Process p = new ProcessBuilder("kubectl", "--kubeconfig", kubeconfig.toString(), "get", "gptnode", node)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    return out;
  }

  // ---- behaviour ----

  @Test
  void claimedGpuIsPreparedRegisteredAndReportedWithEveryFieldTheRealSchemaChecks() {
    uefiHost(b -> {});
    createNode(List.of(byVendor("a10s", "10de")));
    long generation = object().getMetadata().getGeneration();
    InClusterAgent agent = startAgent();

    // Accepted by the real server: patterns (address, IDs, hex ranges) and enums (health, reason,
    // kubelet, conflict kind and action) are checked on the status subresource too.
    GpuPassthroughNodeStatus s = awaitStatus(generation);
    await().atMost(TIMEOUT).until(() -> status().getDevicesReady() == 1);
    s = status();

    DeviceStatus d = device(s, GPU, "a10s");
    assertThat(d.getAdvertised()).isTrue();
    assertThat(d.getKubelet()).isEqualTo(KubeletRegistration.REGISTERED);
    assertThat(d.getRegisteredSince()).isNotBlank();
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
            tuple(ConsoleConflictStatus.Kind.VTCONSOLE, "vtcon1", ConsoleConflictStatus.Action.DETACHED),
            tuple(ConsoleConflictStatus.Kind.FRAMEBUFFER, "efi-framebuffer.0", ConsoleConflictStatus.Action.DETACHED));
    assertThat(d.getConsoleConflicts()).allSatisfy(c -> assertThat(c.getStart()).matches("[0-9a-f]+"));
    assertThat(s.getDevicesReady()).isEqualTo(1);
    assertThat(s.getDevicesTotal()).isEqualTo(1);
    assertThat(s.getKubelet()).isEqualTo(KubeletRegistration.REGISTERED);
    assertThat(s.getLastSync()).isNotBlank();
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("True");
    assertThat(condition(s, "Degraded").getStatus()).isEqualTo("False");
    assertThat(sysfsWrites).contains("/sys/bus/pci/drivers_probe <- " + GPU, "/sys/bus/pci/drivers_probe <- " + AUDIO);
    await().atMost(TIMEOUT).until(() -> advertised(agent, DEFAULT_NAME), l -> l.equals(List.of(GPU)));
    assertThat(Files.exists(pluginDir.resolve(DEFAULT_NAME.socketFileName()))).isTrue();
    assertThat(kubelet.registrations()).extracting(r -> r.request().getResourceName()).contains(DEFAULT_NAME.toString());
    // Status subresource: the agent's writes leave the spec and its generation alone.
    assertThat(object().getMetadata().getGeneration()).isEqualTo(generation);
    assertThat(object().getSpec().getClaims()).extracting(DeviceClaim::getOwner).containsExactly("a10s");
  }

  /**
   * Fix 6 of issue 9: serving a socket is not being registered. With no kubelet.sock the device is
   * served but not advertised ({@code kubelet: Serving}, reason NotRegistered); once a kubelet
   * registers the plugin it is advertised; when the kubelet goes (its sockets cleared) it is back
   * to served only. {@code kubectl get gptnode} shows it in the KUBELET column.
   */
  @Test
  void deviceIsAdvertisedOnlyWhileTheKubeletHasRegisteredItsPlugin() throws Exception {
    kubelet.stopAndClearSockets();
    uefiHost(b -> {});
    createNode(List.of(byVendor("a10s", "10de")));
    InClusterAgent agent = startAgent();

    GpuPassthroughNodeStatus serving = awaitStatus(1);
    DeviceStatus d = device(serving, GPU, "a10s");
    assertThat(d.getKubelet()).isEqualTo(KubeletRegistration.SERVING);
    assertThat(d.getAdvertised()).isFalse();
    assertThat(d.getReason()).isEqualTo(Reason.NOT_REGISTERED);
    assertThat(d.getMessage()).contains(DEFAULT_NAME.socketFileName(), "kubelet.sock does not exist");
    assertThat(d.getRegisteredSince()).isNull();
    assertThat(d.getHealth()).isEqualTo(DeviceHealth.HEALTHY);
    assertThat(serving.getDevicesReady()).isZero();
    assertThat(serving.getKubelet()).isEqualTo(KubeletRegistration.SERVING);
    assertThat(condition(serving, "Ready").getReason()).isEqualTo(Reason.NOT_REGISTERED.code());
    assertThat(advertised(agent, DEFAULT_NAME)).containsExactly(GPU); // served all along
    assertThat(kubectlGetNode()).contains("KUBELET").containsPattern(node + "\\s+0\\s+1\\s+Serving\\s");

    kubelet.start();

    await().atMost(TIMEOUT).until(() -> device(status(), GPU, "a10s").getAdvertised());
    DeviceStatus registered = device(status(), GPU, "a10s");
    assertThat(registered.getKubelet()).isEqualTo(KubeletRegistration.REGISTERED);
    assertThat(registered.getReason()).isNull();
    assertThat(registered.getRegisteredSince()).isNotBlank();
    assertThat(status().getDevicesReady()).isEqualTo(1);
    assertThat(kubectlGetNode()).containsPattern(node + "\\s+1\\s+1\\s+Registered\\s");

    kubelet.stopAndClearSockets();

    await().atMost(TIMEOUT).until(() -> device(status(), GPU, "a10s").getKubelet() == KubeletRegistration.SERVING);
    DeviceStatus gone = device(status(), GPU, "a10s");
    assertThat(gone.getAdvertised()).isFalse();
    assertThat(gone.getReason()).isEqualTo(Reason.NOT_REGISTERED);
    assertThat(gone.getRegisteredSince()).isNull();
    assertThat(status().getDevicesReady()).isZero();
    assertThat(status().getKubelet()).isEqualTo(KubeletRegistration.SERVING);
  }

  /**
   * The agent watches its own object only (an informer with a field selector on its name, which
   * the shipped ClusterRole's list/watch allows), and that RBAC gives it the status subresource
   * and nothing more: no spec writes, no creates.
   */
  @Test
  void agentWatchesOnlyItsOwnObjectAndCanWriteOnlyItsStatus() {
    uefiHost(b -> {});
    String other = node + "-other";
    createNode(other, List.of(byVendor("someone-else", "10de")));
    try {
      createNode(List.of(byVendor("a10s", "10de")));
      InClusterAgent agent = startAgent();
      awaitStatus(1);
      long settled = awaitQuiet();

      admin.resources(GpuPassthroughNode.class).withName(other).edit(n -> {
        n.getSpec().getClaims().get(0).setOwner("changed");
        return n;
      });

      assertThat(agent.watchedObjects()).containsExactly(node);
      assertThat(awaitQuiet()).isEqualTo(settled);
      assertThat(admin.resources(GpuPassthroughNode.class).withName(other).get().getStatus()).isNull();
      assertThatThrownBy(() -> agentClient.resources(GpuPassthroughNode.class).withName(node)
          .edit(n -> {
            n.getSpec().setClaims(new ArrayList<>());
            return n;
          }))
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
      GpuPassthroughNode mine = new GpuPassthroughNode();
      mine.getMetadata().setName(node + "-made-by-agent");
      assertThatThrownBy(() -> agentClient.resource(mine).create())
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
    } finally {
      admin.resources(GpuPassthroughNode.class).withName(other).delete();
    }
  }

  /** The real schema does check status fields, so the agent's accepted writes above mean something. */
  @Test
  void realServerRejectsAStatusWhoseFieldsBreakThePatterns() {
    createNode(List.of(byVendor("a10s", "10de")));
    String bad = "[{\"op\":\"add\",\"path\":\"/status\",\"value\":{\"devices\":[{\"address\":\"01:00.0\","
        + "\"vendor\":\"0x10de\",\"kubelet\":\"Maybe\"}]}}]";
    GpuPassthroughNode target = new GpuPassthroughNode();
    target.getMetadata().setName(node);

    assertThatThrownBy(() -> agentClient.resource(target).subresource("status").patch(PatchContext.of(PatchType.JSON), bad))
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          assertThat(e.getCode()).isEqualTo(422);
          assertThat(e.getMessage()).contains("devices[0].address in body should match", "devices[0].vendor in body should match",
              "devices[0].kubelet: Unsupported value");
        });
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
    assertThat(noIommu.getKubelet()).isEqualTo(KubeletRegistration.NOT_SERVING);
    assertThat(noIommu.getDriver()).isEqualTo("amdgpu");
    DeviceStatus missing = device(s, "0000:09:00.0", "amd");
    assertThat(missing.getReason()).isEqualTo(Reason.DEVICE_GONE);
    assertThat(missing.getAdvertised()).isFalse();
    assertThat(s.getDevicesReady()).isZero();
    assertThat(s.getKubelet()).isEqualTo(KubeletRegistration.NOT_SERVING);
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("False");
    assertThat(condition(s, "Degraded").getReason()).isEqualTo(Reason.NO_IOMMU.code());
    assertThat(sysfsWrites).isEmpty();
  }

  @Test
  void secondClaimOnTheSameDeviceIsAClaimConflict() {
    uefiHost(b -> {});
    createNode(List.of(byVendor("first", "10de"), Claims.named(byAddress("second", GPU), "example.com/mine")));
    InClusterAgent agent = startAgent();

    awaitStatus(1);
    await().atMost(TIMEOUT).until(() -> device(status(), GPU, "first").getAdvertised());
    GpuPassthroughNodeStatus s = status();

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
    await().atMost(TIMEOUT).until(() -> device(status(), GPU, "a10s").getAdvertised());

    // A rolling update: the old pod stops (devices must stay bound, a VM may be using them) ...
    stop(first);
    assertThat(new Verifier(host.kernel()).check(PciAddress.parse(GPU)).healthy()).isTrue();
    // ... and the new one starts on a host whose GPU is already on vfio-pci, and registers again.
    sysfsWrites.clear();
    int registrations = kubelet.registrations().size();
    InClusterAgent second = startAgent();
    await().atMost(TIMEOUT).until(() -> kubelet.registrations().size() > registrations);
    await().atMost(TIMEOUT).until(() -> device(status(), GPU, "a10s").getMessage().contains("adopted"));
    awaitQuiet();

    assertThat(sysfsWrites).isEmpty();
    DeviceStatus d = device(status(), GPU, "a10s");
    assertThat(d.getAdvertised()).isTrue();
    assertThat(d.getKubelet()).isEqualTo(KubeletRegistration.REGISTERED);
    assertThat(d.getOriginalDriver()).isEqualTo("nouveau");

    // A third start finds the status it would write already there: it registers again, and writes
    // nothing (the object's resourceVersion does not move either).
    stop(second);
    String resourceVersion = object().getMetadata().getResourceVersion();
    int before = kubelet.registrations().size();
    InClusterAgent third = startAgent();
    await().atMost(TIMEOUT).until(() -> kubelet.registrations().size() > before);
    await().atMost(TIMEOUT).until(() -> advertised(third, DEFAULT_NAME), l -> l.equals(List.of(GPU)));
    awaitQuiet();
    assertThat(third.statusWrites()).isZero();
    assertThat(object().getMetadata().getResourceVersion()).isEqualTo(resourceVersion);
    assertThat(sysfsWrites).isEmpty();
  }

  @Test
  void healthLossIsReportedAndAnUnchangedHostCausesNoFurtherWrites() {
    uefiHost(b -> {});
    createNode(List.of(byVendor("a10s", "10de")));
    startAgent();
    awaitStatus(1);
    await().atMost(TIMEOUT).until(() -> device(status(), GPU, "a10s").getAdvertised());
    long settled = awaitQuiet();

    host.kernel().removeVfioGroupNode(1);

    await().atMost(TIMEOUT).until(() -> device(status(), GPU, "a10s").getHealth() == DeviceHealth.UNHEALTHY);
    DeviceStatus d = device(status(), GPU, "a10s");
    assertThat(d.getAdvertised()).isFalse();
    assertThat(d.getReason()).isEqualTo(Reason.UNHEALTHY);
    assertThat(d.getMessage()).contains("/dev/vfio/1");
    assertThat(d.getKubelet()).as("still registered, listed Unhealthy").isEqualTo(KubeletRegistration.REGISTERED);
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
    long generation = object().getMetadata().getGeneration();
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

    await().atMost(TIMEOUT).until(() -> status().getDevicesReady() == 1);
    assertThat(condition(status(), "Ready").getStatus()).isEqualTo("True");
  }
}
