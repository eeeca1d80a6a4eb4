package io.gpupassthrough.node.cli;

import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.host.HostRoot;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Where the kubelet's PodResources API is, for the commands that look for device holders. */
public final class HolderOptions {
  @Option(names = "--pod-resources-socket", paramLabel = "PATH",
      description = "The kubelet's PodResources socket, asked which pod each device is allocated to"
          + " (with the processes holding the device's files, from <host-root>/proc). Default:"
          + " <host-root>/var/lib/kubelet/pod-resources/kubelet.sock, skipped when absent; 'none'"
          + " leaves the kubelet out.")
  String podResourcesSocket;

  HolderCheck check(HostRoot host) {
    if (podResourcesSocket == null) {
      return HolderCheck.forHost(host);
    }
    return new HolderCheck(host, podResourcesSocket.equals("none")
        ? Optional.empty() : Optional.of(Path.of(podResourcesSocket)));
  }
}
