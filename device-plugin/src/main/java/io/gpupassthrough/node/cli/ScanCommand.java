package io.gpupassthrough.node.cli;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.ConflictEngine;
import io.gpupassthrough.node.aperture.DevicePlan;
import io.gpupassthrough.node.aperture.Disposition;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.host.Snapshot;
import io.gpupassthrough.node.host.SnapshotReader;
import io.gpupassthrough.node.vfio.Verifier;
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
import picocli.CommandLine.Spec;

/** {@code scan}: read-only preflight of every GPU on the host. */
@Command(
    name = "scan",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Read-only preflight: list every GPU (PCI class 0x03xxxx) with its IOMMU group, driver,"
          + " the console framebuffers and VT consoles on its BARs, and whether it is advertised"
          + " (verified on vfio-pci), ready to prepare, or blocked and why.",
      "Nothing is written. Run it before 'prepare', after it, and whenever a GPU is not advertised."
    },
    footer = {"", "Examples:",
      "  gpupt-node scan --host-root /",
      "  gpupt-node scan --host-root /host --output json | jq '.devices[] | {address, reason}'",
      "", "Exit codes: 0 scanned; 2 bad flags; 3 host root unreadable or malformed (the message"
          + " names the file and what was expected)."})
public final class ScanCommand implements Callable<Integer> {
  @Mixin HostOptions host;

  @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
      description = "table (default) or json (fields fixed by the CLI contract).")
  OutputFormat output = OutputFormat.table;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      Snapshot snapshot = new SnapshotReader(host.open(err)).read();
      out.print(output == OutputFormat.json ? json(snapshot) : table(snapshot));
      out.flush();
      return ExitCodes.OK;
    } catch (HostReadException e) {
      err.println("scan: " + e.getMessage());
      err.flush();
      return ExitCodes.HOST_UNREADABLE;
    }
  }

  /** The scan's verdict per GPU: the engine with default policy, as {@code prepare} would see it. */
  static List<DevicePlan> assess(Snapshot s) {
    List<DevicePlan> plans = new ArrayList<>();
    for (PciDevice gpu : s.gpus()) {
      plans.add(ConflictEngine.assess(s, gpu, ConsoleConflictPolicy.DETACH, true));
    }
    return plans;
  }

  static String json(Snapshot s) {
    List<Map<String, Object>> devices = new ArrayList<>();
    for (DevicePlan p : assess(s)) {
      PciDevice d = p.device().orElseThrow();
      boolean advertisable = Verifier.verified(s, d).isPresent();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("address", d.address().toString());
      JsonOutput.identity(m, d);
      m.put("driverOverride", d.driverOverride().orElse(null));
      // The contract's companions are what goes to vfio-pci with the GPU (the plan's companions:
      // bridges stay on their driver); the whole group, bridges included, is iommuGroupMembers.
      m.put("companions", p.companions().stream().map(c -> c.address().toString()).toList());
      m.put("iommuGroupMembers", s.groupOf(d).map(g -> g.members().stream().map(PciAddress::toString).toList())
          .orElse(List.of()));
      m.put("conflicts", JsonOutput.conflicts(p.conflicts()));
      m.put("advertisable", advertisable);
      m.put("state", state(p, advertisable));
      m.put("reason", advertisable ? null : p.refusal().map(r -> r.reason().code()).orElse(null));
      m.put("message", p.refusal().map(r -> r.message()).orElse(null));
      devices.add(m);
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("kernelRelease", s.kernelRelease().orElse(null));
    root.put("vfioPciLoaded", s.vfioPciLoaded());
    root.put("iomemAddressesHidden", s.iomem().addressesHidden());
    root.put("devices", devices);
    return JsonOutput.write(root) + "\n";
  }

  private static String state(DevicePlan p, boolean advertisable) {
    if (advertisable) {
      return "advertisable";
    }
    return p.disposition() == Disposition.REFUSED ? "blocked" : "ready";
  }

  static String table(Snapshot s) {
    List<DevicePlan> plans = assess(s);
    if (plans.isEmpty()) {
      return "no GPUs (PCI class 0x03xxxx) found under " + "/sys/bus/pci/devices\n";
    }
    TextTable t = new TextTable(
        "ADDRESS", "ID", "CLASS", "NAME", "DRIVER", "GROUP", "NUMA", "BOOT", "STATE", "CONFLICTS");
    StringBuilder notes = new StringBuilder();
    for (DevicePlan p : plans) {
      PciDevice d = p.device().orElseThrow();
      boolean advertisable = Verifier.verified(s, d).isPresent();
      String state = advertisable ? "advertisable"
          : p.refusal().map(r -> "blocked: " + r.reason().code()).orElse("ready to prepare");
      t.row(d.address().toString(), d.vendorHex() + ":" + d.deviceHex(), d.classHex(),
          JsonOutput.displayName(d), d.driver().orElse("-"),
          d.iommuGroup().isPresent() ? d.iommuGroup().getAsInt() + groupSuffix(p) : "-",
          d.numaNode() < 0 ? "-" : Integer.toString(d.numaNode()),
          d.bootVga() ? "yes" : "no", state,
          p.conflicts().isEmpty() ? "-" : String.join(", ",
              p.conflicts().stream().map(ScanCommand::shortConflict).toList()));
      p.refusal().ifPresent(r ->
          notes.append(d.address()).append(": ").append(r.message()).append('\n'));
    }
    return t.render() + (notes.length() > 0 ? "\n" + notes : "");
  }

  /** The functions that go to vfio-pci with the GPU, as in the JSON's {@code companions}. */
  private static String groupSuffix(DevicePlan p) {
    List<String> companions = p.companions().stream().map(c -> c.address().toString()).toList();
    return companions.isEmpty() ? "" : " (+" + String.join(",", companions) + ")";
  }

  private static String shortConflict(Conflict c) {
    return c.name() + c.driver().map(dr -> "[" + dr + "]").orElse("") + " " + c.hexStart() + "-" + c.hexEnd();
  }
}
