package io.gpupassthrough.node.plugin;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** The device plugin's meters; names are the Prometheus names minus Micrometer's suffixes. */
public final class PluginMetrics {
  private final MeterRegistry registry;
  private final ConcurrentMap<String, DeviceListFeed> feeds = new ConcurrentHashMap<>();

  public PluginMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Exposes healthy/unhealthy device counts of a resource as gauges (the latest feed wins). */
  void track(ResourceName resource, DeviceListFeed feed) {
    String key = resource.toString();
    if (feeds.put(key, feed) != null) {
      return; // gauges already registered; they read the map, so they follow the new feed
    }
    for (DeviceHealth health : DeviceHealth.values()) {
      Gauge.builder(
              "gpupt.devices",
              feeds,
              m -> m.get(key).devices().values().stream().filter(d -> d.health() == health).count())
          .description("Devices advertised to the kubelet, by resource and health")
          .tag("resource", key)
          .tag("health", health.kubeletValue())
          .register(registry);
    }
  }

  void allocation(ResourceName resource, String outcome, long nanos) {
    Timer.builder("gpupt.allocate")
        .description("Allocate calls answered, by outcome")
        .tag("resource", resource.toString())
        .tag("outcome", outcome)
        .register(registry)
        .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  void registration(ResourceName resource, String outcome) {
    Counter.builder("gpupt.registrations")
        .description("Register calls to the kubelet, by outcome")
        .tag("resource", resource.toString())
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  void healthChange(ResourceName resource) {
    Counter.builder("gpupt.device.list.updates")
        .description("Device list changes sent to ListAndWatch streams")
        .tag("resource", resource.toString())
        .register(registry)
        .increment();
  }
}
