package io.gpupassthrough.node.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.gpupassthrough.node.plugin.v1beta1.AllocateResponse;
import io.gpupassthrough.node.plugin.v1beta1.ContainerAllocateResponse;
import io.gpupassthrough.node.plugin.v1beta1.ContainerPreferredAllocationRequest;
import io.gpupassthrough.node.plugin.v1beta1.DeviceSpec;
import io.gpupassthrough.node.plugin.v1beta1.PreStartContainerRequest;
import io.gpupassthrough.node.plugin.v1beta1.PreferredAllocationRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plugin against a kubelet stand-in over real Unix sockets in a temp device-plugin dir. */
class DevicePluginIT {
  private static final String RESOURCE = "nvidia.com/GA102GL_A10";
  private static final Duration WITHIN = Duration.ofSeconds(5);

  @TempDir Path dir;
  private UnixSocketTransport transport;
  private FakeKubelet kubelet;
  private FakeInventory host;
  private DeviceAdvertiser advertiser;

  @BeforeEach
  void setUp() {
    transport = new UnixSocketTransport();
    host =
        new FakeInventory()
            .add(FakeInventory.gpu("0000:01:00.0", 12, 0))
            .add(FakeInventory.gpu("0000:41:00.0", 40, 1))
            .add(FakeInventory.gpu("0000:42:00.0", 41, 1));
    kubelet = new FakeKubelet(dir);
  }

  @AfterEach
  void tearDown() {
    if (advertiser != null) {
      advertiser.stop(Duration.ofMillis(200));
    }
    kubelet.close();
    transport.close();
  }

  private void startPlugin() {
    advertiser =
        new DeviceAdvertiser(
            host,
            new StandaloneDesiredState(Map.of()),
            dir,
            transport,
            new PluginMetrics(new SimpleMeterRegistry()),
            Duration.ofMillis(100));
    advertiser.start();
  }

  private void awaitRegistrations(int count) {
    await().atMost(WITHIN).until(() -> kubelet.registrations().size() >= count);
  }

  @Test
  void registersAndAnswersTheOptionsCallbackTheKubeletMakesDuringRegister() {
    kubelet.start();
    startPlugin();

    awaitRegistrations(1);
    FakeKubelet.Registration r = kubelet.registrations().get(0);
    assertThat(r.request().getVersion()).isEqualTo("v1beta1");
    assertThat(r.request().getResourceName()).isEqualTo(RESOURCE);
    assertThat(r.request().getEndpoint())
        .isEqualTo(ResourceName.parse(RESOURCE).socketFileName())
        .doesNotContain("/");
    assertThat(r.optionsFromCallback().getPreStartRequired()).isTrue();
    assertThat(r.optionsFromCallback().getGetPreferredAllocationAvailable()).isTrue();
    assertThat(r.request().getOptions()).isEqualTo(r.optionsFromCallback());
    // The stand-in records the call before it answers; the plugin marks itself registered after.
    await().atMost(WITHIN).untilAsserted(() ->
        assertThat(advertiser.kubelet().state(ResourceName.parse(RESOURCE)))
            .isEqualTo(KubeletConnection.State.REGISTERED));
  }

  @Test
  void listAndWatchStreamsAllDevicesWithNumaTopology() {
    kubelet.start();
    startPlugin();

    await().atMost(WITHIN).untilAsserted(() -> assertThat(kubelet.latest(RESOURCE)).as("%s", kubelet.streamErrors()).isNotNull());
    var latest = kubelet.latest(RESOURCE);
    assertThat(FakeKubelet.health(latest))
        .containsExactly("0000:01:00.0=Healthy", "0000:41:00.0=Healthy", "0000:42:00.0=Healthy");
    assertThat(latest.getDevices(1).getTopology().getNodes(0).getID()).isEqualTo(1);
  }

