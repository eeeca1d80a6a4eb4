package io.gpupassthrough.node.vfio;

import io.gpupassthrough.node.host.IommuGroup;
import io.gpupassthrough.node.host.PciDevice;
import java.util.List;

/**
 * A GPU verified on vfio-pci in a snapshot: it and every non-bridge member of its IOMMU group are
 * bound to vfio-pci and {@code /dev/vfio/<group>} exists. What the device plugin advertises.
 */
public record VfioGpu(PciDevice device, IommuGroup group, List<PciDevice> members) {
  public VfioGpu {
    members = List.copyOf(members);
  }
}
