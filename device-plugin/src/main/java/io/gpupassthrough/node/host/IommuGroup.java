package io.gpupassthrough.node.host;

import java.util.List;

/** {@code /sys/kernel/iommu_groups/<number>/devices/*}: vfio hands out whole groups only. */
public record IommuGroup(int number, List<PciAddress> members) {
  public IommuGroup {
    members = List.copyOf(members.stream().sorted().toList());
  }
}
