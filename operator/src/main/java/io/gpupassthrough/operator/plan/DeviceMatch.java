package io.gpupassthrough.operator.plan;

import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import java.util.Collection;
import java.util.List;

/**
 * Device-selector semantics the operator needs: does a reported device match a selector, and can
 * two selectors claim the same device. The agent applies the same semantics on the node.
 */
public final class DeviceMatch {
  private DeviceMatch() {}

  /** Whether a device a node reported is one the selector asks for. */
  public static boolean matches(DeviceSelector s, DeviceStatus d) {
    if (present(s.getAddresses())) {
      return s.getAddresses().contains(d.getAddress());
    }
    return (!present(s.getVendorIds()) || s.getVendorIds().contains(d.getVendor()))
        && (!present(s.getDeviceIds()) || s.getDeviceIds().contains(d.getDevice()))
        && (!present(s.getClasses()) || (d.getPciClass() != null
            && s.getClasses().stream().anyMatch(c -> d.getPciClass().startsWith(c))));
  }

  /**
   * Whether two selectors can, from their text alone, pick the same device: equal addresses, or
   * filters whose vendor, device and class sets all intersect (an absent filter is "any"). An
   * address list against filters cannot be decided without the node's devices: see
   * {@link #overlapOn(DeviceSelector, DeviceSelector, Collection)}.
   */
  public static boolean overlapStatically(DeviceSelector a, DeviceSelector b) {
    boolean aAddr = present(a.getAddresses());
    boolean bAddr = present(b.getAddresses());
    if (aAddr && bAddr) {
      return a.getAddresses().stream().anyMatch(b.getAddresses()::contains);
    }
    if (aAddr || bAddr) {
      return false;
    }
    return intersects(a.getVendorIds(), b.getVendorIds())
        && intersects(a.getDeviceIds(), b.getDeviceIds())
        && classesIntersect(a.getClasses(), b.getClasses());
  }

  /** Static overlap, or some device the node reported matches both. */
  public static boolean overlapOn(DeviceSelector a, DeviceSelector b, Collection<DeviceStatus> reported) {
    return overlapStatically(a, b) || reported.stream().anyMatch(d -> matches(a, d) && matches(b, d));
  }

  private static boolean intersects(List<String> a, List<String> b) {
    return !present(a) || !present(b) || a.stream().anyMatch(b::contains);
  }

  private static boolean classesIntersect(List<String> a, List<String> b) {
    return intersects(a, b);
  }

  static boolean present(List<String> l) {
    return l != null && !l.isEmpty();
  }
}
