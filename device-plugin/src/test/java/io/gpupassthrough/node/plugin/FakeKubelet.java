package io.gpupassthrough.node.plugin;

import io.gpupassthrough.node.plugin.v1beta1.AllocateRequest;
import io.gpupassthrough.node.plugin.v1beta1.AllocateResponse;
import io.gpupassthrough.node.plugin.v1beta1.ContainerAllocateRequest;
import io.gpupassthrough.node.plugin.v1beta1.DevicePluginGrpc;
import io.gpupassthrough.node.plugin.v1beta1.DevicePluginOptions;
import io.gpupassthrough.node.plugin.v1beta1.Empty;
import io.gpupassthrough.node.plugin.v1beta1.ListAndWatchResponse;
import io.gpupassthrough.node.plugin.v1beta1.RegisterRequest;
import io.gpupassthrough.node.plugin.v1beta1.RegistrationGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A kubelet stand-in for tests, over a real Unix socket: serves Registration on kubelet.sock and,
 * like the real device manager, dials the plugin back during Register (GetDevicePluginOptions),
 * then follows its ListAndWatch stream. {@link #restart()} does what a kubelet restart does to the
 * directory: removes every socket, then creates kubelet.sock again.
 */
public final class FakeKubelet implements AutoCloseable {
  /** One Register call as the kubelet saw it, with the options it read back from the plugin. */
  public record Registration(RegisterRequest request, DevicePluginOptions optionsFromCallback) {}

  private final Path dir;
  private final EventLoopGroup loop = new EpollEventLoopGroup(1);
  private final List<Registration> registrations = new CopyOnWriteArrayList<>();
  private final Map<String, List<ListAndWatchResponse>> updates = new ConcurrentHashMap<>();
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final List<String> streamErrors = new CopyOnWriteArrayList<>();
  private volatile String rejectWith;
  private Server server;

  public FakeKubelet(Path dir) {
    this.dir = dir;
  }

  public Path socket() {
    return dir.resolve("kubelet.sock");
  }

  public FakeKubelet start() {
    try {
      server =
          NettyServerBuilder.forAddress(new DomainSocketAddress(socket().toString()))
              .channelType(EpollServerDomainSocketChannel.class)
              .bossEventLoopGroup(loop)
              .workerEventLoopGroup(loop)
              .addService(new RegistrationService())
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** Refuse further Register calls with this message (null: accept). */
  public void rejectRegistrations(String message) {
    this.rejectWith = message;
  }

  public List<Registration> registrations() {
    return List.copyOf(registrations);
  }

  /** Errors that ended ListAndWatch streams (a restart ends them with UNAVAILABLE). */
  public List<String> streamErrors() {
    return List.copyOf(streamErrors);
  }

  /** Every ListAndWatch message received for {@code resource}, across restarts. */
  public List<ListAndWatchResponse> updates(String resource) {
    return List.copyOf(updates.getOrDefault(resource, List.of()));
  }

  public ListAndWatchResponse latest(String resource) {
    List<ListAndWatchResponse> all = updates(resource);
    return all.isEmpty() ? null : all.get(all.size() - 1);
  }

  public AllocateResponse allocate(String resource, List<String> ids) {
    return DevicePluginGrpc.newBlockingStub(channels.get(resource))
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .allocate(
            AllocateRequest.newBuilder()
                .addContainerRequests(ContainerAllocateRequest.newBuilder().addAllDevicesIds(ids))
                .build());
  }

  DevicePluginGrpc.DevicePluginBlockingStub plugin(String resource) {
    return DevicePluginGrpc.newBlockingStub(channels.get(resource)).withDeadlineAfter(5, TimeUnit.SECONDS);
  }

  /** Stops serving and deletes kubelet.sock and every plugin socket, like a kubelet going down. */
  public void stopAndClearSockets() {
    stopServer();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".sock")).toList()) {
        Files.deleteIfExists(f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A kubelet restart as the plugin sees it. */
  public void restart() {
    stopAndClearSockets();
    start();
  }

  @Override
  public void close() {
    stopServer();
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private void stopServer() {
    channels.values().forEach(ManagedChannel::shutdownNow);
    channels.clear();
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

  private final class RegistrationService extends RegistrationGrpc.RegistrationImplBase {
    @Override
    public void register(RegisterRequest request, StreamObserver<Empty> out) {
      if (rejectWith != null) {
        out.onError(Status.INVALID_ARGUMENT.withDescription(rejectWith).asRuntimeException());
        return;
      }
      String resource = request.getResourceName();
      ManagedChannel channel =
          NettyChannelBuilder.forAddress(
                  new DomainSocketAddress(dir.resolve(request.getEndpoint()).toString()))
              .channelType(EpollDomainSocketChannel.class)
              .eventLoopGroup(loop)
              .overrideAuthority("localhost")
              .usePlaintext()
              .build();
      ManagedChannel old = channels.put(resource, channel);
      if (old != null) {
        old.shutdownNow();
      }
      // The real kubelet reads the options back from the plugin before answering Register.
      DevicePluginOptions options =
          DevicePluginGrpc.newBlockingStub(channel)
              .withDeadlineAfter(2, TimeUnit.SECONDS)
              .getDevicePluginOptions(Empty.getDefaultInstance());
      registrations.add(new Registration(request, options));
      // Forked context: the stream must outlive this Register call, whose context ends with it.
      io.grpc.Context.current().fork().run(() -> followListAndWatch(resource, channel));
      out.onNext(Empty.getDefaultInstance());
      out.onCompleted();
    }

    private void followListAndWatch(String resource, ManagedChannel channel) {
      DevicePluginGrpc.newStub(channel)
          .listAndWatch(
              Empty.getDefaultInstance(),
              new StreamObserver<>() {
                @Override
                public void onNext(ListAndWatchResponse value) {
                  updates.computeIfAbsent(resource, r -> new CopyOnWriteArrayList<>()).add(value);
                }

                @Override
                public void onError(Throwable t) {
                  streamErrors.add(resource + ": " + t);
                }

                @Override
                public void onCompleted() {}
              });
    }
  }

  static List<String> health(ListAndWatchResponse response) {
    List<String> out = new ArrayList<>();
    response.getDevicesList().forEach(d -> out.add(d.getID() + "=" + d.getHealth()));
    return out;
  }
}
