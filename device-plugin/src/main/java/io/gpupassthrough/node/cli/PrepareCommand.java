package io.gpupassthrough.node.cli;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.aperture.DeviceSelection.VendorDevice;
import io.gpupassthrough.node.holders.HolderCheck;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.vfio.DeviceOutcome;
import io.gpupassthrough.node.vfio.Preparation;
import io.gpupassthrough.node.vfio.StepRecord;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code prepare}: detach the consoles in the way, bind the GPUs' IOMMU groups to vfio-pci. */
@Command(
    name = "prepare",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Prepare GPUs for passthrough. For each selected GPU: find the framebuffers and VT consoles"
          + " whose memory overlaps its BARs (and vgacon for the boot VGA device), unbind them in"
          + " order (fbcon, framebuffer driver, vgacon), unbind the GPU and its IOMMU group"
          + " companions from their drivers, set driver_override=vfio-pci, probe, and verify the"
          + " driver links and /dev/vfio/<group>. On failure everything is rolled back to the"
          + " original drivers, which are recorded for 'restore' under"
          + " <host-root>/var/lib/gpupassthrough/.",
      "Running it again on a prepared host changes nothing and says so. Without selection flags"
          + " every GPU (class 0x03xxxx) is selected; flags of different kinds must all match."
    },
    footer = {"", "Examples:",
      "  gpupt-node prepare --host-root / --dry-run",
      "  gpupt-node prepare --host-root / --device 0000:01:00.0",
      "  gpupt-node prepare --host-root / --vendor-device 10de:2236 --output json",
      "", "Exit codes: 0 every selected GPU verified on vfio-pci (with --dry-run: every one can be"
          + " prepared); 1 at least one refused, failed (and rolled back) or nothing matched;"
          + " 2 bad flags; 3 host root unreadable or malformed, nothing changed."})
public final class PrepareCommand implements Callable<Integer> {
  @Mixin HostOptions host;
  @Mixin WriteOptions writes;
  @Mixin HolderOptions holders;

  @Option(names = "--dry-run", description = "Plan and print the steps; write nothing.")
  boolean dryRun;

