package io.gpupassthrough.node.plugin;

import io.grpc.Server;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server of one resource name on its own socket in the device-plugin directory, with an
 * explicit lifecycle: {@link #start()}, {@link #restart()} after the kubelet deleted the socket,
 * {@link #stop(Duration)} with a grace period that also removes the socket.
 */
public final class PluginServer {
  private static final Logger log = LoggerFactory.getLogger(PluginServer.class);

  private final ResourceName resource;
  private final Path socket;
  private final UnixSocketTransport transport;
  private final DevicePluginService service;
  private final DeviceListFeed feed;
  private Server server;

  public PluginServer(
      ResourceName resource,
      Path pluginDir,
      UnixSocketTransport transport,
      DeviceCheck check,
      PluginMetrics metrics) {
    this.resource = resource;
    this.socket = pluginDir.resolve(resource.socketFileName());
    this.transport = transport;
    this.feed = new DeviceListFeed();
    this.service = new DevicePluginService(resource, feed, check, metrics);
    metrics.track(resource, feed);
  }

  public ResourceName resource() {
    return resource;
  }

  public Path socket() {
    return socket;
  }

  public DeviceListFeed feed() {
    return feed;
  }

  /** Binds the socket and serves; must happen before Register, since the kubelet dials back. */
  public synchronized void start() {
    if (server != null) {
      throw new IllegalStateException(resource + ": server already started on " + socket);
    }
    try {
      // A socket left by an earlier run of this agent makes bind fail with EADDRINUSE.
      Files.deleteIfExists(socket);
      server = transport.server(socket, service.bindService()).start();
    } catch (IOException e) {
      server = null;
      throw new UncheckedIOException(
          socket
              + ": cannot serve the device plugin for "
              + resource
              + " ("
              + e.getMessage()
              + "); check that the device-plugin directory exists and is writable",
          e);
    }
    log.info("{}: serving on {}", resource, socket);
  }

  /**
   * Serves again on a fresh socket. The kubelet deletes plugin sockets when it restarts; the old
   * server still listens on the unlinked inode, where nobody can reach it.
   */
  public synchronized void restart() {
    shutdown(Duration.ZERO);
    start();
  }

  /** Ends ListAndWatch streams, stops within {@code grace} (then forcibly), removes the socket. */
  public synchronized void stop(Duration grace) {
    shutdown(grace);
    log.info("{}: stopped, removed {}", resource, socket);
  }

  public synchronized boolean serving() {
    return server != null && !server.isShutdown();
  }

  /** Whether our socket file is still where the kubelet expects it. */
  public boolean socketPresent() {
    return Files.exists(socket, LinkOption.NOFOLLOW_LINKS);
  }

  private void shutdown(Duration grace) {
    if (server == null) {
      return;
    }
    feed.closeAll();
    server.shutdown();
    try {
      if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        server.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    server = null;
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      log.warn("{}: could not remove {}: {}", resource, socket, e.getMessage());
    }
  }
}