  @Test
  void healthChangeReachesListAndWatchAndRecoveredDeviceIsAdvertisedAgain() {
    kubelet.start();
    startPlugin();
    await().atMost(WITHIN).until(() -> kubelet.latest(RESOURCE) != null);

    // The driver link left vfio-pci (e.g. someone bound nvidia again).
    host.unhealthy("0000:41:00.0", "driver is nvidia, not vfio-pci");
    await()
        .atMost(WITHIN)
        .untilAsserted(
            () ->
                assertThat(FakeKubelet.health(kubelet.latest(RESOURCE)))
                    .contains("0000:41:00.0=Unhealthy", "0000:01:00.0=Healthy"));

    host.healthy("0000:41:00.0");
    await()
        .atMost(WITHIN)
        .untilAsserted(
            () ->
                assertThat(FakeKubelet.health(kubelet.latest(RESOURCE)))
                    .contains("0000:41:00.0=Healthy"));
  }

  @Test
  void removedDeviceStaysListedAsUnhealthy() {
    kubelet.start();
    startPlugin();
    await().atMost(WITHIN).until(() -> kubelet.latest(RESOURCE) != null);

    host.remove("0000:42:00.0");

    await()
        .atMost(WITHIN)
        .untilAsserted(
            () ->
                assertThat(FakeKubelet.health(kubelet.latest(RESOURCE)))
                    .containsExactly(
                        "0000:01:00.0=Healthy", "0000:41:00.0=Healthy", "0000:42:00.0=Unhealthy"));
  }

