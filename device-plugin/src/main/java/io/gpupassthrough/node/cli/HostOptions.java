package io.gpupassthrough.node.cli;

import io.gpupassthrough.node.host.FileSystemHostRoot;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.sim.SimulatedKernel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/** Options shared by scan, prepare, restore and serve: which host, and how chatty. */
public final class HostOptions {
  @Option(names = "--host-root", required = true, paramLabel = "DIR",
      description = "Directory holding the host's sys/, proc/ and dev/: / on a node, the hostPath"
          + " mount in a pod, a fixture or demo tree in tests.")
  Path hostRoot;

  @Option(names = {"-v", "--verbose"},
      description = "Log every sysfs/procfs read and write to stderr.")
  boolean verbose;

  @Option(names = "--simulated-kernel",
      description = "Test and demo mode, never on a real node: the host root is a directory"
          + " written by the simulated host builder (demo, fixtures, the cluster e2e), and sysfs"
          + " writes get the simulated kernel's semantics instead of plain file writes.")
  boolean simulatedKernel;

  /** Opens the host root, or fails with a message naming what is wrong with it. */
  HostRoot open(PrintWriter err) {
    Consumer<String> trace = verbose ? line -> {
      err.println("sysfs: " + line);
      err.flush();
    } : null;
    if (simulatedKernel) {
      if (!SimulatedKernel.isSimulated(hostRoot)) {
        throw new HostReadException(hostRoot, "--simulated-kernel given but this is not a"
            + " simulated host root (no .simkernel/matches); drop the flag for a real host");
      }
      FileSystemHostRoot.open(hostRoot); // same "is this a Linux root" check
      return new SimulatedKernel(hostRoot, trace);
    }
    return FileSystemHostRoot.open(hostRoot, trace);
  }
}
