package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.holders.podresources.v1.ContainerDevices;
import io.gpupassthrough.node.holders.podresources.v1.ContainerResources;
import io.gpupassthrough.node.holders.podresources.v1.ListPodResourcesRequest;
import io.gpupassthrough.node.holders.podresources.v1.ListPodResourcesResponse;
import io.gpupassthrough.node.holders.podresources.v1.PodResources;
import io.gpupassthrough.node.holders.podresources.v1.PodResourcesListerGrpc;
import io.gpupassthrough.node.plugin.UnixSocketTransport;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The kubelet's PodResources server as far as the agent uses it: {@code List} over a real Unix
 * socket, answering what the test sets ({@link #allocate}).
 */
public final class FakePodResources implements AutoCloseable {
  private final AtomicReference<ListPodResourcesResponse> answer =
      new AtomicReference<>(ListPodResourcesResponse.getDefaultInstance());
  private final AtomicInteger calls = new AtomicInteger();
  private final UnixSocketTransport transport = new UnixSocketTransport();
  private final Server server;
  private final Path socket;

  private FakePodResources(Path socket) {
    this.socket = socket;
    this.server = transport.server(socket, new PodResourcesListerGrpc.PodResourcesListerImplBase() {
      @Override
      public void list(ListPodResourcesRequest request, StreamObserver<ListPodResourcesResponse> response) {
        calls.incrementAndGet();
        response.onNext(answer.get());
        response.onCompleted();
      }
    }.bindService());
  }

  /** Serves on {@code socket} (its directory is created). */
  public static FakePodResources serve(Path socket) {
    try {
      Files.createDirectories(socket.getParent());
      FakePodResources f = new FakePodResources(socket);
      f.server.start();
      return f;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The kubelet allocated {@code ids} of {@code resource} to this container (replaces the answer). */
  public FakePodResources allocate(String namespace, String pod, String container, String resource, String... ids) {
    answer.set(ListPodResourcesResponse.newBuilder()
        .addPodResources(PodResources.newBuilder().setNamespace(namespace).setName(pod)
            .addContainers(ContainerResources.newBuilder().setName(container)
                .addDevices(ContainerDevices.newBuilder().setResourceName(resource)
                    .addAllDeviceIds(java.util.List.of(ids)))))
        .build());
    return this;
  }

  /** No pod has anything (the pod ended). */
  public void release() {
    answer.set(ListPodResourcesResponse.getDefaultInstance());
  }

  public int calls() {
    return calls.get();
  }

  public Path socket() {
    return socket;
  }

  /**
   * Stops answering but leaves a file where the socket was, as a kubelet that died does (netty
   * removes its own socket file on shutdown; a stale one refuses connections).
   */
  public void stopKeepingSocket() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    try {
      if (!Files.exists(socket)) {
        Files.createFile(socket);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    transport.close();
    try {
      Files.deleteIfExists(socket);
    } catch (IOException ignored) {
      // the temp dir goes anyway
    }
  }
}