  @Test
  void allocateHandsOutVfioNodesAndTheEnvVarKubevirtReads() {
    kubelet.start();
    startPlugin();
    awaitRegistrations(1);

    AllocateResponse response = kubelet.allocate(RESOURCE, List.of("0000:41:00.0", "0000:42:00.0"));

    ContainerAllocateResponse c = response.getContainerResponses(0);
    assertThat(c.getEnvsMap())
        .containsExactly(Map.entry("PCI_RESOURCE_NVIDIA_COM_GA102GL_A10", "0000:41:00.0,0000:42:00.0"));
    assertThat(c.getDevicesList())
        .extracting(DeviceSpec::getHostPath, DeviceSpec::getContainerPath, DeviceSpec::getPermissions)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("/dev/vfio/vfio", "/dev/vfio/vfio", "mrw"),
            org.assertj.core.groups.Tuple.tuple("/dev/vfio/40", "/dev/vfio/40", "mrw"),
            org.assertj.core.groups.Tuple.tuple("/dev/vfio/41", "/dev/vfio/41", "mrw"));
  }

  @Test
  void allocateOfUnknownDeviceIsInvalidArgumentNamingTheId() {
    kubelet.start();
    startPlugin();
    awaitRegistrations(1);

    assertThatThrownBy(() -> kubelet.allocate(RESOURCE, List.of("0000:99:00.0")))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).contains("0000:99:00.0", RESOURCE);
            });
  }

  @Test
  void allocateOfUnhealthyDeviceIsFailedPrecondition() {
    kubelet.start();
    startPlugin();
    awaitRegistrations(1);
    host.unhealthy("0000:01:00.0", "driver is nouveau, not vfio-pci");
    await()
        .atMost(WITHIN)
        .until(() -> FakeKubelet.health(kubelet.latest(RESOURCE)).contains("0000:01:00.0=Unhealthy"));

    assertThatThrownBy(() -> kubelet.allocate(RESOURCE, List.of("0000:01:00.0")))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
              assertThat(e.getStatus().getDescription()).contains("nouveau");
            });
  }

  @Test
  void preStartContainerRereadsTheHostAndRefusesADeviceThatLeftVfio() {
    kubelet.start();
    startPlugin();
    awaitRegistrations(1);
    var request = PreStartContainerRequest.newBuilder().addDevicesIds("0000:01:00.0").build();
    assertThat(kubelet.plugin(RESOURCE).preStartContainer(request)).isNotNull();

    // Changed on the host after the last poll: PreStart must look itself, not trust the list.
    host.unhealthy("0000:01:00.0", "driver is nouveau, not vfio-pci");

    assertThatThrownBy(() -> kubelet.plugin(RESOURCE).preStartContainer(request))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
  }

  @Test
  void preferredAllocationKeepsTheRequestOnOneNumaNode() {
    kubelet.start();
    startPlugin();
    awaitRegistrations(1);

    var response =
        kubelet
            .plugin(RESOURCE)
            .getPreferredAllocation(
                PreferredAllocationRequest.newBuilder()
                    .addContainerRequests(
                        ContainerPreferredAllocationRequest.newBuilder()
                            .addAllAvailableDeviceIDs(
                                List.of("0000:01:00.0", "0000:41:00.0", "0000:42:00.0"))
                            .setAllocationSize(2))
                    .build());

    assertThat(response.getContainerResponses(0).getDeviceIDsList())
        .containsExactly("0000:41:00.0", "0000:42:00.0");
  }

  @Test
  void reRegistersAfterKubeletRestartRemovedTheSockets() {
    kubelet.start();
    startPlugin();
    awaitRegistrations(1);
    Path socket = dir.resolve(ResourceName.parse(RESOURCE).socketFileName());

    kubelet.restart();

    awaitRegistrations(2);
    assertThat(socket).exists();
    // The new kubelet talks to the new server: allocation works over the fresh socket.
    assertThat(kubelet.allocate(RESOURCE, List.of("0000:01:00.0")).getContainerResponsesCount())
        .isEqualTo(1);
  }

  @Test
  void waitsForAnAbsentKubeletAndRegistersWhenItAppears() {
    startPlugin();
    await()
        .atMost(WITHIN)
        .until(
            () ->
                advertiser.kubelet().state(ResourceName.parse(RESOURCE))
                    == KubeletConnection.State.WAITING_FOR_KUBELET);
    assertThat(dir.resolve(ResourceName.parse(RESOURCE).socketFileName())).exists();

    kubelet.start();

    awaitRegistrations(1);
  }

  @Test
  void retriesAfterTheKubeletRefusesAndRegistersOnceItAccepts() {
    kubelet.start();
    kubelet.rejectRegistrations("resource name already registered");
    startPlugin();
    await()
        .atMost(WITHIN)
        .until(
            () ->
                advertiser.kubelet().state(ResourceName.parse(RESOURCE))
                    == KubeletConnection.State.REJECTED);

    kubelet.rejectRegistrations(null);

    awaitRegistrations(1);
  }

  @Test
  void stopRemovesOwnSocketsButNotTheKubelets() throws IOException {
    kubelet.start();
    startPlugin();
    awaitRegistrations(1);

    advertiser.stop(Duration.ofMillis(500));
    advertiser = null;

    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("kubelet.sock");
    }
  }

  @Test
  void devicesWithDifferentResourceNamesGetOneServerEach() {
    host.add(
        new AdvertisedDevice(
            "0000:81:00.0",
            0x1002,
            0x73bf,
            java.util.Optional.empty(),
            60,
            java.util.OptionalInt.empty(),
            java.util.Optional.empty(),
            DeviceHealth.HEALTHY,
            java.util.Optional.empty()));
    kubelet.start();
    startPlugin();

    awaitRegistrations(2);
    assertThat(kubelet.registrations())
        .extracting(r -> r.request().getResourceName())
        .containsExactlyInAnyOrder(RESOURCE, "gpupassthrough.io/1002_73bf");
    await()
        .atMost(WITHIN)
        .untilAsserted(
            () ->
                assertThat(FakeKubelet.health(kubelet.latest("gpupassthrough.io/1002_73bf")))
                    .containsExactly("0000:81:00.0=Healthy"));
  }

  @Test
  void aServerThatCannotBindIsRetriedUntilItCan() throws IOException {
    // Something else occupies the socket path (here a non-empty directory, so it cannot be removed).
    Path socket = dir.resolve(ResourceName.parse(RESOURCE).socketFileName());
    Files.createDirectories(socket.resolve("in-the-way"));
    kubelet.start();
    startPlugin();
    assertThat(advertiser.servers()).isEmpty();

    Files.delete(socket.resolve("in-the-way"));
    Files.delete(socket);

    awaitRegistrations(1);
    assertThat(kubelet.allocate(RESOURCE, List.of("0000:01:00.0")).getContainerResponsesCount()).isEqualTo(1);
  }
}
