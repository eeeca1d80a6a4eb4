package io.gpupassthrough.node.plugin;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the host's GPUs into advertised devices: one plugin server per resource name, device
 * lists re-published on every health change. It polls the inventory on its own thread because
 * sysfs does not raise inotify events for driver binds (the {@code driver} link just changes), and
 * a 250 ms poll keeps a change well inside the kubelet's one-second expectation.
 *
 * <p>A device once advertised stays in its resource's list: when it leaves vfio-pci or the bus it
 * turns Unhealthy (the kubelet then stops placing pods on it), and turns Healthy again when it
 * comes back.
 */
public final class DeviceAdvertiser implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DeviceAdvertiser.class);
  public static final Duration DEFAULT_POLL = Duration.ofMillis(250);

  private final DeviceInventory inventory;
  private final DesiredState desired;
  private final Path pluginDir;
  private final UnixSocketTransport transport;
  private final PluginMetrics metrics;
  private final KubeletConnection kubelet;
  private final Duration poll;
  private final Map<String, ResourceName> assigned = new LinkedHashMap<>();
  private final Map<ResourceName, PluginServer> servers = new LinkedHashMap<>();
  private final Map<String, AdvertisedDevice> lastSeen = new LinkedHashMap<>();
  private final ScheduledExecutorService poller =
      Executors.newSingleThreadScheduledExecutor(UnixSocketTransport.daemonThreads("gpupt-health"));
  private String lastReadError;
  private final Map<ResourceName, String> startError = new LinkedHashMap<>();

  public DeviceAdvertiser(
      DeviceInventory inventory,
      DesiredState desired,
      Path pluginDir,
      UnixSocketTransport transport,
      PluginMetrics metrics,
      Duration poll) {
    this.inventory = inventory;
    this.desired = desired;
    this.pluginDir = pluginDir;
    this.transport = transport;
    this.metrics = metrics;
    this.poll = poll;
    this.kubelet = new KubeletConnection(pluginDir, new KubeletClient(pluginDir, transport), metrics);
  }

  public KubeletConnection kubelet() {
    return kubelet;
  }

  /** First pass now (so servers exist and start registering), then one pass per poll period. */
  public void start() {
    kubelet.start();
    sync();
    poller.scheduleWithFixedDelay(this::syncQuietly, poll.toMillis(), poll.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The servers by resource name, in creation order. */
  public synchronized Map<ResourceName, PluginServer> servers() {
    return Map.copyOf(servers);
  }

  /** One pass: read the host, assign resources to newly verified GPUs, publish health. */
  public synchronized void sync() {
    List<AdvertisedDevice> now;
    try {
      now = inventory.devices();
      if (lastReadError != null) {
        log.info("host readable again");
        lastReadError = null;
      }
    } catch (RuntimeException e) {
      // Without a reading nothing is verified: report every device unhealthy, do not guess.
      if (!String.valueOf(e.getMessage()).equals(lastReadError)) {
        log.warn("cannot read the host, marking all devices unhealthy: {}", e.getMessage());
        lastReadError = String.valueOf(e.getMessage());
      }
      now = lastSeen.values().stream().map(d -> d.unhealthy("host read failed: " + e.getMessage())).toList();
    }
    Map<String, AdvertisedDevice> current = new LinkedHashMap<>();
    now.forEach(d -> current.put(d.address(), d));
    for (AdvertisedDevice d : now) {
      if (d.healthy() && !assigned.containsKey(d.address())) {
        Optional<ResourceName> resource = desired.resourceFor(d);
        resource.ifPresent(r -> assigned.put(d.address(), r));
      }
    }
    Map<ResourceName, List<AdvertisedDevice>> lists = new LinkedHashMap<>();
    for (Map.Entry<String, ResourceName> a : assigned.entrySet()) {
      AdvertisedDevice d = current.get(a.getKey());
      if (d == null) {
        AdvertisedDevice before = lastSeen.get(a.getKey());
        d = before.unhealthy("device is no longer on the PCI bus");
      }
      lists.computeIfAbsent(a.getValue(), r -> new ArrayList<>()).add(d);
      lastSeen.put(d.address(), d);
    }
    for (Map.Entry<ResourceName, List<AdvertisedDevice>> e : lists.entrySet()) {
      List<AdvertisedDevice> list = e.getValue();
      list.sort(Comparator.comparing(AdvertisedDevice::address));
      PluginServer server = servers.get(e.getKey());
      boolean created = server == null;
      if (created) {
        server = new PluginServer(e.getKey(), pluginDir, transport, inventory, metrics);
        servers.put(e.getKey(), server);
      }
      logChanges(e.getKey(), server.feed().devices(), list);
      if (server.feed().publish(list) && !created) {
        metrics.healthChange(e.getKey());
      }
      if (created) {
        try {
          kubelet.add(server);
          startError.remove(e.getKey());
        } catch (RuntimeException failed) {
          // Not serving: forget the server so the next pass tries again; log once per cause.
          servers.remove(e.getKey());
          if (!String.valueOf(failed.getMessage()).equals(startError.put(e.getKey(), String.valueOf(failed.getMessage())))) {
            log.error("{}: cannot serve, retrying every {} ms: {}", e.getKey(), poll.toMillis(), failed.getMessage());
          }
        }
      }
    }
  }

  /**
   * Stops advertising these devices: they leave their resource's list instead of turning
   * Unhealthy, and a later pass may assign them again. The in-cluster agent (node.agent) calls this
   * for restore requests and for claims that went away or changed their resource name.
   */
  public synchronized void withdraw(java.util.Set<String> addresses) {
    java.util.Set<ResourceName> touched = new java.util.LinkedHashSet<>();
    for (String address : addresses) {
      ResourceName resource = assigned.remove(address);
      if (resource != null) {
        touched.add(resource);
        lastSeen.remove(address);
        log.info("{}: no longer advertising {}", resource, address);
      }
    }
    for (ResourceName resource : touched) {
      PluginServer server = servers.get(resource);
      if (server != null) {
        server.feed().publish(server.feed().devices().values().stream()
            .filter(d -> !addresses.contains(d.address()))
            .toList());
      }
    }
  }

  private void syncQuietly() {
    try {
      sync();
    } catch (RuntimeException e) {
      log.error("device sync failed; retrying in {} ms", poll.toMillis(), e);
    }
  }

  private static void logChanges(
      ResourceName resource, Map<String, AdvertisedDevice> before, List<AdvertisedDevice> after) {
    for (AdvertisedDevice d : after) {
      AdvertisedDevice old = before.get(d.address());
      if (old == null) {
        log.info("{}: advertising {} ({})", resource, d.address(), d.health().kubeletValue());
      } else if (old.health() != d.health()) {
        log.info(
            "{}: {} is now {}{}",
            resource,
            d.address(),
            d.health().kubeletValue(),
            d.problem().map(p -> ": " + p).orElse(""));
      }
    }
  }

  /** Stops polling, then every server within {@code grace}; their sockets are removed. */
  public void stop(Duration grace) {
    poller.shutdownNow();
    try {
      poller.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    kubelet.stop(grace);
  }

  @Override
  public void close() {
    stop(Duration.ofSeconds(2));
  }
}
