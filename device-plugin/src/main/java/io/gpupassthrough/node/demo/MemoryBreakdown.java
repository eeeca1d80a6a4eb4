package io.gpupassthrough.node.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a benchmarked {@code serve} process's memory goes, for the README's footprint table: resident
 * set by mapping ({@code /proc/PID/smaps}), the JVM's own accounting (Native Memory Tracking via
 * {@code jcmd}) and loaded classes per library ({@code -Xlog:class+load}). The child must run with
 * {@link #CHILD_FLAGS} (NMT costs about 2 MiB itself, so breakdown runs are not the figures' runs).
 */
public final class MemoryBreakdown {
  /** JVM flags that make the child measurable; {@code %s} is the class-load log file. */
  public static final String CHILD_FLAGS = "-XX:NativeMemoryTracking=summary -Xlog:class+load=info:file=%s";

  /** Package prefix → library, first match wins (the agent is one fat jar, so the source says nothing). */
  private static final List<String[]> LIBRARIES = List.of(
      new String[] {"io.grpc.netty.shaded.", "grpc-netty-shaded (Netty)"},
      new String[] {"io.grpc.", "grpc-java"},
      new String[] {"com.google.protobuf.", "protobuf-java"},
      new String[] {"com.google.common.", "guava"},
      new String[] {"io.fabric8.kubernetes.api.model.", "fabric8 model"},
      new String[] {"io.fabric8.", "fabric8 client"},
      new String[] {"com.fasterxml.jackson.", "Jackson"},
      new String[] {"org.snakeyaml.", "snakeyaml-engine"},
      new String[] {"io.micrometer.", "Micrometer"},
      new String[] {"io.prometheus.", "Prometheus client"},
      new String[] {"picocli.", "picocli"},
      new String[] {"org.slf4j.", "slf4j"},
      new String[] {"io.gpupassthrough.", "gpu-passthrough"},
      new String[] {"jdk.internal.reflect.Generated", "JDK reflection accessors"},
      new String[] {"java.lang.invoke.", "JDK method handles, lambda forms"},
      new String[] {"java.", "JDK"}, new String[] {"javax.", "JDK"}, new String[] {"jdk.", "JDK"},
      new String[] {"sun.", "JDK"}, new String[] {"com.sun.", "JDK"});
  private static final Pattern CLASS_LOAD = Pattern.compile("\\] (\\S+) source: (.*)$");
  private static final Pattern NMT_LINE = Pattern.compile("^-\\s+(.+?) \\(reserved=\\d+KB, committed=(\\d+)KB\\)");

  private MemoryBreakdown() {}

  /** The three views, as printable lines. */
  public static List<String> report(long pid, Path classLoadLog) throws IOException, InterruptedException {
    List<String> out = new ArrayList<>();
    out.add("resident set by mapping (/proc/" + pid + "/smaps, MiB; anon = heap, metaspace, code, stacks, malloc):");
    residentByMapping(pid).forEach((k, v) -> out.add(String.format(Locale.ROOT, "  %7.1f  %s", v / 1024.0, k)));
    out.add("JVM native memory tracking, committed (jcmd VM.native_memory summary, MiB):");
    nmtCommitted(pid).forEach((k, v) -> out.add(String.format(Locale.ROOT, "  %7.1f  %s", v / 1024.0, k)));
    out.add("classes loaded per library (-Xlog:class+load; in the CDS archive / in all):");
    classesPerLibrary(classLoadLog).forEach((k, v) -> out.add(String.format(Locale.ROOT, "  %5d / %5d  %s", v[1], v[0], k)));
    return out;
  }

  /** Rss summed per mapped file; anonymous mappings together; small ones folded into "other". */
  static Map<String, Long> residentByMapping(long pid) throws IOException {
    Map<String, Long> kib = new TreeMap<>();
    String name = "";
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps"))) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 5 && f[0].contains("-") && f[0].indexOf(':') < 0) {
        name = f.length >= 6 ? String.join(" ", java.util.Arrays.copyOfRange(f, 5, f.length)) : "(anon)";
      } else if (f[0].equals("Rss:")) {
        kib.merge(name, Long.parseLong(f[1]), Long::sum);
      }
    }
    Map<String, Long> folded = new LinkedHashMap<>();
    long total = kib.values().stream().mapToLong(Long::longValue).sum();
    folded.put("total", total);
    kib.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).forEach(e -> {
      if (e.getValue() >= 512) {
        folded.put(e.getKey(), e.getValue());
      } else {
        folded.merge("other mappings (< 0.5 MiB each)", e.getValue(), Long::sum);
      }
    });
    return folded;
  }

  static Map<String, Long> nmtCommitted(long pid) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "VM.native_memory", "summary")
        .redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(30, TimeUnit.SECONDS);
    Map<String, Long> committed = new LinkedHashMap<>();
    Matcher total = Pattern.compile("Total: reserved=\\d+KB, committed=(\\d+)KB").matcher(text);
    if (total.find()) {
      committed.put("total", Long.parseLong(total.group(1)));
    }
    for (String line : text.split("\n")) {
      Matcher m = NMT_LINE.matcher(line.trim());
      if (m.find() && Long.parseLong(m.group(2)) >= 256) {
        committed.put(m.group(1), Long.parseLong(m.group(2)));
      }
    }
    if (committed.isEmpty()) {
      committed.put("(no NMT data: " + text.lines().findFirst().orElse("jcmd printed nothing") + ")", 0L);
    }
    return committed;
  }

  /** library → {loaded, of them from the CDS archive}, most first. */
  static Map<String, long[]> classesPerLibrary(Path log) throws IOException {
    Map<String, long[]> counts = new LinkedHashMap<>();
    long[] all = new long[2];
    counts.put("all", all);
    Map<String, long[]> per = new TreeMap<>();
    for (String line : Files.readAllLines(log)) {
      Matcher m = CLASS_LOAD.matcher(line);
      if (!m.find()) {
        continue;
      }
      String cls = m.group(1);
      String library = LIBRARIES.stream().filter(l -> cls.startsWith(l[0])).map(l -> l[1]).findFirst().orElse("other");
      boolean shared = m.group(2).contains("shared");
      long[] c = per.computeIfAbsent(library, k -> new long[2]);
      c[0]++;
      all[0]++;
      if (shared) {
        c[1]++;
        all[1]++;
      }
    }
    per.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
        .forEach(e -> counts.put(e.getKey(), e.getValue()));
    return counts;
  }
}
