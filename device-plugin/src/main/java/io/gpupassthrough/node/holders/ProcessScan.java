package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.SysfsPaths;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the processes that have some files open: one listing of {@code /proc}, one listing of each
 * {@code /proc/<pid>/fd} and one readlink per fd, then {@code comm}, {@code cmdline} and
 * {@code cgroup} only for the few processes that matched. The fd links' text is the path in the
 * holder's own mount namespace, which for device nodes is the host's name for them (the kubelet
 * passes {@code /dev/vfio/N} to a container at the same path). Threads with an fd table of their
 * own ({@code clone} without {@code CLONE_FILES}) and files only mapped, not open, are not seen.
 */
public final class ProcessScan {
  /**
   * @param holders per file asked about, the processes holding it (absent: nobody)
   * @param processes processes looked at
   * @param unreadable processes whose open files could not be read (permission denied)
   * @param fds fd links read
   */
  public record Result(Map<String, List<ProcessHolder>> holders, int processes, int unreadable, long fds) {
    public Result {
      holders = Map.copyOf(holders);
    }
  }

  private final HostRoot host;
  private final SysfsPaths paths;

  public ProcessScan(HostRoot host) {
    this.host = host;
    this.paths = host.paths();
  }

  public Result holdersOf(Set<String> files) {
    Map<Long, List<String>> open = new LinkedHashMap<>();
    int processes = 0;
    int unreadable = 0;
    long fds = 0;
    for (String name : host.list(paths.proc())) {
      long pid = pid(name);
      if (pid <= 0) {
        continue;
      }
      processes++;
      Path fdDir = paths.processFds(pid);
      List<String> entries;
      try {
        entries = host.list(fdDir);
      } catch (HostReadException e) {
        unreadable++; // not root, or the process is exiting mid-listing
        continue;
      }
      for (String fd : entries) {
        fds++;
        Optional<String> file;
        try {
          file = host.linkText(fdDir.resolve(fd)).flatMap(ProcFormats::fdPath);
        } catch (HostReadException e) {
          continue; // closed or the process exited meanwhile
        }
        if (file.isPresent() && files.contains(file.get())) {
          open.computeIfAbsent(pid, p -> new ArrayList<>()).add(file.get());
        }
      }
    }
    Map<String, List<ProcessHolder>> holders = new LinkedHashMap<>();
    for (Map.Entry<Long, List<String>> e : open.entrySet()) {
      long pid = e.getKey();
      String comm = read(pid, "comm").strip();
      String cmdline = ProcFormats.commandLine(read(pid, "cmdline"));
      String cgroup = read(pid, "cgroup");
      for (String file : e.getValue().stream().distinct().toList()) {
        holders.computeIfAbsent(file, f -> new ArrayList<>()).add(new ProcessHolder(pid,
            comm.isEmpty() ? "?" : comm, cmdline, ProcFormats.containerId(cgroup),
            ProcFormats.podUid(cgroup), file));
      }
    }
    return new Result(holders, processes, unreadable, fds);
  }

  private String read(long pid, String file) {
    try {
      return host.readIfPresent(paths.processFile(pid, file)).orElse("");
    } catch (HostReadException e) {
      return ""; // exited between the fd scan and now
    }
  }

  /** A /proc entry's PID, or -1 for self, thread-self, sys, driver, ... */
  static long pid(String name) {
    if (name.isEmpty() || name.length() > 10) {
      return -1;
    }
    long pid = 0;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      pid = pid * 10 + (c - '0');
    }
    return pid;
  }
}
