package io.gpupassthrough.node.cli;

import io.gpupassthrough.node.demo.Demo;
import io.gpupassthrough.node.host.sim.SimFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code demo}: the whole node story on a simulated host and a kubelet stand-in (DESIGN §7). */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Run scan, prepare and the device plugin on an embedded simulated host against an embedded",
      "kubelet stand-in, printing each step. Needs no root, no GPU and no cluster."
    })
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--keep", description = "Keep the temporary host root and device-plugin directory.")
  boolean keep;

  @Option(names = "--verbose", description = "Also print the agent's own log lines.")
  boolean verbose;

  @Override
  public Integer call() throws IOException {
    if (!verbose) {
      // Read when each logger is created; the agent's loggers do not exist yet.
      System.setProperty("org.slf4j.simpleLogger.log.io.gpupassthrough", "warn");
    }
    Path work = Files.createTempDirectory("gpupt-demo");
    try {
      new Demo(System.out).run(work);
      return 0;
    } catch (Demo.DemoFailure | IllegalStateException e) {
      System.err.println("demo failed: " + e.getMessage());
      return 1;
    } finally {
      if (keep) {
        System.out.println("   kept " + work);
      } else {
        SimFiles.deleteTree(work);
      }
    }
  }
}
