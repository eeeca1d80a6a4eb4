package io.gpupassthrough.node.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A process's memory as the kernel counts it ({@code /proc/PID/status}), in MiB: what a cgroup limit meets. */
public final class ProcMemory {
  private ProcMemory() {}

  /** Resident set size now. */
  public static double rssMiB(long pid) throws IOException {
    return field(pid, "VmRSS");
  }

  /**
   * Resident set size split as the kernel counts it: anonymous (heap, metaspace, malloc, stacks: this process's
   * alone, charged to its cgroup wherever it runs) and file-backed (libjvm.so, the CDS archives, the jar: page
   * cache, shared, charged to whichever cgroup first read the pages). E.g. "104.7 MiB (anon 60.1, file 44.6)".
   */
  public static String describe(long pid) throws IOException {
    return String.format(java.util.Locale.ROOT, "%.1f MiB (anon %.1f, file %.1f)", rssMiB(pid), field(pid, "RssAnon"),
        field(pid, "RssFile") + field(pid, "RssShmem"));
  }

  /** The highest resident set size the process ever had ("high water mark"). */
  public static double peakMiB(long pid) throws IOException {
    return field(pid, "VmHWM");
  }

  private static double field(long pid, String name) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith(name + ":")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    throw new IOException("/proc/" + pid + "/status has no " + name + " line");
  }
}
