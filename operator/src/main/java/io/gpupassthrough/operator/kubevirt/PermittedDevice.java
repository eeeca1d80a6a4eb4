package io.gpupassthrough.operator.kubevirt;

import java.util.Locale;

/**
 * One {@code permittedHostDevices.pciHostDevices} entry: KubeVirt lets VMs request
 * {@code resourceName} for PCI devices matching {@code pciVendorSelector} ({@code VENDOR:DEVICE},
 * upper-case hex as KubeVirt's docs write it), and leaves advertising to us
 * ({@code externalResourceProvider: true}).
 */
public record PermittedDevice(String pciVendorSelector, String resourceName) implements Comparable<PermittedDevice> {

  public static PermittedDevice of(String vendor, String device, String resourceName) {
    return new PermittedDevice((vendor + ":" + device).toUpperCase(Locale.ROOT), resourceName);
  }

  /** Identity ignores case: KubeVirt compares selectors case-insensitively. */
  public String key() {
    return pciVendorSelector.toUpperCase(Locale.ROOT) + "=" + resourceName;
  }

  private static final java.util.Comparator<PermittedDevice> ORDER =
      java.util.Comparator.comparing((PermittedDevice p) -> p.pciVendorSelector(), String.CASE_INSENSITIVE_ORDER)
          .thenComparing(PermittedDevice::resourceName);

  @Override
  public int compareTo(PermittedDevice o) {
    return ORDER.compare(this, o);
  }
}
