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
  private final EventLoopGroup eventLoop;
  private final ExecutorService handlers;

  public UnixSocketTransport() {
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException(
          "gRPC on Unix sockets needs netty's native epoll transport, which did not load: "
              + Epoll.unavailabilityCause());
    }
    this.eventLoop = new EpollEventLoopGroup(1, daemonThreads("gpupt-grpc-io"));
    // Handlers may block briefly (PreStartContainer re-reads sysfs); keep them off the event loop.
    this.handlers = Executors.newFixedThreadPool(2, daemonThreads("gpupt-grpc-handler"));
  }

  /** A started-later server bound to {@code socket}. */
  public Server server(Path socket, ServerServiceDefinition service) {
    return NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(eventLoop)
        .workerEventLoopGroup(eventLoop)
        .executor(handlers)
        .addService(service)
        .build();
  }

  /** A plaintext channel to the server on {@code socket}. */
  public ManagedChannel channel(Path socket) {
    return NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(eventLoop)
        .executor(handlers)
        .overrideAuthority("localhost")
        .usePlaintext()
        .build();
  }

  @Override
  public void close() {
    handlers.shutdown();
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
