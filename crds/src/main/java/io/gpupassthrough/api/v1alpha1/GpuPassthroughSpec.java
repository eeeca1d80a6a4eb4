package io.gpupassthrough.api.v1alpha1;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.LabelSelector;

/** What an admin asks for: which nodes, which devices, under which resource name and policy. */
public class GpuPassthroughSpec {
  private LabelSelector nodeSelector;

  @Required private DeviceSelector devices;

  @Pattern(ResourceNameRule.PATTERN)
  @Size(max = ResourceNameRule.MAX_LENGTH)
  @ValidationRule(value = ResourceNameRule.CEL_NOT_NATIVE, message = ResourceNameRule.NOT_NATIVE_MESSAGE)
  @ValidationRule(value = ResourceNameRule.CEL_NOT_QUOTA, message = ResourceNameRule.NOT_QUOTA_MESSAGE)
  @ValidationRule(value = ResourceNameRule.CEL_DOMAIN_LENGTH, message = ResourceNameRule.DOMAIN_LENGTH_MESSAGE)
  private String resourceName;

  @Default("Detach")
  private ConsoleConflictPolicy consoleConflicts = ConsoleConflictPolicy.DETACH;

  @Default("true")
  private Boolean includeIommuGroupCompanions = Boolean.TRUE;

  @Default("true")
  private Boolean restoreOnDelete = Boolean.TRUE;

  // An object default, so the server fills in kubevirt.permit too when the admin leaves kubevirt out
  // (a default inside an absent object is never applied).
  @Default("{}")
  private KubeVirtIntegration kubevirt = new KubeVirtIntegration();

  public GpuPassthroughSpec() {}

  /** Nodes this applies to; absent or empty selects every node. */
  public LabelSelector getNodeSelector() {
    return nodeSelector;
  }

  public void setNodeSelector(LabelSelector nodeSelector) {
    this.nodeSelector = nodeSelector;
  }

  /** Which PCI functions to pass through on the selected nodes. */
  public DeviceSelector getDevices() {
    return devices;
  }

  public void setDevices(DeviceSelector devices) {
    this.devices = devices;
  }

  /**
   * Extended resource name to advertise; absent means each node derives it from pci.ids
   * ({@code nvidia.com/GA102GL_A10}, falling back to {@code gpupassthrough.io/<vendor>_<device>}).
   */
  public String getResourceName() {
    return resourceName;
  }

  public void setResourceName(String resourceName) {
    this.resourceName = resourceName;
  }

  /** What to do about console framebuffers overlapping a GPU's BARs. */
  public ConsoleConflictPolicy getConsoleConflicts() {
    return consoleConflicts;
  }

  public void setConsoleConflicts(ConsoleConflictPolicy consoleConflicts) {
    this.consoleConflicts = consoleConflicts;
  }

  /** Bind the other functions of the GPU's IOMMU group (HDMI audio) to vfio-pci too. */
  public Boolean getIncludeIommuGroupCompanions() {
    return includeIommuGroupCompanions;
  }

  public void setIncludeIommuGroupCompanions(Boolean includeIommuGroupCompanions) {
    this.includeIommuGroupCompanions = includeIommuGroupCompanions;
  }

  /** On delete, give the devices back to their original drivers before the resource goes away. */
  public Boolean getRestoreOnDelete() {
    return restoreOnDelete;
  }

  public void setRestoreOnDelete(Boolean restoreOnDelete) {
    this.restoreOnDelete = restoreOnDelete;
  }

  /** KubeVirt wiring. */
  public KubeVirtIntegration getKubevirt() {
    return kubevirt;
  }

  public void setKubevirt(KubeVirtIntegration kubevirt) {
    this.kubevirt = kubevirt;
  }
}
