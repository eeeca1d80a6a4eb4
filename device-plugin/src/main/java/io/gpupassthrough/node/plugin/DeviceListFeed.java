package io.gpupassthrough.node.plugin;

import io.gpupassthrough.node.plugin.v1beta1.Device;
import io.gpupassthrough.node.plugin.v1beta1.ListAndWatchResponse;
import io.gpupassthrough.node.plugin.v1beta1.NUMANode;
import io.gpupassthrough.node.plugin.v1beta1.TopologyInfo;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The current device list of one resource and the open ListAndWatch streams that follow it. Each
 * change sends the full list to every stream (the kubelet replaces its view on every message).
 */
public final class DeviceListFeed {
  private final Set<ServerCallStreamObserver<ListAndWatchResponse>> streams =
      ConcurrentHashMap.newKeySet();
  private volatile Map<String, AdvertisedDevice> devices = Map.of();
  private volatile ListAndWatchResponse message = ListAndWatchResponse.getDefaultInstance();

  /** Devices by ID (PCI address), in advertisement order. */
  public Map<String, AdvertisedDevice> devices() {
    return devices;
  }

  /** Publishes a new list; returns false (and sends nothing) when nothing changed. */
  public synchronized boolean publish(List<AdvertisedDevice> list) {
    Map<String, AdvertisedDevice> next = new LinkedHashMap<>();
    list.forEach(d -> next.put(d.address(), d));
    if (next.equals(devices)) {
      return false;
    }
    devices = java.util.Collections.unmodifiableMap(next);
    message = toMessage(list);
    for (ServerCallStreamObserver<ListAndWatchResponse> stream : streams) {
      send(stream, message);
    }
    return true;
  }

  /** Adds a ListAndWatch stream and sends it the current list. */
  public synchronized void follow(ServerCallStreamObserver<ListAndWatchResponse> stream) {
    streams.add(stream);
    stream.setOnCancelHandler(() -> streams.remove(stream));
    send(stream, message);
  }

  /** Ends every stream, e.g. when the server stops; the kubelet then sees the plugin go away. */
  public synchronized void closeAll() {
    for (ServerCallStreamObserver<ListAndWatchResponse> stream : streams) {
      try {
        stream.onCompleted();
      } catch (RuntimeException alreadyClosed) {
        // The kubelet hung up first; nothing left to end.
      }
    }
    streams.clear();
  }

  public int streamCount() {
    return streams.size();
  }

  private void send(
      ServerCallStreamObserver<ListAndWatchResponse> stream, ListAndWatchResponse response) {
    if (stream.isCancelled()) {
      streams.remove(stream);
      return;
    }
    try {
      stream.onNext(response);
    } catch (RuntimeException closed) {
      streams.remove(stream);
    }
  }

  static ListAndWatchResponse toMessage(List<AdvertisedDevice> list) {
    ListAndWatchResponse.Builder response = ListAndWatchResponse.newBuilder();
    for (AdvertisedDevice d : list) {
      Device.Builder device =
          Device.newBuilder().setID(d.address()).setHealth(d.health().kubeletValue());
      d.numaNode()
          .ifPresent(
              n -> device.setTopology(TopologyInfo.newBuilder().addNodes(NUMANode.newBuilder().setID(n))));
      response.addDevices(device);
    }
    return response.build();
  }
}
