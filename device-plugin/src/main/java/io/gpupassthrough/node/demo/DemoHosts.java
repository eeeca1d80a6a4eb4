package io.gpupassthrough.node.demo;

import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

/** The simulated hosts the demo and the benchmark run on, described like the real machines. */
public final class DemoHosts {
  /** The pci.ids lines these hosts need (the real file has ~40,000 lines). */
  static final String PCI_IDS =
      """
      # excerpt of pci.ids for the simulated host
      10de  NVIDIA Corporation
      \t1aef  GA102 High Definition Audio Controller
      \t2236  GA102GL [A10]
      1234  Technical Corp.
      \t1111  QEMU Virtual Video Controller
      """;

  private DemoHosts() {}

  /**
   * A UEFI workstation with two A10s: the first is the boot GPU whose BAR0 holds the EFI
   * framebuffer (efifb + fbcon on vtcon1), both bound to nouveau, each with its HDMI audio
   * function in its own IOMMU group, one per NUMA node.
   */
  public static SimulatedHost twoGpuWorkstation(Path root) {
    return SimulatedHostBuilder.create()
        .kernelRelease("6.1.0-18-amd64")
        .pciIds(PCI_IDS)
        .gpu("0000:01:00.0", g -> g.bootVga().driver("nouveau").iommuGroup(13).numaNode(0))
        .hdmiAudio("0000:01:00.1", a -> a.iommuGroup(13).numaNode(0))
        .efiFramebuffer("0000:01:00.0")
        .gpu("0000:41:00.0", g -> g.driver("nouveau").iommuGroup(40).numaNode(1))
        .hdmiAudio("0000:41:00.1", a -> a.iommuGroup(40).numaNode(1))
        .build(root);
  }

  /** A GPU server whose {@code gpus} A10s are all already verified on vfio-pci (benchmark). */
  public static SimulatedHost vfioServer(Path root, int gpus) {
    SimulatedHostBuilder b = SimulatedHostBuilder.create().pciIds(PCI_IDS);
    List<String> addresses = vfioServerGpus(gpus);
    for (int i = 0; i < gpus; i++) {
      int group = 20 + i;
      int numa = i < gpus / 2 ? 0 : 1;
      String gpu = addresses.get(i);
      b.gpu(gpu, g -> g.driver("vfio-pci").iommuGroup(group).numaNode(numa));
      b.hdmiAudio(gpu.replace(":00.0", ":00.1"), a -> a.driver("vfio-pci").iommuGroup(group).numaNode(numa));
    }
    return b.build(root);
  }

  /** The GPUs' addresses on {@link #vfioServer}: the device IDs the plugin advertises. */
  public static List<String> vfioServerGpus(int gpus) {
    return IntStream.range(0, gpus).mapToObj(i -> String.format("0000:%02x:00.0", 0x10 + i)).toList();
  }
}
