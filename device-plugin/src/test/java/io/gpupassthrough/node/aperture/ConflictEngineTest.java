package io.gpupassthrough.node.aperture;

import static org.assertj.core.api.Assertions.assertThat;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.node.aperture.Conflict.Release;
import io.gpupassthrough.node.host.Bar;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.Snapshot;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The engine over in-memory snapshots: which conflicts, which steps in which order, which refusals. */
class ConflictEngineTest {
  private static final String GPU = "0000:01:00.0";
  private static final String AUDIO = "0000:01:00.1";
  private static final String SECOND = "0000:02:00.0";
  private static final List<Bar> AUDIO_BARS = List.of(new Bar(0, 0x82000000L, 0x82003fffL, 0x40200));

  /** UEFI host: efifb in BAR1 of the GPU, fbcon on vtcon1, HDMI audio in the GPU's group. */
  private static Snapshots uefi() {
    return Snapshots.host()
        .gpu(GPU, 0x81000000L, 0x380000000000L, true, "nouveau", 1)
        .device(AUDIO, 0x040300, AUDIO_BARS, false, "snd_hda_intel", 1)
        .iomem("80000000-afffffff : PCI Bus 0000:00",
            "  81000000-81ffffff : 0000:01:00.0",
            "  82000000-82003fff : 0000:01:00.1",
            "380000000000-3fffffffffff : PCI Bus 0000:00",
            "  380000000000-38000fffffff : 0000:01:00.0",
            "    380000000000-3800002fffff : efifb")
        .platformFb("efi-framebuffer.0", "efi-framebuffer")
        .fb("fb0", "efi-framebuffer.0")
        .vt("vtcon0", "(S) dummy device", false)
        .vt("vtcon1", "(M) frame buffer device", true);
  }

  private static DevicePlan plan(Snapshot s, String address, ConsoleConflictPolicy policy,
      boolean companions) {
    return ConflictEngine.plan(s, DeviceSelection.of(PciAddress.parse(address)), policy, companions)
        .devices().get(0);
  }

  private static DevicePlan plan(Snapshot s, String address) {
    return plan(s, address, ConsoleConflictPolicy.DETACH, true);
  }

