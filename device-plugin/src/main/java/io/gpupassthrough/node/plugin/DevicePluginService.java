package io.gpupassthrough.node.plugin;

import io.gpupassthrough.node.plugin.v1beta1.AllocateRequest;
import io.gpupassthrough.node.plugin.v1beta1.AllocateResponse;
import io.gpupassthrough.node.plugin.v1beta1.ContainerAllocateRequest;
import io.gpupassthrough.node.plugin.v1beta1.ContainerPreferredAllocationRequest;
import io.gpupassthrough.node.plugin.v1beta1.ContainerPreferredAllocationResponse;
import io.gpupassthrough.node.plugin.v1beta1.DevicePluginGrpc;
import io.gpupassthrough.node.plugin.v1beta1.DevicePluginOptions;
import io.gpupassthrough.node.plugin.v1beta1.Empty;
import io.gpupassthrough.node.plugin.v1beta1.ListAndWatchResponse;
import io.gpupassthrough.node.plugin.v1beta1.PreStartContainerRequest;
import io.gpupassthrough.node.plugin.v1beta1.PreStartContainerResponse;
import io.gpupassthrough.node.plugin.v1beta1.PreferredAllocationRequest;
import io.gpupassthrough.node.plugin.v1beta1.PreferredAllocationResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The kubelet-facing DevicePlugin service of one resource name. */
final class DevicePluginService extends DevicePluginGrpc.DevicePluginImplBase {
  /** Sent in Register and returned by GetDevicePluginOptions: both must agree. */
  static final DevicePluginOptions OPTIONS =
      DevicePluginOptions.newBuilder()
          .setPreStartRequired(true)
          .setGetPreferredAllocationAvailable(true)
          .build();

  private final ResourceName resource;
  private final DeviceListFeed feed;
  private final DeviceCheck check;
  private final PluginMetrics metrics;

  DevicePluginService(
      ResourceName resource, DeviceListFeed feed, DeviceCheck check, PluginMetrics metrics) {
    this.resource = resource;
    this.feed = feed;
    this.check = check;
    this.metrics = metrics;
  }

  @Override
  public void getDevicePluginOptions(Empty request, StreamObserver<DevicePluginOptions> out) {
    out.onNext(OPTIONS);
    out.onCompleted();
  }

  @Override
  public void listAndWatch(Empty request, StreamObserver<ListAndWatchResponse> out) {
    feed.follow((ServerCallStreamObserver<ListAndWatchResponse>) out);
  }

  @Override
  public void getPreferredAllocation(
      PreferredAllocationRequest request, StreamObserver<PreferredAllocationResponse> out) {
    try {
      Map<String, AdvertisedDevice> devices = feed.devices();
      PreferredAllocationResponse.Builder response = PreferredAllocationResponse.newBuilder();
      for (ContainerPreferredAllocationRequest c : request.getContainerRequestsList()) {
        response.addContainerResponses(
            ContainerPreferredAllocationResponse.newBuilder()
                .addAllDeviceIDs(
                    PreferredAllocation.choose(
                        devices,
                        c.getAvailableDeviceIDsList(),
                        c.getMustIncludeDeviceIDsList(),
                        c.getAllocationSize())));
      }
      out.onNext(response.build());
      out.onCompleted();
    } catch (DeviceRequestException e) {
      out.onError(e.status().asRuntimeException());
    }
  }

  @Override
  public void allocate(AllocateRequest request, StreamObserver<AllocateResponse> out) {
    long start = System.nanoTime();
    try {
      Map<String, AdvertisedDevice> devices = feed.devices();
      AllocateResponse.Builder response = AllocateResponse.newBuilder();
      for (ContainerAllocateRequest c : request.getContainerRequestsList()) {
        response.addContainerResponses(
            Allocation.forContainer(resource, devices, c.getDevicesIdsList()));
      }
      out.onNext(response.build());
      out.onCompleted();
      metrics.allocation(resource, "ok", System.nanoTime() - start);
    } catch (DeviceRequestException e) {
      metrics.allocation(resource, "refused", System.nanoTime() - start);
      out.onError(e.status().asRuntimeException());
    }
  }

  @Override
  public void preStartContainer(
      PreStartContainerRequest request, StreamObserver<PreStartContainerResponse> out) {
    // The kubelet calls this right before the container starts: re-read the host, since the
    // device may have left vfio-pci since Allocate (another tool, a driver reload).
    List<String> problems = new ArrayList<>();
    Map<String, AdvertisedDevice> devices = feed.devices();
    for (String id : request.getDevicesIdsList()) {
      if (!devices.containsKey(id)) {
        out.onError(
            DeviceRequestException.invalid(resource + ": unknown device ID '" + id + "'")
                .status()
                .asRuntimeException());
        return;
      }
      Optional<String> problem = check.problem(id);
      problem.ifPresent(p -> problems.add(id + ": " + p));
    }
    if (!problems.isEmpty()) {
      out.onError(
          DeviceRequestException.unavailable(
                  resource + ": not ready for passthrough: " + String.join("; ", problems))
              .status()
              .asRuntimeException());
      return;
    }
    out.onNext(PreStartContainerResponse.getDefaultInstance());
    out.onCompleted();
  }
}
