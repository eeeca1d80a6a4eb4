package io.gpupassthrough.operator.kubevirt;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Pure: merges the operator's entries into KubeVirt's {@code pciHostDevices} list. Ownership is
 * explicit (the set of entry keys the operator added, kept in an annotation on the KubeVirt CR):
 * entries it did not add are never changed or removed, even when they equal one of ours, and it
 * removes only entries it added that are no longer wanted.
 */
public final class KubeVirtMerge {

  /** The merged list, the new owned set, and whether anything changed. */
  public record Result(List<Map<String, Object>> entries, Set<String> owned, boolean changed) {}

  private KubeVirtMerge() {}

  public static Result merge(List<Map<String, Object>> current, Set<String> owned, List<PermittedDevice> desired) {
    Set<String> desiredKeys = new TreeSet<>();
    desired.forEach(d -> desiredKeys.add(d.key()));
    List<Map<String, Object>> out = new ArrayList<>();
    Set<String> present = new TreeSet<>();
    Set<String> foreign = new TreeSet<>();
    for (Map<String, Object> e : current) {
      String k = key(e);
      if (owned.contains(k) && !desiredKeys.contains(k)) {
        continue;
      }
      out.add(e);
      present.add(k);
      if (!owned.contains(k)) {
        foreign.add(k);
      }
    }
    for (PermittedDevice d : desired) {
      if (!present.contains(d.key())) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("pciVendorSelector", d.pciVendorSelector());
        e.put("resourceName", d.resourceName());
        e.put("externalResourceProvider", true);
        out.add(e);
        present.add(d.key());
      }
    }
    Set<String> newOwned = new TreeSet<>(desiredKeys);
    newOwned.removeAll(foreign);
    boolean changed = !out.equals(current) || !newOwned.equals(new TreeSet<>(owned));
    return new Result(List.copyOf(out), newOwned, changed);
  }

  static String key(Map<String, Object> entry) {
    Object sel = entry.get("pciVendorSelector");
    Object rn = entry.get("resourceName");
    return new PermittedDevice(sel == null ? "" : sel.toString(), rn == null ? "" : rn.toString()).key();
  }
}
