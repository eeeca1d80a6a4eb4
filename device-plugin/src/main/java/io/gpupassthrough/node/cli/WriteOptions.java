package io.gpupassthrough.node.cli;

import io.gpupassthrough.node.host.DeadlineHostRoot;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.WriteDeadline;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code --write-timeout}, for the commands that write sysfs: prepare, restore, serve. */
public final class WriteOptions {
  @Option(names = "--write-timeout", paramLabel = "SECONDS",
      description = "Deadline of each sysfs write. A write still blocked in the kernel after it"
          + " (vfio-pci's unbind waits while the device is open) is reported as WriteHung and left"
          + " on its own thread; nothing more is written for that device until it returns."
          + " Default: ${DEFAULT-VALUE}.")
  long writeTimeoutSeconds = WriteDeadline.DEFAULT.toSeconds();

  @Spec(Spec.Target.MIXEE) CommandSpec command;

  /** {@code host} with every write under the deadline; an abandoned write that returns is logged. */
  HostRoot apply(HostRoot host, PrintWriter err) {
    return new DeadlineHostRoot(host, deadline(line -> {
      err.println("sysfs: " + line);
      err.flush();
    }));
  }

  WriteDeadline deadline(java.util.function.Consumer<String> events) {
    if (writeTimeoutSeconds < 1) {
      throw new ParameterException(command.commandLine(),
          "--write-timeout must be at least 1 second, got " + writeTimeoutSeconds);
    }
    return new WriteDeadline(Duration.ofSeconds(writeTimeoutSeconds), Clock.systemUTC(), events);
  }

  /** After the output: a process with a write still in the kernel cannot exit until it returns. */
  static void warnIfHung(HostRoot host, PrintWriter err) {
    if (!host.hungWrites().isEmpty()) {
      err.println("note: " + host.hungWrites().size() + " sysfs write(s) are still blocked in the kernel;"
          + " this process cannot finish exiting until they return (the kernel keeps the writing"
          + " thread until the device is released)");
      err.flush();
    }
  }
}
