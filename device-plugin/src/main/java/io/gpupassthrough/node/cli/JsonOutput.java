package io.gpupassthrough.node.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.gpupassthrough.node.aperture.Conflict;
import io.gpupassthrough.node.aperture.Step;
import io.gpupassthrough.node.holders.HolderReport;
import io.gpupassthrough.node.holders.PodHolder;
import io.gpupassthrough.node.holders.ProcessHolder;
import io.gpupassthrough.node.host.PciDevice;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON rendering shared by scan and prepare; field names are the DESIGN §7 contract. */
final class JsonOutput {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private JsonOutput() {}

  static String write(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code {kind, name, driver, start, end}} with hex strings, plus how it is released. */
  static Map<String, Object> conflict(Conflict c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kind", c.kind().json());
    m.put("name", c.name());
    m.put("driver", c.driver().orElse(null));
    m.put("start", c.hexStart());
    m.put("end", c.hexEnd());
    m.put("release", c.release().name().toLowerCase(java.util.Locale.ROOT));
    return m;
  }

  static List<Map<String, Object>> conflicts(List<Conflict> conflicts) {
    return conflicts.stream().map(JsonOutput::conflict).toList();
  }

  /** The identifying fields of a device shared by scan and prepare output. */
  static void identity(Map<String, Object> m, PciDevice d) {
    m.put("vendor", d.vendorHex());
    m.put("device", d.deviceHex());
    m.put("class", d.classHex());
    m.put("subsystemVendor", String.format("%04x", d.subsystemVendor()));
    m.put("subsystemDevice", String.format("%04x", d.subsystemDevice()));
    m.put("vendorName", d.vendorName().orElse(null));
    m.put("deviceName", d.deviceName().orElse(null));
    m.put("driver", d.driver().orElse(null));
    m.put("iommuGroup", d.iommuGroup().isPresent() ? d.iommuGroup().getAsInt() : null);
    m.put("numaNode", d.numaNode());
    m.put("bootVga", d.bootVga());
  }

  static Map<String, Object> step(Step s, String status, String detail) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("action", s.describe());
    m.put("status", status);
    m.put("why", s.why());
    if (detail != null && !detail.isEmpty() && !detail.equals(s.why())) {
      m.put("detail", detail);
    }
    return m;
  }

  /** {@code {namespace, pod, container, resourceName}}: a kubelet allocation. */
  static Map<String, Object> pod(PodHolder p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("namespace", p.namespace());
    m.put("pod", p.pod());
    m.put("container", p.container());
    m.put("resourceName", p.resourceName());
    return m;
  }

  /** {@code {pid, command, containerId, file}}: a process with a device file open. */
  static Map<String, Object> process(ProcessHolder p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pid", p.pid());
    m.put("command", p.command());
    m.put("containerId", p.containerId().orElse(null));
    m.put("file", p.file());
    return m;
  }

  /** Whether the holder check saw everything, and what it could not consult. */
  static Map<String, Object> holderCheck(HolderReport r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("complete", r.blind().isEmpty());
    m.put("blind", r.blind());
    m.put("notes", r.notes());
    return m;
  }

  /** "NVIDIA Corporation GA102GL [A10]" or the hex IDs when pci.ids is absent. */
  static String displayName(PciDevice d) {
    String v = d.vendorName().map(JsonOutput::shortVendor).orElse(d.vendorHex());
    String n = d.deviceName().orElse(d.deviceHex());
    return v + " " + n;
  }

  private static String shortVendor(String name) {
    int i = name.indexOf(' ');
    return i > 0 && (name.endsWith("Corporation") || name.endsWith("Inc.")) ? name.substring(0, i) : name;
  }
}
