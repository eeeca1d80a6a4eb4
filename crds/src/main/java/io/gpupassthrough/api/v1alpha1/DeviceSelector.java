package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Objects;

/**
 * Which PCI functions on a node a {@link GpuPassthrough} claims. Either explicit {@code addresses},
 * or filters: a device matches when it matches every filter that is given (vendor AND device AND
 * class). Device IDs are only unique per vendor, so {@code deviceIds} requires {@code vendorIds}.
 * The agent only ever takes display-class functions (and, with companions on, their IOMMU group).
 */
@ValidationRule(
    value = "has(self.addresses) || has(self.vendorIds) || has(self.classes)",
    message = "give addresses, vendorIds or classes")
@ValidationRule(
    value = "!has(self.addresses) || (!has(self.vendorIds) && !has(self.deviceIds) && !has(self.classes))",
    message = "addresses cannot be combined with vendorIds, deviceIds or classes")
@ValidationRule(value = "!has(self.deviceIds) || has(self.vendorIds)", message = "deviceIds requires vendorIds")
public class DeviceSelector {
  @Size(max = ApiPatterns.MAX_IDS)
  private List<@Pattern(ApiPatterns.PCI_ID) @Size(max = ApiPatterns.MAX_PCI_STRING_LENGTH) String> vendorIds;

  @Size(max = ApiPatterns.MAX_IDS)
  private List<@Pattern(ApiPatterns.PCI_ID) @Size(max = ApiPatterns.MAX_PCI_STRING_LENGTH) String> deviceIds;

  @Size(max = ApiPatterns.MAX_IDS)
  private List<@Pattern(ApiPatterns.PCI_CLASS) @Size(max = ApiPatterns.MAX_PCI_STRING_LENGTH) String> classes;

  @Size(max = ApiPatterns.MAX_ADDRESSES)
  private List<@Pattern(ApiPatterns.PCI_ADDRESS) @Size(max = ApiPatterns.MAX_PCI_STRING_LENGTH) String> addresses;

  public DeviceSelector() {}

  /** PCI vendor IDs, e.g. {@code 10de}. */
  public List<String> getVendorIds() {
    return vendorIds;
  }

  public void setVendorIds(List<String> vendorIds) {
    this.vendorIds = vendorIds;
  }

  /** PCI device IDs, e.g. {@code 2236}; needs {@link #getVendorIds()}. */
  public List<String> getDeviceIds() {
    return deviceIds;
  }

  public void setDeviceIds(List<String> deviceIds) {
    this.deviceIds = deviceIds;
  }

  /** PCI class and subclass, e.g. {@code 0300} (VGA), {@code 0302} (3D), {@code 0380}. */
  public List<String> getClasses() {
    return classes;
  }

  public void setClasses(List<String> classes) {
    this.classes = classes;
  }

  /** Explicit PCI addresses, e.g. {@code 0000:01:00.0}. */
  public List<String> getAddresses() {
    return addresses;
  }

  public void setAddresses(List<String> addresses) {
    this.addresses = addresses;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof DeviceSelector o && Objects.equals(vendorIds, o.vendorIds) && Objects.equals(deviceIds, o.deviceIds) && Objects.equals(classes, o.classes) && Objects.equals(addresses, o.addresses);
  }

  @Override
  public int hashCode() {
    return Objects.hash(vendorIds, deviceIds, classes, addresses);
  }
}
