package io.gpupassthrough.node.agent;

import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.plugin.AdvertisedDevice;
import io.gpupassthrough.node.plugin.DesiredState;
import io.gpupassthrough.node.plugin.DeviceInventory;
import io.gpupassthrough.node.plugin.HostDeviceInventory;
import io.gpupassthrough.node.plugin.ResourceName;
import io.gpupassthrough.node.host.PciAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * In a cluster, what the plugin advertises is what the last pass verified for a claim, not every
 * GPU on vfio-pci: this is both the plugin's inventory and its desired state. {@link #publish}
 * replaces the set after a pass; {@link #devices()} is the plugin's poll, re-checking each device
 * live (the same check the standalone inventory makes) and reporting health changes to the
 * status recorder.
 */
final class ClaimedDevices implements DeviceInventory, DesiredState {
  /** Called (on the plugin's poll thread) when a device turns healthy or unhealthy. */
  interface HealthListener {
    void healthChanged();
  }

  private final HostRoot host;
  /** Rescans on every call; used only when publishing, for the devices' descriptions. */
  private final HostDeviceInventory scanner;
  private final HealthListener listener;
  private Map<String, AdvertisedDevice> devices = Map.of();
  private Map<String, ResourceName> resources = Map.of();
  private final Map<String, String> problems = new LinkedHashMap<>();
  /** Devices kept listed but not allocatable (Unhealthy), with why: being given back, or held. */
  private Map<String, String> held = Map.of();

  ClaimedDevices(HostRoot host, HealthListener listener) {
    this.host = host;
    this.scanner = new HostDeviceInventory(host, Duration.ZERO);
    this.listener = listener;
  }

  /**
   * Makes exactly these verified devices advertisable, under these names.
   *
   * @return the addresses that were advertised before and must be withdrawn now (gone from the
   *     set, or moved to another resource name)
   */
  synchronized java.util.Set<String> publish(Map<String, ResourceName> wanted) {
    Map<String, AdvertisedDevice> described = new LinkedHashMap<>();
    if (!wanted.isEmpty()) {
      for (AdvertisedDevice d : scanner.devices()) {
        if (wanted.containsKey(d.address())) {
          described.put(d.address(), d);
        }
      }
    }
    java.util.Set<String> withdrawn = new java.util.LinkedHashSet<>();
    for (Map.Entry<String, ResourceName> before : resources.entrySet()) {
      if (!before.getValue().equals(wanted.get(before.getKey()))) {
        withdrawn.add(before.getKey());
      }
    }
    devices = Map.copyOf(described);
    resources = Map.copyOf(wanted);
    problems.keySet().retainAll(wanted.keySet());
    return withdrawn;
  }

  /**
   * Lists these published devices as Unhealthy, with the reason as their problem, until the next
   * call: the kubelet keeps them in capacity but hands none of them out, and {@code Allocate}
   * refuses them at once (its answer comes from the same list). Replaces the previous set.
   */
  synchronized void hold(Map<String, String> unavailable) {
    held = Map.copyOf(unavailable);
  }

  /** Why a device is held unallocatable now, if it is. */
  synchronized Optional<String> heldBecause(String address) {
    return Optional.ofNullable(held.get(address));
  }

  /** The name a device is published under now, if it is. */
  synchronized Optional<ResourceName> resourceOf(String address) {
    return Optional.ofNullable(resources.get(address));
  }

  /** Every published device's name, by address (held ones included: they are listed Unhealthy). */
  synchronized Map<String, ResourceName> published() {
    return resources;
  }

  /** Live problems of the published devices, by address (absent = healthy). */
  synchronized Map<String, String> problems() {
    return Map.copyOf(problems);
  }

  @Override
  public Optional<ResourceName> resourceFor(AdvertisedDevice device) {
    synchronized (this) {
      return Optional.ofNullable(resources.get(device.address()));
    }
  }

  @Override
  public List<AdvertisedDevice> devices() {
    List<AdvertisedDevice> out = new ArrayList<>();
    boolean changed = false;
    synchronized (this) {
      for (AdvertisedDevice d : devices.values()) {
        if (!host.exists(host.paths().pciDevice(PciAddress.parse(d.address())))) {
          changed |= problems.put(d.address(), "device is no longer on the PCI bus") == null;
          continue; // the advertiser keeps it listed as unhealthy
        }
        Optional<String> problem = held.containsKey(d.address())
            ? Optional.of(held.get(d.address()))
            : scanner.problem(d.address());
        changed |= problem.isPresent()
            ? !problem.get().equals(problems.put(d.address(), problem.get()))
            : problems.remove(d.address()) != null;
        out.add(problem.map(d::unhealthy).orElse(d));
      }
    }
    if (changed) {
      listener.healthChanged();
    }
    return out;
  }

  @Override
  public Optional<String> problem(String address) {
    synchronized (this) {
      if (held.containsKey(address)) {
        return Optional.of(held.get(address));
      }
    }
    return scanner.problem(address);
  }
}
