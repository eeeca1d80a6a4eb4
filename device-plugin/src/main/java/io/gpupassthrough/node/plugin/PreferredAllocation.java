package io.gpupassthrough.node.plugin;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Picks which devices to hand out (pure): the must-include devices, then devices on the NUMA node
 * that can hold the whole request (preferring the must-include devices' node, then the node with
 * the most free devices), then the rest by address, so a VM stays on one NUMA node when it can.
 */
public final class PreferredAllocation {
  private PreferredAllocation() {}

  public static List<String> choose(
      Map<String, AdvertisedDevice> devices,
      List<String> available,
      List<String> mustInclude,
      int size) {
    if (size <= 0) {
      throw DeviceRequestException.invalid("allocation size must be positive, got " + size);
    }
    Set<String> chosen = new LinkedHashSet<>();
    for (String id : mustInclude) {
      if (!devices.containsKey(id)) {
        throw DeviceRequestException.invalid("unknown must-include device ID '" + id + "'");
      }
      chosen.add(id);
    }
    List<String> candidates = new ArrayList<>();
    for (String id : available) {
      if (!devices.containsKey(id)) {
        throw DeviceRequestException.invalid("unknown available device ID '" + id + "'");
      }
      if (!chosen.contains(id)) {
        candidates.add(id);
      }
    }
    candidates.sort(Comparator.naturalOrder());
    if (chosen.size() >= size) {
      return List.copyOf(chosen);
    }
    Map<Integer, Integer> freePerNode = new HashMap<>();
    for (String id : candidates) {
      numa(devices, id).ifPresent(n -> freePerNode.merge(n, 1, Integer::sum));
    }
    Map<Integer, Integer> mustPerNode = new HashMap<>();
    for (String id : chosen) {
      numa(devices, id).ifPresent(n -> mustPerNode.merge(n, 1, Integer::sum));
    }
    int needed = size - chosen.size();
    Comparator<Integer> preference =
        Comparator.<Integer>comparingInt(n -> freePerNode.getOrDefault(n, 0) >= needed ? 0 : 1)
            .thenComparing(n -> -mustPerNode.getOrDefault(n, 0))
            .thenComparing(n -> -freePerNode.getOrDefault(n, 0))
            .thenComparing(Comparator.naturalOrder());
    List<Integer> nodeOrder = new ArrayList<>(freePerNode.keySet());
    nodeOrder.sort(preference);
    for (int node : nodeOrder) {
      for (String id : candidates) {
        if (chosen.size() == size) {
          return List.copyOf(chosen);
        }
        if (numa(devices, id).equals(OptionalInt.of(node))) {
          chosen.add(id);
        }
      }
    }
    for (String id : candidates) {
      if (chosen.size() == size) {
        break;
      }
      chosen.add(id);
    }
    return List.copyOf(chosen);
  }

  private static OptionalInt numa(Map<String, AdvertisedDevice> devices, String id) {
    return devices.get(id).numaNode();
  }
}
