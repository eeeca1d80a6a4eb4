package io.gpupassthrough.node.agent;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceSelector;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.aperture.DeviceSelection.VendorDevice;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.plugin.ResourceName;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One {@link DeviceClaim} of the node's spec, validated and turned into the engine's terms. The
 * API server validates the CRD too, but the agent does not trust that: a bad field becomes an
 * {@code InvalidSpec} report naming {@code spec.claims[i]}, never an exception out of a pass.
 *
 * @param index position in {@code spec.claims} (precedence: lower wins)
 * @param owner the {@code GpuPassthrough} the claim came from
 * @param resourceName the claim's explicit name; empty means the per-device default
 */
public record Claim(
    int index,
    String owner,
    DeviceSelection selection,
    Optional<ResourceName> resourceName,
    ConsoleConflictPolicy policy,
    boolean companions) {

  public Claim {
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(selection, "selection");
    Objects.requireNonNull(resourceName, "resourceName");
    Objects.requireNonNull(policy, "policy");
  }

  /** Parses {@code spec.claims[index]}; the message of a failure names the field and the form. */
  public static Claim from(int index, DeviceClaim c) {
    String where = "spec.claims[" + index + "]";
    if (c == null) {
      throw new IllegalArgumentException(where + " is empty");
    }
    if (c.getOwner() == null || c.getOwner().isBlank()) {
      throw new IllegalArgumentException(where + ".owner is missing; the operator sets it to the GpuPassthrough's name");
    }
    where = where + " (owner " + c.getOwner() + ")";
    DeviceSelection selection = selection(where + ".selector", c.getSelector());
    Optional<ResourceName> name;
    try {
      name = c.getResourceName() == null || c.getResourceName().isBlank()
          ? Optional.empty()
          : Optional.of(ResourceName.parse(c.getResourceName()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ".resourceName: " + e.getMessage(), e);
    }
    return new Claim(
        index,
        c.getOwner(),
        selection,
        name,
        c.getConsoleConflicts() == null ? ConsoleConflictPolicy.DETACH : c.getConsoleConflicts(),
        c.getIncludeIommuGroupCompanions() == null || c.getIncludeIommuGroupCompanions());
  }

  /**
   * vendorIds x deviceIds x classes, or explicit addresses. An empty selector would mean "every
   * GPU" to the engine, which no admin asked for: it is rejected.
   */
  private static DeviceSelection selection(String where, DeviceSelector s) {
    if (s == null) {
      throw new IllegalArgumentException(where + " is missing; give addresses, vendorIds or classes");
    }
    List<PciAddress> addresses = new ArrayList<>();
    for (String a : orEmpty(s.getAddresses())) {
      addresses.add(parse(where + ".addresses", a, PciAddress::parse));
    }
    List<Integer> vendors = new ArrayList<>();
    for (String v : orEmpty(s.getVendorIds())) {
      vendors.add(parse(where + ".vendorIds", v, Claim::hexId));
    }
    List<Integer> devices = new ArrayList<>();
    for (String d : orEmpty(s.getDeviceIds())) {
      devices.add(parse(where + ".deviceIds", d, Claim::hexId));
    }
    List<Integer> classes = new ArrayList<>();
    for (String k : orEmpty(s.getClasses())) {
      classes.add(parse(where + ".classes", k, DeviceSelection::parseClass));
    }
    if (addresses.isEmpty() && vendors.isEmpty() && classes.isEmpty()) {
      throw new IllegalArgumentException(where + " selects nothing; give addresses, vendorIds or classes");
    }
    if (!addresses.isEmpty() && !(vendors.isEmpty() && devices.isEmpty() && classes.isEmpty())) {
      throw new IllegalArgumentException(where + ": addresses cannot be combined with vendorIds, deviceIds or classes");
    }
    if (!devices.isEmpty() && vendors.isEmpty()) {
      throw new IllegalArgumentException(where + ".deviceIds requires vendorIds (device IDs are per vendor)");
    }
    List<VendorDevice> pairs = new ArrayList<>();
    for (int v : vendors) {
      if (devices.isEmpty()) {
        pairs.add(new VendorDevice(v, OptionalInt.empty()));
      }
      for (int d : devices) {
        pairs.add(new VendorDevice(v, OptionalInt.of(d)));
      }
    }
    return new DeviceSelection(addresses, pairs, classes);
  }

  private static int hexId(String text) {
    if (text == null || !text.matches("[0-9a-fA-F]{4}")) {
      throw new IllegalArgumentException("'" + text + "' is not a PCI ID; expected four hex digits, e.g. 10de");
    }
    return Integer.parseInt(text, 16);
  }

  private static <T> T parse(String where, String text, java.util.function.Function<String, T> parser) {
    try {
      return parser.apply(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
  }

  private static List<String> orEmpty(List<String> list) {
    return list == null ? List.of() : list;
  }
}
