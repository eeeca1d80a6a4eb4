package io.gpupassthrough.node.host;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Vendor and device names from a {@code pci.ids} file. The file is ~1.4 MB, so a lookup streams
 * it once and keeps only the IDs asked for; vendor lines start in column 0, device lines with one
 * tab, subsystem lines with two tabs; {@code #} starts a comment; the class list after {@code C }
 * lines is not needed.
 */
public final class PciIds {
  /** A vendor name and, when known, the device name. */
  public record Names(Optional<String> vendor, Optional<String> device) {
    public static final Names NONE = new Names(Optional.empty(), Optional.empty());
  }

  private final Map<Integer, String> vendors;
  private final Map<Long, String> devices;

  private PciIds(Map<Integer, String> vendors, Map<Long, String> devices) {
    this.vendors = Map.copyOf(vendors);
    this.devices = Map.copyOf(devices);
  }

  public static PciIds none() {
    return new PciIds(Map.of(), Map.of());
  }

  private static long key(int vendor, int device) {
    return ((long) vendor << 16) | device;
  }

  /** Reads the names of {@code wanted} vendor/device pairs ({@code vendor << 16 | device}). */
  public static PciIds load(Path file, Set<Long> wanted) {
    Map<Integer, String> vendors = new HashMap<>();
    Map<Long, String> devices = new HashMap<>();
    if (wanted.isEmpty()) {
      return none();
    }
    Set<Integer> wantedVendors = new java.util.HashSet<>();
    for (long k : wanted) {
      wantedVendors.add((int) (k >>> 16));
    }
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int current = -1;
      while ((line = r.readLine()) != null) {
        if (line.isEmpty() || line.charAt(0) == '#') {
          continue;
        }
        if (line.charAt(0) != '\t') {
          if (line.startsWith("C ")) {
            break; // device classes follow the vendor list
          }
          current = -1;
          if (line.length() > 6 && line.charAt(4) == ' ') {
            int v = hex(line, 0, 4);
            if (v >= 0 && wantedVendors.contains(v)) {
              current = v;
              vendors.put(v, line.substring(6).strip());
            }
          }
        } else if (current >= 0 && line.length() > 7 && line.charAt(1) != '\t') {
          int d = hex(line, 1, 5);
          if (d >= 0 && wanted.contains(key(current, d))) {
            devices.put(key(current, d), line.substring(7).strip());
          }
        }
      }
    } catch (NoSuchFileException e) {
      return none();
    } catch (IOException e) {
      throw new HostReadException(file, "cannot read pci.ids: " + e, e);
    }
    return new PciIds(vendors, devices);
  }

  private static int hex(String s, int from, int to) {
    int v = 0;
    for (int i = from; i < to; i++) {
      int d = Character.digit(s.charAt(i), 16);
      if (d < 0) {
        return -1;
      }
      v = v * 16 + d;
    }
    return v;
  }

  public Names names(int vendor, int device) {
    return new Names(
        Optional.ofNullable(vendors.get(vendor)), Optional.ofNullable(devices.get(key(vendor, device))));
  }
}
