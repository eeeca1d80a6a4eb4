package io.gpupassthrough.node.plugin;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * gRPC over Unix domain sockets with grpc-netty-shaded's epoll transport. One instance is shared
 * by every plugin server and kubelet client of the process: one event loop thread and a small
 * handler pool, because a node agent serves a handful of sockets and idles most of the time.
 */
public final class UnixSocketTransport implements AutoCloseable {
  static {
    // grpc sets SO_KEEPALIVE on every channel; epoll domain sockets do not support it and netty
    // warns once per connection. Harmless (DESIGN §10); keep it out of the agent's log.
    System.setProperty(
        "org.slf4j.simpleLogger.log.io.grpc.netty.shaded.io.netty.bootstrap", "error");
  }

  private final EventLoopGroup eventLoop;
  private final ExecutorService handlers; // null: run handlers on the event loop

  /**
   * For the agent: handlers run on the event loop thread. They never block (Allocate and the
   * option and list calls are in-memory; PreStartContainer's few stat calls take microseconds),
   * and skipping the hand-off to a pool keeps Allocate's tail latency low on a busy node.
   */
  public UnixSocketTransport() {
    this(false);
  }

  /**
   * @param blockingHandlers run handlers on a small pool, for servers whose handlers make
   *     blocking calls (the kubelet stand-in dials the plugin back inside Register)
   */
  public UnixSocketTransport(boolean blockingHandlers) {
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException(
          "gRPC on Unix sockets needs netty's native epoll transport, which did not load: "
              + Epoll.unavailabilityCause());
    }
    this.eventLoop = new EpollEventLoopGroup(1, daemonThreads("gpupt-grpc-io"));
    this.handlers =
        blockingHandlers
            ? Executors.newFixedThreadPool(2, daemonThreads("gpupt-grpc-handler"))
            : null;
  }

  /** A started-later server bound to {@code socket}. */
  public Server server(Path socket, ServerServiceDefinition service) {
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(eventLoop)
            .workerEventLoopGroup(eventLoop)
            .addService(service);
    return (handlers == null ? builder.directExecutor() : builder.executor(handlers)).build();
  }

  /** A plaintext channel to the server on {@code socket}. */
  public ManagedChannel channel(Path socket) {
    return channel(socket, 4 * 1024 * 1024);
  }

  /** The same, accepting responses of up to {@code maxResponseBytes}. */
  public ManagedChannel channel(Path socket, int maxResponseBytes) {
    NettyChannelBuilder builder =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollDomainSocketChannel.class)
            .eventLoopGroup(eventLoop)
            .overrideAuthority("localhost")
            .maxInboundMessageSize(maxResponseBytes)
            .usePlaintext();
    return (handlers == null ? builder.directExecutor() : builder.executor(handlers)).build();
  }

  @Override
  public void close() {
    if (handlers != null) {
      handlers.shutdown();
    }
    eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