  @Test
  void uefiGpuDetachesFbconThenEfifbThenBindsGroupInOrder() {
    DevicePlan p = plan(uefi().build(), GPU);

    assertThat(p.disposition()).isEqualTo(Disposition.READY);
    assertThat(p.conflicts()).extracting(Conflict::kind, Conflict::name, Conflict::driver)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(ConflictKind.VTCONSOLE, "vtcon1", Optional.of("fbcon")),
            org.assertj.core.groups.Tuple.tuple(ConflictKind.FRAMEBUFFER, "efi-framebuffer.0", Optional.of("efifb")));
    assertThat(p.conflicts().get(1).hexStart()).isEqualTo("380000000000");
    assertThat(p.conflicts().get(1).hexEnd()).isEqualTo("3800002fffff");
    assertThat(p.steps()).extracting(Step::describe).containsExactly(
        "unbind fbcon from vtcon1",
        "unbind efi-framebuffer.0 from efi-framebuffer",
        "unbind 0000:01:00.0 from nouveau",
        "unbind 0000:01:00.1 from snd_hda_intel",
        "set driver_override of 0000:01:00.0 to vfio-pci",
        "set driver_override of 0000:01:00.1 to vfio-pci",
        "probe 0000:01:00.0",
        "probe 0000:01:00.1");
    assertThat(p.steps()).allSatisfy(s -> assertThat(s.why()).isNotBlank());
  }

  @Test
  void secondaryGpuLeavesPrimaryConsoleAlone() {
    Snapshot s = uefi().gpu(SECOND, 0x90000000L, 0x390000000000L, false, "nouveau", 2)
        .iomem("90000000-9fffffff : PCI Bus 0000:00", "  90000000-90ffffff : 0000:02:00.0")
        .build();

    DevicePlan p = plan(s, SECOND);

    assertThat(p.disposition()).isEqualTo(Disposition.READY);
    assertThat(p.conflicts()).isEmpty();
    assertThat(p.steps()).noneMatch(st -> st instanceof Step.UnbindVtConsole
        || st instanceof Step.UnbindPlatformDriver);
  }

  @Test
  void bootVgaWithBoundVgaconUnbindsVgaconAfterFramebuffersBeforeLinuxSix() {
    Snapshot s = Snapshots.host().kernel("5.10.0-28-amd64")
        .gpu("0000:00:01.0", 0xfd000000L, 0x380000000000L, true, null, 1)
        .iomem("c0000000-febfffff : PCI Bus 0000:00",
            "  fd000000-fdffffff : 0000:00:01.0",
            "    fd000000-fdffffff : vesafb")
        .platformFb("vesa-framebuffer.0", "vesa-framebuffer")
        .fb("fb0", "vesa-framebuffer.0")
        .vt("vtcon0", "(S) VGA+", true)
        .vt("vtcon1", "(M) frame buffer device", true)
        .build();

    DevicePlan p = plan(s, "0000:00:01.0");

    assertThat(p.conflicts()).extracting(Conflict::kind)
        .containsExactly(ConflictKind.VTCONSOLE, ConflictKind.FRAMEBUFFER, ConflictKind.VGACON);
    assertThat(p.conflicts().get(2).hexStart()).isEqualTo("a0000");
    assertThat(p.steps()).extracting(Step::describe).startsWith(
        "unbind fbcon from vtcon1", "unbind vesa-framebuffer.0 from vesa-framebuffer",
        "unbind vgacon from vtcon0");
  }

  @Test
  void onLinuxSixVgaconIsLeftToVfioPciWhichDeactivatesItOnBind() {
    Snapshot s = Snapshots.host()
        .gpu("0000:00:01.0", 0xfd000000L, 0x380000000000L, true, null, 1)
        .vt("vtcon0", "(S) VGA+", true)
        .build();

    DevicePlan p = plan(s, "0000:00:01.0");

    assertThat(p.conflicts()).singleElement().satisfies(c -> {
      assertThat(c.kind()).isEqualTo(ConflictKind.VGACON);
      assertThat(c.release()).isEqualTo(Release.KERNEL_ON_BIND);
    });
    assertThat(p.steps()).extracting(Step::describe)
        .containsExactly("set driver_override of 0000:00:01.0 to vfio-pci", "probe 0000:00:01.0");
    assertThat(plan(s, "0000:00:01.0", ConsoleConflictPolicy.FAIL, true).refusal())
        .hasValueSatisfying(r -> assertThat(r.reason()).isEqualTo(Reason.CONSOLE_CONFLICT));
  }

  @Test
  void vgaconIsNotAConflictForANonBootGpu() {
    Snapshot s = uefi().vt("vtcon2", "(S) VGA+", true)
        .gpu(SECOND, 0x90000000L, 0x390000000000L, false, null, 2).build();

    assertThat(plan(s, SECOND).conflicts()).isEmpty();
  }

  static Stream<Arguments> policies() {
    return Stream.of(
        Arguments.of("Detach detaches", ConsoleConflictPolicy.DETACH, Disposition.READY, null, 8),
        Arguments.of("Fail refuses", ConsoleConflictPolicy.FAIL, Disposition.REFUSED,
            Reason.CONSOLE_CONFLICT, 0),
        Arguments.of("Ignore binds without detaching", ConsoleConflictPolicy.IGNORE,
            Disposition.READY, null, 6));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("policies")
  void policyDecidesWhatHappensToConflicts(String name, ConsoleConflictPolicy policy,
      Disposition disposition, Reason reason, int steps) {
    DevicePlan p = plan(uefi().build(), GPU, policy, true);

    assertThat(p.disposition()).isEqualTo(disposition);
    assertThat(p.refusal().map(Refusal::reason).orElse(null)).isEqualTo(reason);
    assertThat(p.steps()).hasSize(steps);
    assertThat(p.conflicts()).hasSize(2);
  }

  static Stream<Arguments> bootfb() {
    return Stream.of(
        Arguments.of("5.19 VGA: held by firmware", "5.19.0-50-generic", 0x030000,
            Release.NONE, Disposition.REFUSED),
        Arguments.of("6.1 VGA: vfio-pci evicts it", "6.1.0-18-amd64", 0x030000,
            Release.KERNEL_ON_BIND, Disposition.READY),
        Arguments.of("6.1 3D controller: kernel does not cover 0x0302", "6.1.0-18-amd64", 0x030200,
            Release.NONE, Disposition.REFUSED));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootfb")
  void bootfbLeftBehindIsOnlyReleasableByTheKernel(String name, String kernel, int pciClass,
      Release release, Disposition disposition) {
    Snapshot s = Snapshots.host().kernel(kernel)
        .device("0000:03:00.0", pciClass, List.of(new Bar(0, 0xc0000000L, 0xcfffffffL, 0x14220c)),
            true, null, 4)
        .iomem("c0000000-febfffff : PCI Bus 0000:00",
            "  c0000000-cfffffff : 0000:03:00.0",
            "    c0000000-c07e8fff : BOOTFB")
        .platformFb("simple-framebuffer.0", null)
        .build();

    DevicePlan p = plan(s, "0000:03:00.0");

    assertThat(p.conflicts()).singleElement().satisfies(c -> {
      assertThat(c.name()).isEqualTo("BOOTFB");
      assertThat(c.release()).isEqualTo(release);
    });
    assertThat(p.disposition()).isEqualTo(disposition);
    if (disposition == Disposition.REFUSED) {
      assertThat(p.refusal().orElseThrow().reason()).isEqualTo(Reason.FIRMWARE_FRAMEBUFFER_HELD);
      assertThat(p.refusal().orElseThrow().message()).contains("initcall_blacklist=sysfb_init");
    }
  }

  static Stream<Arguments> refusals() {
    return Stream.of(
        Arguments.of("no IOMMU group", Snapshots.host()
            .gpu(GPU, 0x81000000L, 0x380000000000L, true, "nouveau", null), true,
            Reason.NO_IOMMU, "intel_iommu=on"),
        Arguments.of("vfio-pci module not loaded", uefi().vfioNotLoaded(), true,
            Reason.VFIO_PCI_NOT_LOADED, "modprobe vfio-pci"),
        Arguments.of("/proc/iomem read without root", Snapshots.host()
            .gpu(GPU, 0x81000000L, 0x380000000000L, true, "nouveau", 1)
            .iomem("00000000-00000000 : PCI Bus 0000:00"), true,
            Reason.HOST_READ_ERROR, "run the node agent as root"),
        Arguments.of("NIC in the group is never taken", uefi().device("0000:01:00.2", 0x020000,
            List.of(), false, "e1000e", 1), true, Reason.IOMMU_GROUP_IN_USE, "storage or network"),
        Arguments.of("companions off, audio on its driver", uefi(), false,
            Reason.IOMMU_GROUP_IN_USE, "includeIommuGroupCompanions"),
        Arguments.of("unknown owner on the BAR", Snapshots.host()
            .gpu(GPU, 0x81000000L, 0x380000000000L, false, "nouveau", 1)
            .iomem("80000000-afffffff : PCI Bus 0000:00",
                "  81000000-81ffffff : 0000:01:00.0",
                "    81000000-810fffff : mystery-fb"), true,
            Reason.CONSOLE_CONFLICT, "mystery-fb"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusals")
  void refusalsCarryAReasonAndTellWhatToDo(String name, Snapshots host, boolean companions,
      Reason reason, String hint) {
    DevicePlan p = plan(host.build(), GPU, ConsoleConflictPolicy.DETACH, companions);

    assertThat(p.disposition()).isEqualTo(Disposition.REFUSED);
    assertThat(p.refusal().orElseThrow().reason()).isEqualTo(reason);
    assertThat(p.refusal().orElseThrow().message()).contains(hint);
    assertThat(p.steps()).isEmpty();
  }

  @Test
  void ownDriverRangeGoesWithTheGpuUnbindAndIsNoRefusal() {
    Snapshot s = Snapshots.host()
        .gpu(GPU, 0x81000000L, 0x380000000000L, false, "nouveau", 1)
        .iomem("80000000-afffffff : PCI Bus 0000:00",
            "  81000000-81ffffff : 0000:01:00.0",
            "    81000000-810fffff : nouveau")
        .build();

    DevicePlan p = plan(s, GPU);

    assertThat(p.disposition()).isEqualTo(Disposition.READY);
    assertThat(p.conflicts()).singleElement()
        .satisfies(c -> assertThat(c.release()).isEqualTo(Release.WITH_GPU_DRIVER));
  }

  @Test
  void companionsOffWithAudioAlreadyOnVfioIsFine() {
    Snapshot s = Snapshots.host()
        .gpu(GPU, 0x81000000L, 0x380000000000L, false, "nouveau", 1)
        .device(AUDIO, 0x040300, AUDIO_BARS, false, "vfio-pci", 1)
        .build();

    DevicePlan p = plan(s, GPU, ConsoleConflictPolicy.DETACH, false);

    assertThat(p.disposition()).isEqualTo(Disposition.READY);
    assertThat(p.companions()).isEmpty();
  }

  @Test
  void bridgesInTheGroupAreNeverTouched() {
    Snapshot s = uefi().device("0000:00:01.0", 0x060400, List.of(), false, "pcieport", 1).build();

    DevicePlan p = plan(s, GPU);

    assertThat(p.companions()).extracting(d -> d.address().toString()).containsExactly(AUDIO);
    assertThat(p.steps()).noneMatch(st -> st.describe().contains("0000:00:01.0"));
  }

  @Test
  void alreadyBoundGroupNeedsNothing() {
    Snapshot s = Snapshots.host()
        .gpu(GPU, 0x81000000L, 0x380000000000L, false, "vfio-pci", 1)
        .device(AUDIO, 0x040300, AUDIO_BARS, false, "vfio-pci", 1)
        .vfioNode(1)
        .build();

    DevicePlan p = plan(s, GPU);

    assertThat(p.disposition()).isEqualTo(Disposition.ALREADY_PREPARED);
    assertThat(p.steps()).isEmpty();
  }

  @Test
  void selectingANonGpuOrAMissingAddressIsRefusedNotSkipped() {
    Plan plan = ConflictEngine.plan(uefi().build(),
        DeviceSelection.of(PciAddress.parse(AUDIO), PciAddress.parse("0000:09:00.0")),
        ConsoleConflictPolicy.DETACH, true);

    assertThat(plan.devices()).extracting(d -> d.refusal().orElseThrow().reason())
        .containsExactly(Reason.UNSUPPORTED_CLASS, Reason.DEVICE_GONE);
  }

  @Test
  void selectionByVendorDeviceAndClassMatchesAllGiven() {
    Snapshot s = uefi().gpu(SECOND, 0x90000000L, 0x390000000000L, false, null, 2).build();

    assertThat(ConflictEngine.plan(s, new DeviceSelection(List.of(),
        List.of(DeviceSelection.VendorDevice.parse("10de:2236")), List.of(0x0300)),
        ConsoleConflictPolicy.DETACH, true).devices()).hasSize(2);
    assertThat(ConflictEngine.plan(s, new DeviceSelection(List.of(),
        List.of(DeviceSelection.VendorDevice.parse("1002")), List.of()),
        ConsoleConflictPolicy.DETACH, true).devices()).isEmpty();
    assertThat(ConflictEngine.plan(s, new DeviceSelection(List.of(), List.of(), List.of(0x0302)),
        ConsoleConflictPolicy.DETACH, true).devices()).isEmpty();
  }
}
