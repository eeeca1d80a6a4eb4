package io.gpupassthrough.node.plugin;

import io.gpupassthrough.node.plugin.v1beta1.RegisterRequest;
import io.gpupassthrough.node.plugin.v1beta1.RegistrationGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Calls the kubelet's Registration service on {@code kubelet.sock}. */
public final class KubeletClient {
  /** The API version this plugin speaks; the kubelet rejects versions it does not support. */
  public static final String API_VERSION = "v1beta1";
  /** The kubelet's registration socket in the device-plugin directory. */
  public static final String KUBELET_SOCKET = "kubelet.sock";
  /** The kubelet dials back GetDevicePluginOptions during Register; allow for that round trip. */
  private static final long REGISTER_DEADLINE_SECONDS = 5;

  private final Path kubeletSocket;
  private final UnixSocketTransport transport;

  public KubeletClient(Path pluginDir, UnixSocketTransport transport) {
    this.kubeletSocket = pluginDir.resolve(KUBELET_SOCKET);
    this.transport = transport;
  }

  public Path socket() {
    return kubeletSocket;
  }

  /**
   * Registers {@code server}'s socket and resource name.
   *
   * @throws StatusRuntimeException when the kubelet is unreachable or refuses
   */
  public void register(PluginServer server) {
    ManagedChannel channel = transport.channel(kubeletSocket);
    try {
      RegistrationGrpc.newBlockingStub(channel)
          .withDeadlineAfter(REGISTER_DEADLINE_SECONDS, TimeUnit.SECONDS)
          .register(
              RegisterRequest.newBuilder()
                  .setVersion(API_VERSION)
                  .setEndpoint(server.socket().getFileName().toString())
                  .setResourceName(server.resource().toString())
                  .setOptions(DevicePluginService.OPTIONS)
                  .build());
    } finally {
      channel.shutdownNow();
    }
  }
}
