package io.gpupassthrough.node.cli;

import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.vfio.Preparation;
import io.gpupassthrough.node.vfio.RestoreItem;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code restore}: give prepared devices, framebuffers and consoles back to their drivers. */
@Command(
    name = "restore",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Undo 'prepare': unbind each recorded PCI function from vfio-pci, clear driver_override,"
          + " rebind its original driver, rebind the framebuffer drivers and VT consoles that were"
          + " detached, and verify each. What is restored is forgotten; what could not be is kept"
          + " in <host-root>/var/lib/gpupassthrough/original-drivers.json for another try."
    },
    footer = {"", "A device that a pod (kubelet PodResources) or a process (its /dev/vfio files open) holds is"
        + " left on vfio-pci and listed as [held] with its holders: unbinding it would take it from"
        + " a running VM. Run restore again once it is released.",
        "", "Exit codes: 0 everything recorded is back (or nothing was recorded); 1 something"
        + " could not be restored (listed); 2 bad flags; 3 host root or record unreadable."})
public final class RestoreCommand implements Callable<Integer> {
  @Mixin HostOptions host;
  @Mixin WriteOptions writes;
  @Mixin HolderOptions holders;

  @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "table (default) or json.")
  OutputFormat output = OutputFormat.table;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    HostRoot root;
    try {
      root = writes.apply(host.open(err), err);
    } catch (HostReadException e) {
      err.println("restore: " + e.getMessage());
      err.flush();
      return ExitCodes.HOST_UNREADABLE;
    }
    try (HolderCheck check = holders.check(root)) {
      List<RestoreItem> items = new Preparation(root, check, e -> {}).restore();
      if (output == OutputFormat.json) {
        out.print(JsonOutput.write(Map.of("items", items.stream().map(i -> {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("name", i.name());
          m.put("restored", i.restored());
          m.put("reason", i.reason().map(r -> r.code()).orElse(null));
          m.put("message", i.message());
          return m;
        }).toList())) + "\n");
      } else if (items.isEmpty()) {
        out.println("nothing recorded under " + host.hostRoot + "/var/lib/gpupassthrough; nothing to restore");
      } else {
        for (RestoreItem i : items) {
          out.println(mark(i) + i.name() + ": " + i.message());
        }
      }
      out.flush();
      WriteOptions.warnIfHung(root, err);
      return items.stream().allMatch(RestoreItem::restored) ? ExitCodes.OK : ExitCodes.NOT_ALL_VERIFIED;
    } catch (HostReadException e) {
      err.println("restore: " + e.getMessage());
      err.flush();
      return ExitCodes.HOST_UNREADABLE;
    }
  }

  private static String mark(RestoreItem i) {
    if (i.restored()) {
      return "[restored] ";
    }
    return i.reason().map(r -> switch (r) {
      case DEVICE_IN_USE -> "[held]     ";
      case WRITE_HUNG -> "[hung]     ";
      default -> "[FAILED]   ";
    }).orElse("[FAILED]   ");
  }
}
