package io.gpupassthrough.node.demo;

import io.gpupassthrough.node.plugin.KubeletClient;
import io.gpupassthrough.node.plugin.UnixSocketTransport;
import io.gpupassthrough.node.plugin.v1beta1.AllocateRequest;
import io.gpupassthrough.node.plugin.v1beta1.AllocateResponse;
import io.gpupassthrough.node.plugin.v1beta1.ContainerAllocateRequest;
import io.gpupassthrough.node.plugin.v1beta1.DevicePluginGrpc;
import io.gpupassthrough.node.plugin.v1beta1.DevicePluginOptions;
import io.gpupassthrough.node.plugin.v1beta1.Empty;
import io.gpupassthrough.node.plugin.v1beta1.ListAndWatchResponse;
import io.gpupassthrough.node.plugin.v1beta1.PreStartContainerRequest;
import io.gpupassthrough.node.plugin.v1beta1.RegisterRequest;
import io.gpupassthrough.node.plugin.v1beta1.RegistrationGrpc;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A kubelet stand-in for the demo and the benchmark: serves {@code Registration} on {@code
 * kubelet.sock} in a device-plugin directory and, like the kubelet's device manager, dials each
 * registering plugin back (GetDevicePluginOptions during Register), then follows its ListAndWatch
 * stream and can call Allocate and PreStartContainer on it.
 */
public final class KubeletStandIn implements AutoCloseable {
  /** A Register call, when it arrived and the options read back from the plugin. */
  public record Registration(RegisterRequest request, DevicePluginOptions options, long nanoTime) {}

  /** A ListAndWatch message and when it arrived. */
  public record Update(String resource, ListAndWatchResponse response, long nanoTime) {}

  private final Path dir;
  private final UnixSocketTransport transport;
  private final BlockingQueue<Registration> registrations = new LinkedBlockingQueue<>();
  private final BlockingQueue<Update> updates = new LinkedBlockingQueue<>();
  private final Map<String, ManagedChannel> plugins = new ConcurrentHashMap<>();
  private final Map<String, ListAndWatchResponse> latest = new ConcurrentHashMap<>();
  private Server server;

  public KubeletStandIn(Path dir, UnixSocketTransport transport) {
    this.dir = dir;
    this.transport = transport;
  }

  public Path socket() {
    return dir.resolve(KubeletClient.KUBELET_SOCKET);
  }

  public synchronized KubeletStandIn start() {
    try {
      server = transport.server(socket(), new RegistrationService().bindService()).start();
    } catch (IOException e) {
      throw new UncheckedIOException(socket() + ": cannot serve the kubelet stand-in", e);
    }
    return this;
  }

  /** The next Register call, waiting at most {@code timeout}. */
  public Registration nextRegistration(Duration timeout) {
    try {
      Registration r = registrations.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (r == null) {
        throw new IllegalStateException("no plugin registered within " + timeout.toMillis() + " ms");
      }
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for a registration", e);
    }
  }

  /** The first ListAndWatch update that satisfies {@code condition}, waiting at most {@code timeout}. */
  public Update nextUpdate(Predicate<Update> condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        long left = deadline - System.nanoTime();
        Update u = left <= 0 ? null : updates.poll(left, TimeUnit.NANOSECONDS);
        if (u == null) {
          throw new IllegalStateException("no matching ListAndWatch update within " + timeout.toMillis() + " ms");
        }
        if (condition.test(u)) {
          return u;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for ListAndWatch", e);
    }
  }

  /** The last device list a plugin sent for {@code resource}. */
  public ListAndWatchResponse devices(String resource) {
    return latest.get(resource);
  }

  public AllocateResponse allocate(String resource, List<String> ids) {
    return stub(resource)
        .allocate(
            AllocateRequest.newBuilder()
                .addContainerRequests(ContainerAllocateRequest.newBuilder().addAllDevicesIds(ids))
                .build());
  }

  public void preStart(String resource, List<String> ids) {
    stub(resource).preStartContainer(PreStartContainerRequest.newBuilder().addAllDevicesIds(ids).build());
  }

  private DevicePluginGrpc.DevicePluginBlockingStub stub(String resource) {
    ManagedChannel channel = plugins.get(resource);
    if (channel == null) {
      throw new IllegalStateException("no plugin registered for " + resource);
    }
    return DevicePluginGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
  }

  /**
   * What a kubelet restart does to the directory: the old kubelet goes away, the new one deletes
   * every socket it finds, then serves a fresh {@code kubelet.sock}.
   */
  public void restart() {
    stop();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(Files::exists).toList()) {
        if (!Files.isDirectory(f)) {
          Files.deleteIfExists(f);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": cannot clear the device-plugin directory", e);
    }
    start();
  }

  private synchronized void stop() {
    plugins.values().forEach(ManagedChannel::shutdownNow);
    plugins.clear();
    if (server != null) {
      server.shutdownNow();
      try {
        server.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server = null;
    }
    try {
      Files.deleteIfExists(socket());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    stop();
  }

  private final class RegistrationService extends RegistrationGrpc.RegistrationImplBase {
    @Override
    public void register(RegisterRequest request, StreamObserver<Empty> out) {
      if (!request.getVersion().equals(KubeletClient.API_VERSION)) {
        out.onError(
            Status.INVALID_ARGUMENT
                .withDescription("unsupported device plugin API version " + request.getVersion())
                .asRuntimeException());
        return;
      }
      String resource = request.getResourceName();
      ManagedChannel channel = transport.channel(dir.resolve(request.getEndpoint()));
      ManagedChannel previous = plugins.put(resource, channel);
      if (previous != null) {
        previous.shutdownNow();
      }
      DevicePluginOptions options;
      try {
        options =
            DevicePluginGrpc.newBlockingStub(channel)
                .withDeadlineAfter(2, TimeUnit.SECONDS)
                .getDevicePluginOptions(Empty.getDefaultInstance());
      } catch (RuntimeException e) {
        out.onError(
            Status.UNAVAILABLE
                .withDescription("cannot reach the plugin at " + request.getEndpoint() + ": " + e.getMessage())
                .asRuntimeException());
        return;
      }
      // The stream must outlive this call, whose context is cancelled when Register returns.
      Context.current().fork().run(() -> follow(resource, channel));
      registrations.add(new Registration(request, options, System.nanoTime()));
      out.onNext(Empty.getDefaultInstance());
      out.onCompleted();
    }

    private void follow(String resource, ManagedChannel channel) {
      DevicePluginGrpc.newStub(channel)
          .listAndWatch(
              Empty.getDefaultInstance(),
              new StreamObserver<>() {
                @Override
                public void onNext(ListAndWatchResponse value) {
                  latest.put(resource, value);
                  updates.add(new Update(resource, value, System.nanoTime()));
                }

                @Override
                public void onError(Throwable t) {
                  // The plugin went away or we restarted; the next Register starts a new stream.
                }

                @Override
                public void onCompleted() {}
              });
    }
  }
}
