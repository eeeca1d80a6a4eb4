package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.Objects;

/**
 * One {@link GpuPassthrough}'s claim on a node, as the operator hands it to that node's agent. The
 * operator has already resolved overlaps (the older resource wins), so on one node no device is
 * matched by two claims; should the agent still find one, the first claim in the list wins and the
 * device is reported with reason {@code ClaimConflict} for the other.
 */
public class DeviceClaim {
  @Required
  @Size(max = ApiPatterns.MAX_NAME_LENGTH)
  private String owner;

  @Required private DeviceSelector selector;

  @Pattern(ResourceNameRule.PATTERN)
  @Size(max = ResourceNameRule.MAX_LENGTH)
  @ValidationRule(value = ResourceNameRule.CEL_NOT_NATIVE, message = ResourceNameRule.NOT_NATIVE_MESSAGE)
  @ValidationRule(value = ResourceNameRule.CEL_NOT_QUOTA, message = ResourceNameRule.NOT_QUOTA_MESSAGE)
  @ValidationRule(value = ResourceNameRule.CEL_DOMAIN_LENGTH, message = ResourceNameRule.DOMAIN_LENGTH_MESSAGE)
  private String resourceName;

  private ConsoleConflictPolicy consoleConflicts = ConsoleConflictPolicy.DETACH;
  private Boolean includeIommuGroupCompanions = Boolean.TRUE;

  public DeviceClaim() {}

  /** Name of the owning {@link GpuPassthrough}; the agent copies it into each device's status. */
  public String getOwner() {
    return owner;
  }

  public void setOwner(String owner) {
    this.owner = owner;
  }

  /** Copied from the owner's {@code spec.devices}. */
  public DeviceSelector getSelector() {
    return selector;
  }

  public void setSelector(DeviceSelector selector) {
    this.selector = selector;
  }

  /** The owner's explicit resource name, or null: the agent derives the default from pci.ids. */
  public String getResourceName() {
    return resourceName;
  }

  public void setResourceName(String resourceName) {
    this.resourceName = resourceName;
  }

  public ConsoleConflictPolicy getConsoleConflicts() {
    return consoleConflicts;
  }

  public void setConsoleConflicts(ConsoleConflictPolicy consoleConflicts) {
    this.consoleConflicts = consoleConflicts;
  }

  public Boolean getIncludeIommuGroupCompanions() {
    return includeIommuGroupCompanions;
  }

  public void setIncludeIommuGroupCompanions(Boolean includeIommuGroupCompanions) {
    this.includeIommuGroupCompanions = includeIommuGroupCompanions;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof DeviceClaim o && Objects.equals(owner, o.owner) && Objects.equals(selector, o.selector) && Objects.equals(resourceName, o.resourceName) && Objects.equals(consoleConflicts, o.consoleConflicts) && Objects.equals(includeIommuGroupCompanions, o.includeIommuGroupCompanions);
  }

  @Override
  public int hashCode() {
    return Objects.hash(owner, selector, resourceName, consoleConflicts, includeIommuGroupCompanions);
  }
}
