package io.gpupassthrough.node.agent;

import static io.gpupassthrough.node.agent.Claims.byVendor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.gpupassthrough.api.testing.RealApiServer;
import io.gpupassthrough.api.v1alpha1.DeviceHealth;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.KubeletRegistration;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.holders.FakePodResources;
import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.host.DeadlineHostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.WriteDeadline;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import io.gpupassthrough.node.plugin.AdvertisedDevice;
import io.gpupassthrough.node.plugin.FakeKubelet;
import io.gpupassthrough.node.plugin.NodeAgent;
import io.gpupassthrough.node.plugin.PluginServer;
import io.gpupassthrough.node.plugin.ResourceName;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM holds the GPU while its GpuPassthrough is deleted: the agent, as its ServiceAccount under
 * the RBAC deploy/ ships, against a real kube-apiserver, with a kubelet PodResources server on a
 * real Unix socket and a simulated host whose /proc shows the VM's QEMU. The GPU stays on
 * vfio-pci, listed but not allocatable, the restore answers Waiting naming the pod, and once the
 * VM is gone the GPU goes back to its driver.
 */
class HeldRestoreIT {
  private static final String NODE = "gpu-node-1";
  private static final String GPU = "0000:01:00.0";
  private static final String AUDIO = "0000:01:00.1";
  private static final ResourceName NAME = ResourceName.parse("gpupassthrough.io/10de_2236");
  private static final String VM_CONTAINER = "5f3c9a7e1b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e";
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private static RealApiServer api;
  private static KubernetesClient admin;
  private static KubernetesClient agentClient;

  @TempDir Path hostDir;
  @TempDir Path pluginDir;
  private final List<String> writes = new CopyOnWriteArrayList<>();
  private SimulatedHost host;
  private FakePodResources kubelet;
  private FakeKubelet registration;
  private InClusterAgent agent;

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

  @AfterEach
  void stopAgent() throws Exception {
    if (agent != null) {
      agent.close();
    }
    kubelet.close();
    registration.close();
    admin.resources(GpuPassthroughNode.class).withName(NODE).delete();
  }

  private void start() {
    host = SimulatedHostBuilder.create()
        .gpu(GPU, g -> g.driver("nouveau").iommuGroup(1).numaNode(0))
        .hdmiAudio(AUDIO, a -> a.iommuGroup(1))
        .build(hostDir);
    host.kernel().beforeWrite((path, value) -> writes.add(path + " <- " + value.strip()));
    kubelet = FakePodResources.serve(host.kernel().paths().podResourcesSocket());
    // The kubelet's two faces: PodResources above, Registration on kubelet.sock here (a device
    // counts as advertised only once its plugin is registered).
    registration = new FakeKubelet(pluginDir).start();
    GpuPassthroughNode node = new GpuPassthroughNode();
    node.getMetadata().setName(NODE);
    node.getSpec().setClaims(new ArrayList<>(List.of(byVendor("a10", "10de"))));
    admin.resource(node).create();
    DeadlineHostRoot writing = new DeadlineHostRoot(host.kernel(),
        new WriteDeadline(Duration.ofSeconds(5), Clock.systemUTC(), line -> {}));
    agent = InClusterAgent.start(agentClient, writing, NODE,
        new NodeAgent.Settings(pluginDir, Optional.empty(), Duration.ofMillis(50), Duration.ofMillis(200)),
        Duration.ofMillis(100), Duration.ofMillis(300),
        new InClusterAgent.Holders(HolderCheck.forHost(writing), Duration.ofMillis(300)));
  }

  private GpuPassthroughNodeStatus status() {
    GpuPassthroughNode n = admin.resources(GpuPassthroughNode.class).withName(NODE).get();
    return n == null ? null : n.getStatus();
  }

  private Optional<DeviceStatus> device(String address) {
    GpuPassthroughNodeStatus s = status();
    return s == null ? Optional.empty()
        : s.getDevices().stream().filter(d -> d.getAddress().equals(address)).findFirst();
  }

  private Optional<AdvertisedDevice> listed(String address) {
    PluginServer server = agent.plugin().advertiser().servers().get(NAME);
    return server == null ? Optional.empty() : Optional.ofNullable(server.feed().devices().get(address));
  }

  private Optional<String> driver(String address) {
    return host.kernel().linkTarget(host.kernel().paths().pciDriverLink(PciAddress.parse(address)));
  }

  private void vmStarts() {
    kubelet.allocate("default", "virt-launcher-vm1-x", "compute", NAME.toString(), GPU);
    host.kernel().startProcess(4242, p -> p.command("qemu-kvm", "/usr/libexec/qemu-kvm", "-name", "guest=default_vm1")
        .inPodContainer("8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f", VM_CONTAINER)
        .opens("/dev/vfio/vfio", "/dev/vfio/1", "anon_inode:[vfio-device]"));
  }

  private void vmEnds() {
    host.kernel().endProcess(4242);
    kubelet.release();
  }

