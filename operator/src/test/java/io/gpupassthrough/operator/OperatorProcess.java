package io.gpupassthrough.operator;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.gpupassthrough.api.testing.RealApiServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The operator as the image runs it, for benchmarks: {@code operator/target/gpupt-operator.jar}
 * with the image's JVM flags ({@link #jvmFlags()}), {@code -XX:MaxRAM} set to
 * the memory limit of deploy/base/operator/deployment.yaml (what the JVM sees in that container),
 * the Deployment's environment, and a kubeconfig with a bound token of the operator's ServiceAccount
 * (as its pod has; the RBAC of deploy/base applies, with no impersonation checks on top). Both files
 * are read, not copied, so the figures follow what ships.
 */
final class OperatorProcess implements AutoCloseable {
  static final String STATUS_WRITES = "gpupt_operator_status_writes_total";
  static final String NODE_STATE_WRITES = "gpupt_operator_node_state_writes_total";
  static final String KUBEVIRT_WRITES = "gpupt_operator_kubevirt_writes_total";
  static final String PASSES = "gpupt_operator_reconcile_seconds_count";
  static final String PASS_SECONDS_SUM = "gpupt_operator_reconcile_seconds_sum";
  static final String PASS_SECONDS_MAX = "gpupt_operator_reconcile_seconds_max";

  private final Process process;
  private final int port;
  private final Path log;
  private final Path kubeconfig;
  private final HttpClient http = HttpClient.newHttpClient();

  private OperatorProcess(Process process, int port, Path log, Path kubeconfig) {
    this.process = process;
    this.port = port;
    this.log = log;
    this.kubeconfig = kubeconfig;
  }

  static OperatorProcess start(RealApiServer api, String name) throws IOException {
    Path jar = RealApiServer.repoRoot().resolve("operator/target/gpupt-operator.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("no " + jar + ": the bench profile runs after package; use the README's command");
    }
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(jvmFlags());
    command.add("-XX:MaxRAM=" + limitMib() + "m");
    // Extra flags for looking inside a run ({name} becomes "first" or "restarted"), e.g.
    // -Dbench.operator.jvmArgs=-XX:StartFlightRecording=filename=/tmp/op-{name}.jfr,settings=profile
    String extra = System.getProperty("bench.operator.jvmArgs", "").replace("{name}", name);
    if (!extra.isBlank()) {
      command.addAll(List.of(extra.strip().split("\\s+")));
    }
    command.addAll(List.of("-jar", jar.toString()));
    Path log = Files.createTempFile("gpupt-operator-" + name + "-", ".log");
    Path kubeconfig = Files.createTempFile("gpupt-operator-" + name + "-", ".kubeconfig");
    Files.writeString(kubeconfig, api.kubeconfigYamlFor(ApiCluster.NAMESPACE, "gpupt-operator"));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("KUBECONFIG", kubeconfig.toString());
    env.put("GPUPT_NAMESPACE", ApiCluster.NAMESPACE);
    env.put("GPUPT_PROBE_PORT", Integer.toString(port));
    return new OperatorProcess(pb.start(), port, log, kubeconfig);
  }

  /** The image's JVM flags: those between {@code java} and {@code -jar} in the Jib {@code <entrypoint>} of operator/pom.xml. */
  static List<String> jvmFlags() {
    try {
      String pom = Files.readString(RealApiServer.repoRoot().resolve("operator/pom.xml"));
      int from = pom.indexOf("<entrypoint>");
      if (from < 0) {
        throw new IllegalStateException("operator/pom.xml has no Jib <entrypoint>");
      }
      String entrypoint = pom.substring(from, pom.indexOf("</entrypoint>", from));
      List<String> argv = java.util.regex.Pattern.compile("<arg>([^<]*)</arg>").matcher(entrypoint).results()
          .map(m -> m.group(1).strip()).toList();
      return List.copyOf(argv.subList(1, argv.indexOf("-jar")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static int limitMib() {
    return mib(deployment().getSpec().getTemplate().getSpec().getContainers().get(0).getResources().getLimits()
        .get("memory"));
  }

  static int requestMib() {
    return mib(deployment().getSpec().getTemplate().getSpec().getContainers().get(0).getResources().getRequests()
        .get("memory"));
  }

  private static Deployment deployment() {
    try {
      return Serialization.unmarshal(
          Files.readString(RealApiServer.repoRoot().resolve("deploy/base/operator/deployment.yaml")), Deployment.class);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int mib(Quantity q) {
    return Quantity.getAmountInBytes(q).divide(java.math.BigDecimal.valueOf(1024 * 1024)).intValue();
  }

  /** Until this process holds the Lease and has started reconciling ({@code /readyz} also answers for standbys). */
  void awaitLeading() {
    await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200)).until(() -> {
      if (!process.isAlive()) {
        throw new IllegalStateException("the operator exited " + process.exitValue() + ":\n" + Files.readString(log));
      }
      return readLog().contains("leading: this replica reconciles");
    });
  }

  /** The operator's own counters from {@code /metrics}, by sample name (no labels on these). */
  Map<String, Double> metrics() {
    try {
      String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      Map<String, Double> out = new HashMap<>();
      body.lines().filter(l -> l.startsWith("gpupt_")).forEach(l -> {
        int space = l.lastIndexOf(' ');
        String key = l.substring(0, space);
        out.put(key.contains("{") ? key.substring(0, key.indexOf('{')) : key, Double.parseDouble(l.substring(space + 1)));
      });
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  long pid() {
    return process.pid();
  }

  long rssKib() {
    return procStatus("VmRSS:");
  }

  long peakRssKib() {
    return procStatus("VmHWM:");
  }

  private long procStatus(String field) {
    try {
      return Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status")).stream()
          .filter(l -> l.startsWith(field)).map(l -> l.substring(field.length()).replace("kB", "").strip())
          .mapToLong(Long::parseLong).findFirst().orElseThrow();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The operator's log lines containing {@code text}. */
  List<String> logLines(String text) {
    return readLog().lines().filter(l -> l.contains(text)).toList();
  }

  private String readLog() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "";
    }
  }

  /** SIGTERM, as the kubelet stops a pod; the operator's shutdown hook closes it. */
  @Override
  public void close() throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Files.deleteIfExists(log);
    Files.deleteIfExists(kubeconfig);
  }
}
