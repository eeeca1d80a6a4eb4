package io.gpupassthrough.operator.plan;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.gpupassthrough.api.v1alpha1.ApiPatterns;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughSpec;
import io.gpupassthrough.api.v1alpha1.ResourceNameRule;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The CRD schema's rules, checked again by the operator: the API server enforces them on a real
 * cluster, but a CRD applied without its schema (or an old one), and the mock server in tests,
 * would let bad input through. Same patterns ({@link ApiPatterns}), the same resource-name rule
 * ({@link ResourceNameRule}) and the same messages as the CEL rules.
 */
public final class SpecValidator {
  private static final Pattern PCI_ADDRESS = Pattern.compile(ApiPatterns.PCI_ADDRESS);
  private static final Pattern PCI_ID = Pattern.compile(ApiPatterns.PCI_ID);
  private static final Pattern PCI_CLASS = Pattern.compile(ApiPatterns.PCI_CLASS);

  private SpecValidator() {}

  /** Throws with every problem found, each naming the field, the value and the expected form. */
  public static void requireValid(GpuPassthroughSpec spec) throws InvalidSpecException {
    List<String> problems = problems(spec);
    if (!problems.isEmpty()) {
      throw new InvalidSpecException(problems);
    }
  }

  static List<String> problems(GpuPassthroughSpec spec) {
    List<String> p = new ArrayList<>();
    if (spec == null) {
      p.add("spec: missing; give at least spec.devices");
      return p;
    }
    DeviceSelector d = spec.getDevices();
    if (d == null) {
      p.add("spec.devices: required; give addresses, vendorIds or classes");
    } else {
      checkList(p, "spec.devices.vendorIds", d.getVendorIds(), PCI_ID, ApiPatterns.PCI_ID_EXAMPLE);
      checkList(p, "spec.devices.deviceIds", d.getDeviceIds(), PCI_ID, ApiPatterns.PCI_ID_EXAMPLE);
      checkList(p, "spec.devices.classes", d.getClasses(), PCI_CLASS, ApiPatterns.PCI_CLASS_EXAMPLE);
      checkList(p, "spec.devices.addresses", d.getAddresses(), PCI_ADDRESS, ApiPatterns.PCI_ADDRESS_EXAMPLE);
      boolean addr = d.getAddresses() != null;
      boolean filters = d.getVendorIds() != null || d.getDeviceIds() != null || d.getClasses() != null;
      if (!addr && d.getVendorIds() == null && d.getClasses() == null) {
        p.add("spec.devices: give addresses, vendorIds or classes");
      }
      if (addr && filters) {
        p.add("spec.devices: addresses cannot be combined with vendorIds, deviceIds or classes");
      }
      if (d.getDeviceIds() != null && d.getVendorIds() == null) {
        p.add("spec.devices: deviceIds requires vendorIds (device IDs are only unique per vendor)");
      }
    }
    String rn = spec.getResourceName();
    if (rn != null) {
      ResourceNameRule.problem(rn).ifPresent(why ->
          p.add("spec.resourceName: '" + rn + "' is not an extended resource name the kubelet accepts: " + why));
    }
    checkSelector(p, spec.getNodeSelector());
    return p;
  }

  private static void checkList(List<String> p, String field, List<String> values, Pattern pattern, String expected) {
    if (values == null) {
      return;
    }
    if (values.isEmpty()) {
      p.add(field + ": empty list; remove the field or give at least one value");
    }
    for (int i = 0; i < values.size(); i++) {
      String v = values.get(i);
      if (v == null || !pattern.matcher(v).find()) {
        p.add(field + "[" + i + "]: '" + v + "' is malformed; expected " + expected);
      }
    }
  }

  private static void checkSelector(List<String> p, LabelSelector s) {
    if (s == null || s.getMatchExpressions() == null) {
      return;
    }
    for (int i = 0; i < s.getMatchExpressions().size(); i++) {
      LabelSelectorRequirement r = s.getMatchExpressions().get(i);
      String at = "spec.nodeSelector.matchExpressions[" + i + "]";
      boolean hasValues = r.getValues() != null && !r.getValues().isEmpty();
      if (r.getKey() == null || r.getKey().isBlank()) {
        p.add(at + ".key: required");
      }
      if (r.getOperator() == null || !NodeSelection.OPERATORS.contains(r.getOperator())) {
        p.add(at + ".operator: '" + r.getOperator() + "' is not one of In, NotIn, Exists, DoesNotExist");
      } else if ((r.getOperator().equals("In") || r.getOperator().equals("NotIn")) && !hasValues) {
        p.add(at + ".values: operator " + r.getOperator() + " needs at least one value");
      } else if ((r.getOperator().equals("Exists") || r.getOperator().equals("DoesNotExist")) && hasValues) {
        p.add(at + ".values: operator " + r.getOperator() + " takes no values");
      }
    }
  }
}
