package io.gpupassthrough.node.plugin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.gpupassthrough.node.host.PciAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The optional {@code serve --config FILE} (YAML or JSON). Today it only overrides resource names:
 *
 * <pre>
 * resourceNames:
 *   "10de:2236": example.com/a10        # every GPU with these vendor:device IDs
 *   "0000:41:00.0": example.com/big-gpu  # one GPU by PCI address (wins over IDs)
 * </pre>
 */
public record ServeConfig(Map<String, ResourceName> resourceNames) {
  private static final Pattern IDS = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{4}");

  public ServeConfig {
    resourceNames = Map.copyOf(resourceNames);
  }

  public static ServeConfig empty() {
    return new ServeConfig(Map.of());
  }

  /** Reads and validates the file; every error names the file, the key and what is expected. */
  public static ServeConfig read(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read the serve config: " + e.getMessage(), e);
    }
    if (root == null || root.isNull() || root.isMissingNode()) {
      return empty();
    }
    if (!root.isObject()) {
      throw new IllegalArgumentException(file + ": expected a mapping with 'resourceNames'");
    }
    Map<String, ResourceName> names = new LinkedHashMap<>();
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!field.equals("resourceNames")) {
        throw new IllegalArgumentException(
            file + ": unknown key '" + field + "'; the only key is 'resourceNames'");
      }
    }
    JsonNode map = root.path("resourceNames");
    if (!map.isMissingNode() && !map.isObject()) {
      throw new IllegalArgumentException(
          file + ": 'resourceNames' must map PCI addresses or vendor:device IDs to resource names");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = e.getKey().toLowerCase(java.util.Locale.ROOT);
      if (!IDS.matcher(key).matches() && !PciAddress.looksLikeAddress(key)) {
        throw new IllegalArgumentException(
            file
                + ": resourceNames key '"
                + e.getKey()
                + "' is neither a PCI address (0000:01:00.0) nor vendor:device IDs (10de:2236)");
      }
      if (!e.getValue().isTextual()) {
        throw new IllegalArgumentException(
            file + ": resourceNames['" + e.getKey() + "'] must be a string like example.com/gpu");
      }
      try {
        String normalized =
            IDS.matcher(key).matches() ? key : PciAddress.parse(key).toString();
        names.put(normalized, ResourceName.parse(e.getValue().asText()));
      } catch (IllegalArgumentException bad) {
        throw new IllegalArgumentException(
            file + ": resourceNames['" + e.getKey() + "']: " + bad.getMessage(), bad);
      }
    }
    return new ServeConfig(names);
  }
}