  @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "table (default) or json.")
  OutputFormat output = OutputFormat.table;

  @Option(names = "--device", paramLabel = "ADDRESS",
      description = "Select a GPU by PCI address, e.g. 0000:01:00.0 (repeatable).")
  List<String> devices = new ArrayList<>();

  @Option(names = "--vendor-device", paramLabel = "VENDOR[:DEVICE]",
      description = "Select GPUs by PCI IDs, e.g. 10de:2236 or 10de (repeatable).")
  List<String> vendorDevices = new ArrayList<>();

  @Option(names = "--class", paramLabel = "CLASS",
      description = "Select GPUs by class and subclass, e.g. 0x0300 VGA, 0x0302 3D (repeatable).")
  List<String> classes = new ArrayList<>();

  @Option(names = "--console-conflicts", paramLabel = "POLICY",
      description = "Detach (default): unbind exactly the conflicting consoles. Fail: refuse a GPU"
          + " that has any. Ignore: bind anyway (only when the kernel evicts them itself).")
  String policy = "Detach";

  @Option(names = "--no-companions",
      description = "Do not take the other functions of the IOMMU group (e.g. HDMI audio) along;"
          + " a GPU whose group has a device bound to another driver is then refused.")
  boolean noCompanions;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    DeviceSelection selection = selection();
    ConsoleConflictPolicy conflictPolicy = policy();
    HostRoot root;
    try {
      root = writes.apply(host.open(err), err);
    } catch (HostReadException e) {
      err.println("prepare: " + e.getMessage());
      err.flush();
      return ExitCodes.HOST_UNREADABLE;
    }
    try (HolderCheck check = holders.check(root)) {
      Preparation.Report report = new Preparation(root, check, event -> {
        if (output == OutputFormat.table) {
          err.println("prepare: " + event);
          err.flush();
        }
      }).prepare(selection, conflictPolicy, !noCompanions, dryRun);
      out.print(output == OutputFormat.json ? json(report, dryRun) : table(report, dryRun));
      out.flush();
      WriteOptions.warnIfHung(root, err);
      if (report.outcomes().isEmpty()) {
        err.println("prepare: no GPU matched the selection (see 'scan')");
        err.flush();
        return ExitCodes.NOT_ALL_VERIFIED;
      }
      boolean ok = dryRun
          ? report.outcomes().stream().allMatch(o -> o.result() != DeviceOutcome.Result.REFUSED)
          : report.allVerified();
      return ok ? ExitCodes.OK : ExitCodes.NOT_ALL_VERIFIED;
    } catch (HostReadException e) {
      err.println("prepare: " + e.getMessage());
      err.flush();
      return ExitCodes.HOST_UNREADABLE;
    }
  }

  private DeviceSelection selection() {
    try {
      return new DeviceSelection(
          devices.stream().map(PciAddress::parse).toList(),
          vendorDevices.stream().map(VendorDevice::parse).toList(),
          classes.stream().map(DeviceSelection::parseClass).toList());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private ConsoleConflictPolicy policy() {
    for (ConsoleConflictPolicy p : ConsoleConflictPolicy.values()) {
      if (p.name().equalsIgnoreCase(policy)) {
        return p;
      }
    }
    throw new ParameterException(spec.commandLine(),
        "--console-conflicts '" + policy + "' is not one of Detach, Fail, Ignore");
  }

  static String json(Preparation.Report report, boolean dryRun) {
    List<Map<String, Object>> devices = new ArrayList<>();
    for (DeviceOutcome o : report.outcomes()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("address", o.address().toString());
      o.plan().device().ifPresent(d -> JsonOutput.identity(m, d));
      m.put("companions", o.plan().companions().stream().map(c -> c.address().toString()).toList());
      m.put("result", o.result().name().toLowerCase(java.util.Locale.ROOT));
      m.put("verified", o.verified());
      m.put("reason", o.reason().map(r -> r.code()).orElse(null));
      m.put("message", o.message());
      m.put("conflicts", JsonOutput.conflicts(o.conflicts()));
      m.put("steps", o.steps().stream().map(s -> JsonOutput.step(s.step(),
          s.status().name().toLowerCase(java.util.Locale.ROOT), s.detail())).toList());
      devices.add(m);
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("dryRun", dryRun);
    root.put("allVerified", report.allVerified());
    root.put("devices", devices);
    return JsonOutput.write(root) + "\n";
  }

  static String table(Preparation.Report report, boolean dryRun) {
    StringBuilder b = new StringBuilder();
    for (DeviceOutcome o : report.outcomes()) {
      String name = o.plan().device().map(PciDevice::address).map(a -> a + " ("
          + JsonOutput.displayName(o.plan().device().get()) + ")").orElse(o.address().toString());
      b.append(name).append(": ").append(label(o)).append('\n');
      for (StepRecord s : o.steps()) {
        b.append("  ").append(mark(s.status())).append(' ').append(s.step().describe());
        if (s.status() == StepRecord.Status.PLANNED || s.status() == StepRecord.Status.DONE) {
          b.append("  # ").append(s.step().why());
        } else if (s.status() == StepRecord.Status.FAILED) {
          b.append("  # ").append(s.detail());
        }
        b.append('\n');
      }
      if (o.result() != DeviceOutcome.Result.PLANNED) {
        b.append("  ").append(o.message()).append('\n');
      }
    }
    if (dryRun) {
      b.append("dry run: nothing was written\n");
    }
    return b.toString();
  }

  private static String label(DeviceOutcome o) {
    return switch (o.result()) {
      case PREPARED -> "prepared, verified on vfio-pci";
      case ALREADY_PREPARED -> "already on vfio-pci, nothing to do";
      case PLANNED -> "would run " + o.steps().size() + " step(s)";
      case REFUSED -> "refused (" + o.reason().map(r -> r.code()).orElse("") + ")";
      case FAILED -> "FAILED (" + o.reason().map(r -> r.code()).orElse("") + ")";
    };
  }

  private static String mark(StepRecord.Status s) {
    return switch (s) {
      case DONE -> "[done]   ";
      case ALREADY_DONE -> "[already]";
      case FAILED -> "[FAILED] ";
      case NOT_RUN -> "[skipped]";
      case PLANNED -> "[plan]   ";
    };
  }
}
