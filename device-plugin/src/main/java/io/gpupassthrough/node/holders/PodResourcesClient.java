package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.holders.podresources.v1.ListPodResourcesRequest;
import io.gpupassthrough.node.holders.podresources.v1.ListPodResourcesResponse;
import io.gpupassthrough.node.holders.podresources.v1.PodResourcesListerGrpc;
import io.gpupassthrough.node.plugin.UnixSocketTransport;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Calls the kubelet's PodResources {@code List} on its Unix socket, one short-lived channel per
 * call (the agent asks before a restore and every few seconds for status, not on any hot path).
 */
public final class PodResourcesClient {
  /** What {@code List} may take; the kubelet answers from memory in well under a second. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(5);
  /** A node with hundreds of pods and their CPU IDs can exceed gRPC's default 4 MiB. */
  private static final int MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

  private final Path socket;
  private final UnixSocketTransport transport;
  private final Duration deadline;

  public PodResourcesClient(Path socket, UnixSocketTransport transport, Duration deadline) {
    this.socket = socket;
    this.transport = transport;
    this.deadline = deadline;
  }

  public Path socket() {
    return socket;
  }

  /** @throws StatusRuntimeException when the kubelet is not there or refuses */
  public ListPodResourcesResponse list() {
    ManagedChannel channel = transport.channel(socket, MAX_RESPONSE_BYTES);
    try {
      return PodResourcesListerGrpc.newBlockingStub(channel)
          .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
          .list(ListPodResourcesRequest.getDefaultInstance());
    } finally {
      channel.shutdownNow();
    }
  }
}
