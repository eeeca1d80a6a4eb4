package io.gpupassthrough.node.holders;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Pure parsers for the few procfs formats a holder scan reads. */
public final class ProcFormats {
  /** Longest command line kept for a holder (status bounds it too). */
  static final int MAX_COMMAND = 200;

  /** The kernel appends this to an fd link whose file was unlinked; the file is still held. */
  private static final String DELETED = " (deleted)";

  /** A container ID: 64 hex digits, the last one in a cgroup path segment (runtime prefixes vary). */
  private static final Pattern CONTAINER_ID = Pattern.compile("(?:^|[-:])([0-9a-f]{64})(?:\\.scope)?$");

  /** The kubelet's pod cgroup: {@code pod<uid>} (cgroupfs) or {@code ...-pod<uid with _>.slice} (systemd). */
  private static final Pattern POD_UID = Pattern.compile(
      "pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\\.slice)?$");

  private ProcFormats() {}

  /**
   * The file an {@code /proc/<pid>/fd/N} link names, when it is a path: {@code /dev/vfio/12}, also
   * for {@code /dev/vfio/12 (deleted)} (devtmpfs node removed, fd still open, device still held).
   * Empty for sockets, pipes and anonymous inodes ({@code socket:[123]}, {@code anon_inode:[vfio-device]}).
   */
  public static Optional<String> fdPath(String linkText) {
    if (linkText == null || !linkText.startsWith("/")) {
      return Optional.empty();
    }
    return Optional.of(linkText.endsWith(DELETED)
        ? linkText.substring(0, linkText.length() - DELETED.length())
        : linkText);
  }

  /** The process's container, from {@code /proc/<pid>/cgroup} (v1 or v2, containerd, CRI-O, Docker). */
  public static Optional<String> containerId(String cgroupFile) {
    for (String line : lines(cgroupFile)) {
      String path = cgroupPath(line);
      String last = path.substring(path.lastIndexOf('/') + 1);
      // CRI-O's monitor sits in crio-conmon-<id>.scope: it is not the container.
      if (last.contains("conmon")) {
        continue;
      }
      Matcher m = CONTAINER_ID.matcher(last);
      if (m.find()) {
        return Optional.of(m.group(1));
      }
    }
    return Optional.empty();
  }

  /** The pod's UID when the process lives in a kubelet pod cgroup. */
  public static Optional<String> podUid(String cgroupFile) {
    for (String line : lines(cgroupFile)) {
      for (String segment : cgroupPath(line).split("/")) {
        Matcher m = POD_UID.matcher(segment);
        if (m.find()) {
          return Optional.of(m.group(1).replace('_', '-'));
        }
      }
    }
    return Optional.empty();
  }

  /** {@code cmdline}'s NUL-separated arguments as one line, cut to {@value #MAX_COMMAND} characters. */
  public static String commandLine(String cmdline) {
    String joined = cmdline == null ? "" : cmdline.replace('\0', ' ').strip();
    return joined.length() <= MAX_COMMAND ? joined : joined.substring(0, MAX_COMMAND - 1) + "…";
  }

  /** {@code Device Minor: 0} in {@code /proc/driver/nvidia/gpus/<address>/information}. */
  public static Optional<Integer> nvidiaMinor(String information) {
    for (String line : lines(information)) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).strip().equals("Device Minor")) {
        try {
          return Optional.of(Integer.parseInt(line.substring(colon + 1).strip()));
        } catch (NumberFormatException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }

  /** {@code hierarchy-ID:controllers:path}; the path may itself contain colons. */
  private static String cgroupPath(String line) {
    int first = line.indexOf(':');
    int second = first < 0 ? -1 : line.indexOf(':', first + 1);
    return second < 0 ? line : line.substring(second + 1);
  }

  private static String[] lines(String text) {
    return text == null || text.isEmpty() ? new String[0] : text.split("\n");
  }
}
