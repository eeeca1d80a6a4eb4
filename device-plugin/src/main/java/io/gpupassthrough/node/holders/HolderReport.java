package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.host.PciAddress;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One holder check over some PCI functions.
 *
 * @param byDevice holders per function (every function asked about has an entry)
 * @param blind what could not be looked at although it should have been (the kubelet's socket is
 *     there but does not answer; some processes' open files are unreadable): then "nobody holds
 *     it" is not known, and nothing may be unbound
 * @param notes sources that do not exist here, e.g. no kubelet on this host; for messages only
 */
public record HolderReport(Map<PciAddress, DeviceHolders> byDevice, List<String> blind, List<String> notes) {
  public HolderReport {
    byDevice = Map.copyOf(byDevice);
    blind = List.copyOf(blind);
    notes = List.copyOf(notes);
  }

  /** The holders of these functions together, reported under {@code device}. */
  public DeviceHolders of(PciAddress device, Collection<PciAddress> functions) {
    DeviceHolders all = DeviceHolders.none(device);
    for (PciAddress f : functions) {
      all = all.plus(Optional.ofNullable(byDevice.get(f)).orElse(DeviceHolders.none(f)));
    }
    return all;
  }

  public DeviceHolders of(PciAddress device) {
    return of(device, List.of(device));
  }

  /** Empty when the check saw everything it had to; else why it could not. */
  public Optional<String> blindness() {
    return blind.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", blind));
  }
}