  @Test
  void statusNamesThePodAndProcessHoldingTheGpuAndARestoreWaitsForThemToLetGo() {
    start();
    await().atMost(TIMEOUT).until(() -> device(GPU).map(DeviceStatus::getAdvertised).orElse(false));

    vmStarts();

    await().atMost(TIMEOUT).untilAsserted(() -> {
      DeviceStatus d = device(GPU).orElseThrow();
      assertThat(d.getAllocatedTo()).singleElement().satisfies(a -> {
        assertThat(a.getNamespace() + "/" + a.getPod() + "/" + a.getContainer())
            .isEqualTo("default/virt-launcher-vm1-x/compute");
      });
      assertThat(d.getHostHolders()).singleElement().satisfies(h -> {
        assertThat(h.getPid()).isEqualTo(4242L);
        assertThat(h.getCommand()).startsWith("qemu-kvm");
        assertThat(h.getContainerId()).isEqualTo(VM_CONTAINER);
        assertThat(h.getFile()).isEqualTo("/dev/vfio/1");
      });
      assertThat(status().getHolders()).isEqualTo(GPU + ": pod default/virt-launcher-vm1-x");
    });
    assertThat(device(GPU).orElseThrow().getAdvertised()).as("in use by its own pod: still advertised").isTrue();

    // The GpuPassthrough is deleted: the operator turns its claim into a restore request.
    writes.clear();
    admin.resources(GpuPassthroughNode.class).withName(NODE).edit(n -> {
      n.getSpec().setClaims(new ArrayList<>());
      RestoreRequest r = new RestoreRequest();
      r.setOwner("a10");
      r.setAddresses(List.of(GPU));
      n.getSpec().setRestore(new ArrayList<>(List.of(r)));
      return n;
    });

    await().atMost(TIMEOUT).untilAsserted(() -> {
      GpuPassthroughNodeStatus s = status();
      assertThat(s.getRestores()).singleElement().satisfies(r -> {
        assertThat(r.getState()).isEqualTo(RestoreResult.State.WAITING);
        assertThat(r.getMessage()).contains("waiting for pod default/virt-launcher-vm1-x to release " + GPU);
      });
      DeviceStatus d = device(GPU).orElseThrow();
      assertThat(d.getReason()).isEqualTo(Reason.DEVICE_IN_USE);
      assertThat(d.getOwner()).isEqualTo("a10");
      assertThat(d.getAllocatedTo()).isNotNull();
    });
    assertThat(driver(GPU)).contains("vfio-pci");
    assertThat(driver(AUDIO)).contains("vfio-pci");
    assertThat(writes).as("nothing unbound while it is held").isEmpty();
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(listed(GPU)).as("listed, not allocatable")
        .hasValueSatisfying(d -> {
          assertThat(d.healthy()).isFalse();
          assertThat(d.problem()).get().asString().contains("waiting for pod default/virt-launcher-vm1-x");
        }));
    // Still listed to the kubelet, Unhealthy, by a registered plugin: status says so (not NotServing).
    await().atMost(TIMEOUT).untilAsserted(() -> {
      DeviceStatus d = device(GPU).orElseThrow();
      assertThat(d.getKubelet()).isEqualTo(KubeletRegistration.REGISTERED);
      assertThat(d.getHealth()).isEqualTo(DeviceHealth.UNHEALTHY);
      assertThat(d.getResourceName()).isEqualTo(NAME.toString());
      assertThat(status().getKubelet()).isEqualTo(KubeletRegistration.REGISTERED);
    });

    vmEnds();

    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(status().getRestores()).singleElement()
        .satisfies(r -> assertThat(r.getState()).isEqualTo(RestoreResult.State.DONE)));
    assertThat(driver(GPU)).contains("nouveau");
    assertThat(driver(AUDIO)).contains("snd_hda_intel");
    assertThat(listed(GPU)).as("withdrawn once given back").isEmpty();
    assertThat(status().getDevices()).isEmpty();
    assertThat(status().getHolders()).isNull();
    assertThat(kubelet.calls()).isPositive();
  }

  @Test
  void unclaimingAHeldGpuWithdrawsItWithoutUnbindingAnything() {
    start();
    await().atMost(TIMEOUT).until(() -> device(GPU).map(DeviceStatus::getAdvertised).orElse(false));
    vmStarts();
    await().atMost(TIMEOUT).until(() -> device(GPU).map(d -> d.getHostHolders() != null).orElse(false));
    writes.clear();

    // The selector no longer matches (no restore request): the agent only stops advertising it.
    admin.resources(GpuPassthroughNode.class).withName(NODE).edit(n -> {
      n.getSpec().setClaims(new ArrayList<>(List.of(byVendor("a10", "1002"))));
      return n;
    });

    await().atMost(TIMEOUT).until(() -> listed(GPU).isEmpty());
    assertThat(driver(GPU)).contains("vfio-pci");
    assertThat(writes).isEmpty();
    vmEnds();
  }
}
