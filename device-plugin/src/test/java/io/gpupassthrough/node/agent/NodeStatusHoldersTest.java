package io.gpupassthrough.node.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.holders.DeviceHolders;
import io.gpupassthrough.node.holders.PodHolder;
import io.gpupassthrough.node.holders.ProcessHolder;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.plugin.KubeletConnection.Registration;
import io.gpupassthrough.node.plugin.KubeletConnection.State;
import io.gpupassthrough.node.plugin.ResourceName;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Who holds each device, as the node's status shows it ({@code allocatedTo}, {@code hostHolders}, {@code holders}). */
class NodeStatusHoldersTest {
  private static final PciAddress GPU = PciAddress.parse("0000:41:00.0");
  private static final PciAddress FREE = PciAddress.parse("0000:42:00.0");
  private static final String CONTAINER = "5f3c9a7e1b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e";
  private static final DeviceHolders VM = new DeviceHolders(GPU,
      List.of(new PodHolder("default", "virt-launcher-vm1-x", "compute", "nvidia.com/GA102GL_A10")),
      List.of(new ProcessHolder(4242, "qemu-kvm", "/usr/libexec/qemu-kvm -name guest=default_vm1",
          Optional.of(CONTAINER), Optional.of("8c1f5d2e-3b4a-4c6d-9e8f-0a1b2c3d4e5f"), "/dev/vfio/12"),
          new ProcessHolder(4242, "qemu-kvm", "/usr/libexec/qemu-kvm -name guest=default_vm1",
              Optional.of(CONTAINER), Optional.empty(), "/dev/vfio/devices/vfio0")));

  private static final ResourceName A10 = ResourceName.parse("nvidia.com/GA102GL_A10");
  private static final Map<ResourceName, Registration> REGISTERED = Map.of(A10, new Registration(A10,
      Path.of("/plugins/gpupt-a10.sock"), State.REGISTERED, true, "endpoint x.sock",
      Optional.of(Instant.parse("2025-01-02T03:04:05Z")), true));

  private static DeviceReport verified(PciAddress a, DeviceHolders holders) {
    return new DeviceReport(a, Optional.of(Claims.gpu(a.toString(), 0x10de, 0x2236, 0x030200, 12)),
        List.of(a), Optional.of("nvidia"), "a10", Optional.of(ResourceName.parse("nvidia.com/GA102GL_A10")),
        List.of(), true, Optional.empty(), "bound to vfio-pci and verified", holders);
  }

  @Test
  void aDeviceInUseSaysWhichPodHasItAndWhichProcessHoldsItsFiles() {
    PassResult p = new PassResult(2, List.of(verified(GPU, VM), verified(FREE, DeviceHolders.none(FREE))),
        List.of(), List.of(), Optional.empty());

    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(p, Map.of(), REGISTERED);

    DeviceStatus held = s.getDevices().get(0);
    assertThat(held.getAdvertised()).as("in use by the pod it was allocated to: still advertised").isTrue();
    assertThat(held.getAllocatedTo()).singleElement().satisfies(a -> {
      assertThat(a.getNamespace()).isEqualTo("default");
      assertThat(a.getPod()).isEqualTo("virt-launcher-vm1-x");
      assertThat(a.getContainer()).isEqualTo("compute");
      assertThat(a.getResourceName()).isEqualTo("nvidia.com/GA102GL_A10");
    });
    assertThat(held.getHostHolders()).singleElement().satisfies(h -> {
      assertThat(h.getPid()).isEqualTo(4242L);
      assertThat(h.getCommand()).isEqualTo("qemu-kvm (/usr/libexec/qemu-kvm -name guest=default_vm1)");
      assertThat(h.getContainerId()).isEqualTo(CONTAINER);
      assertThat(h.getFile()).isEqualTo("/dev/vfio/12, /dev/vfio/devices/vfio0");
    });
    DeviceStatus free = s.getDevices().get(1);
    assertThat(free.getAllocatedTo()).isNull();
    assertThat(free.getHostHolders()).isNull();
    assertThat(s.getHolders()).isEqualTo("0000:41:00.0: pod default/virt-launcher-vm1-x");
  }

  @Test
  void withoutAPodTheProcessAnswersWhoHasItAndNothingHeldIsNull() {
    DeviceHolders qemuOnly = new DeviceHolders(GPU, List.of(), VM.processes());
    PassResult held = new PassResult(2, List.of(verified(GPU, qemuOnly)), List.of(), List.of(), Optional.empty());
    PassResult free = new PassResult(2, List.of(verified(GPU, DeviceHolders.none(GPU))), List.of(), List.of(),
        Optional.empty());

    assertThat(NodeStatusBuilder.build(held, Map.of(), REGISTERED).getHolders())
        .isEqualTo("0000:41:00.0: pid 4242 qemu-kvm (container 5f3c9a7e1b2d)");
    assertThat(NodeStatusBuilder.build(free, Map.of(), REGISTERED).getHolders()).isNull();
  }

  @Test
  void aCheckThatCouldNotSeeEverythingSaysSo() {
    PassResult p = new PassResult(2, List.of(verified(GPU, DeviceHolders.none(GPU))), List.of(), List.of(),
        Optional.empty(), Optional.of("the kubelet's PodResources API at /var/lib/kubelet/pod-resources/kubelet.sock did not answer"));
    assertThat(NodeStatusBuilder.build(p, Map.of(), REGISTERED).getHolders())
        .startsWith("holders may be incomplete: the kubelet's PodResources API");
  }

  @Test
  void aRestoreThatWaitsForItsHolderIsWaitingNotFailed() {
    RestoreReport waiting = new RestoreReport("a10", false, List.of(),
        "waiting for pod default/virt-launcher-vm1-x to release 0000:41:00.0",
        Map.of(GPU.toString(), new RestoreReport.Held(Reason.DEVICE_IN_USE, "waiting for pod default/virt-launcher-vm1-x")));
    RestoreReport failed = new RestoreReport("other", false, List.of(), "0000:43:00.0 is on no driver, expected nvidia");
    PassResult p = new PassResult(3, List.of(), List.of(waiting, failed), List.of(), Optional.empty());

    GpuPassthroughNodeStatus s = NodeStatusBuilder.build(p, Map.of(), REGISTERED);

    assertThat(s.getRestores()).extracting(RestoreResult::getOwner, RestoreResult::getState).containsExactly(
        org.assertj.core.groups.Tuple.tuple("a10", RestoreResult.State.WAITING),
        org.assertj.core.groups.Tuple.tuple("other", RestoreResult.State.FAILED));
    assertThat(p.retry()).as("a waiting restore is tried again").isTrue();
  }
}
