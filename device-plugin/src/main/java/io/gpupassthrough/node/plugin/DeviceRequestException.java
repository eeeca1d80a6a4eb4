package io.gpupassthrough.node.plugin;

import io.grpc.Status;

/** A kubelet request naming devices this plugin cannot hand out; becomes a gRPC status. */
public final class DeviceRequestException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient Status status;

  private DeviceRequestException(Status status) {
    super(status.getDescription());
    this.status = status;
  }

  /** Unknown device IDs or a malformed request: the caller is wrong. */
  public static DeviceRequestException invalid(String message) {
    return new DeviceRequestException(Status.INVALID_ARGUMENT.withDescription(message));
  }

  /** A known device that is not usable right now (unhealthy, off vfio-pci). */
  public static DeviceRequestException unavailable(String message) {
    return new DeviceRequestException(Status.FAILED_PRECONDITION.withDescription(message));
  }

  public Status status() {
    return status;
  }
}
