package io.gpupassthrough.node.cli;

import io.gpupassthrough.node.agent.InClusterAgent;
import io.gpupassthrough.node.host.DeadlineHostRoot;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.plugin.DesiredState;
import io.gpupassthrough.node.plugin.HostDeviceInventory;
import io.gpupassthrough.node.plugin.NodeAgent;
import io.gpupassthrough.node.plugin.ServeConfig;
import io.gpupassthrough.node.plugin.StandaloneDesiredState;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code serve}: the node agent (DESIGN §7). Advertises the host's GPUs that are verified on
 * vfio-pci to the kubelet until SIGTERM/SIGINT, then stops its servers, removes its sockets and
 * exits 0.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Serve the kubelet device-plugin API for the GPUs verified on vfio-pci.",
      "Without a cluster (no KUBERNETES_SERVICE_HOST, no kubeconfig) every verified GPU is"
          + " advertised under its default resource name; --config may rename them.",
      "In a cluster it watches this node's GpuPassthroughNode: prepares the GPUs it claims (detach"
          + " the consoles in the way, bind the IOMMU group to vfio-pci, verify), adopts GPUs already"
          + " verified on vfio-pci, advertises them, and gives them back on a restore request."
          + " With --simulated-kernel (tests and demos only) it does all of that on a directory"
          + " host root written by the simulated host builder."
    },
    footer = {"", "Examples:",
      "  gpupt-node serve --host-root / --device-plugin-dir /var/lib/kubelet/device-plugins"
          + " --node-name \"$NODE_NAME\"",
      "  # test/demo: an agent whose host is a copy of a simulated fixture",
      "  gpupt-node serve --host-root /tmp/host --simulated-kernel"
          + " --device-plugin-dir /var/lib/kubelet/device-plugins --node-name node-1"})
public final class ServeCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

  /** --host-root, --verbose, and --simulated-kernel (the cluster e2e's agent on a directory host). */
  @Mixin HostOptions host;

  @Option(names = "--device-plugin-dir", required = true, paramLabel = "DIR",
      description = "The kubelet's device-plugin directory (normally /var/lib/kubelet/device-plugins).")
  Path pluginDir;

  @Option(names = "--node-name", required = true, paramLabel = "NAME",
      description = "This node's name (the GpuPassthroughNode the agent reports to in a cluster).")
  String nodeName;

  @Option(names = "--config", paramLabel = "FILE",
      description = "YAML/JSON with resourceNames overrides keyed by PCI address or vendor:device.")
  Path config;

  @Option(names = "--metrics-port", paramLabel = "PORT",
      description = "Port for /healthz and /metrics; 0 turns them off. Default: ${DEFAULT-VALUE}.")
  int metricsPort = NodeAgent.Settings.DEFAULT_METRICS_PORT;

  @Option(names = "--metrics-address", paramLabel = "ADDR",
      description = "Address to bind /healthz and /metrics to. Default: ${DEFAULT-VALUE}.")
  String metricsAddress = "0.0.0.0";

  @Option(names = "--health-interval", paramLabel = "MILLIS",
      description = "How often device health is re-checked, in ms. Default: ${DEFAULT-VALUE}.")
  long healthIntervalMillis = NodeAgent.Settings.DEFAULT_HEALTH_POLL.toMillis();

  @Option(names = "--rescan-interval", paramLabel = "SECONDS",
      description = "How often the host is rescanned for newly verified GPUs. Default: ${DEFAULT-VALUE}.")
  long rescanSeconds = 10;

  @Mixin WriteOptions writes;
  @Mixin HolderOptions holders;

  @Option(names = "--holders-interval", paramLabel = "SECONDS",
      description = "In a cluster: how often status re-checks who holds each device (kubelet"
          + " PodResources, processes with its files open) between passes; 0: only at passes."
          + " Default: ${DEFAULT-VALUE}.")
  long holdersSeconds = InClusterAgent.Holders.DEFAULT_REFRESH.toSeconds();

  @Option(names = "--shutdown-grace", paramLabel = "SECONDS",
      description = "Grace period for in-flight calls on shutdown. Default: ${DEFAULT-VALUE}.")
  long graceSeconds = NodeAgent.Settings.DEFAULT_SHUTDOWN_GRACE.toSeconds();

  @Override
  public Integer call() {
    if (!Files.isDirectory(pluginDir)) {
      System.err.println(
          "serve: --device-plugin-dir "
              + pluginDir
              + " does not exist; pass the kubelet's device-plugin directory"
              + " (hostPath /var/lib/kubelet/device-plugins in the DaemonSet)");
      return 2;
    }
    HostRoot hostRoot;
    ServeConfig serveConfig;
    try {
      hostRoot = host.open(new PrintWriter(System.err, true));
      serveConfig = config == null ? ServeConfig.empty() : ServeConfig.read(config);
    } catch (RuntimeException e) {
      System.err.println("serve: " + e.getMessage());
      return 2;
    }
    DesiredState desired = desiredState(serveConfig.resourceNames());
    Optional<InetSocketAddress> metrics =
        metricsPort == 0 ? Optional.empty() : Optional.of(new InetSocketAddress(metricsAddress, metricsPort));
    NodeAgent.Settings settings =
        new NodeAgent.Settings(
            pluginDir, metrics, Duration.ofMillis(healthIntervalMillis), Duration.ofSeconds(graceSeconds));

    CountDownLatch stop = new CountDownLatch(1);
    // Handle TERM/INT ourselves so shutdown is orderly and the exit code is 0, not 143.
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    if (inCluster()) {
      // In a cluster the node's GpuPassthroughNode says what to prepare and advertise (node.agent).
      // Only here does serve write sysfs: under the deadline, so no write can wedge the agent.
      HostRoot writing = new DeadlineHostRoot(hostRoot, writes.deadline(line -> log.warn("node {}: {}", nodeName, line)));
      return InClusterAgent.serve(writing, nodeName, settings,
          new InClusterAgent.Holders(holders.check(writing), Duration.ofSeconds(Math.max(0, holdersSeconds))), stop);
    }
    try (NodeAgent agent =
        new NodeAgent(new HostDeviceInventory(hostRoot, Duration.ofSeconds(rescanSeconds)), desired, settings)) {
      agent.start();
      log.info(
          "node {}: serving device plugins in {}{}",
          nodeName,
          pluginDir,
          agent.metricsPort().map(p -> ", /healthz and /metrics on port " + p).orElse(""));
      if (agent.advertiser().servers().isEmpty()) {
        log.info(
            "node {}: no GPU is verified on vfio-pci yet (see 'gpupt-node scan'); rescanning every {} s",
            nodeName,
            rescanSeconds);
      }
      stop.await();
      log.info("node {}: shutting down", nodeName);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      System.err.println("serve: " + e.getMessage());
      return 1;
    }
    return 0;
  }

  /** Standalone: every verified GPU (the in-cluster agent brings its own desired state). */
  private static DesiredState desiredState(Map<String, io.gpupassthrough.node.plugin.ResourceName> overrides) {
    return new StandaloneDesiredState(overrides);
  }

  static boolean inCluster() {
    if (System.getenv("KUBERNETES_SERVICE_HOST") != null || System.getenv("KUBECONFIG") != null) {
      return true;
    }
    return Files.exists(Path.of(System.getProperty("user.home"), ".kube", "config"));
  }
}
