package io.gpupassthrough.node.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the node agent jar: {@code java -jar gpupt-node.jar <command>}. */
@Command(
    name = "gpupt-node",
    mixinStandardHelpOptions = true,
    version = "gpupt-node 0.1.0",
    description = "GPU passthrough node agent.",
    subcommands = {ScanCommand.class, PrepareCommand.class, RestoreCommand.class, ServeCommand.class, DemoCommand.class, CommandLine.HelpCommand.class})
public final class GpuptNode implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new GpuptNode()).execute(args));
  }
}
