package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;
import java.util.Objects;

/**
 * A deleted {@link GpuPassthrough} (with {@code restoreOnDelete}) asks this node to give its devices
 * back: stop advertising them, unbind them and their IOMMU group companions from vfio-pci, clear
 * {@code driver_override} and re-probe so the original drivers take them. The agent answers with a
 * {@link RestoreResult} for the same owner in its status.
 */
public class RestoreRequest {
  @Required
  @Size(max = ApiPatterns.MAX_NAME_LENGTH)
  private String owner;

  @Size(max = ApiPatterns.MAX_ADDRESSES)
  private List<@Pattern(ApiPatterns.PCI_ADDRESS) @Size(max = ApiPatterns.MAX_PCI_STRING_LENGTH) String> addresses;

  public RestoreRequest() {}

  /** Name of the deleted {@link GpuPassthrough}. */
  public String getOwner() {
    return owner;
  }

  public void setOwner(String owner) {
    this.owner = owner;
  }

  /** The GPUs this node last reported for the owner (companions follow their GPU). */
  public List<String> getAddresses() {
    return addresses;
  }

  public void setAddresses(List<String> addresses) {
    this.addresses = addresses;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof RestoreRequest o && Objects.equals(owner, o.owner) && Objects.equals(addresses, o.addresses);
  }

  @Override
  public int hashCode() {
    return Objects.hash(owner, addresses);
  }
}
