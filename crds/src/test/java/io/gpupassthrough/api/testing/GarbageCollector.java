package io.gpupassthrough.api.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * kube-controller-manager v1.28.7 running only its garbage collector, against a {@link RealApiServer}
 * as the admin. kube-api-test starts no controllers, so without this nothing deletes an object whose
 * owner (e.g. a Node) is gone. Started from the same install as the API server
 * ({@code ../shared/k8s/install.sh}); no HTTPS port of its own ({@code --secure-port=0}), no
 * leader election, so several test servers can each have one.
 */
public final class GarbageCollector implements AutoCloseable {
  private final Process process;
  private final Path dir;

  private GarbageCollector(Process process, Path dir) {
    this.process = process;
    this.dir = dir;
  }

  static GarbageCollector start(Path binaries, String adminKubeconfig) {
    Path binary = binaries.resolve("kube-controller-manager");
    if (!Files.isExecutable(binary)) {
      throw new IllegalStateException("no " + binary + ": run ../shared/k8s/install.sh");
    }
    try {
      Path dir = Files.createTempDirectory("gpupt-gc-");
      Path kubeconfig = dir.resolve("admin.kubeconfig");
      Files.writeString(kubeconfig, adminKubeconfig, StandardCharsets.UTF_8);
      Process p = new ProcessBuilder(List.of(binary.toString(),
          "--kubeconfig=" + kubeconfig,
          "--controllers=garbage-collector-controller",
          "--leader-elect=false",
          "--secure-port=0",
          "--concurrent-gc-syncs=5"))
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("kube-controller-manager.log").toFile())
          .start();
      return new GarbageCollector(p, dir);
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + binary + ": " + e.getMessage(), e);
    }
  }

  /** The controller manager's log, for a failure message ("is it even running?"). */
  public String log() {
    try {
      String all = Files.readString(dir.resolve("kube-controller-manager.log"), StandardCharsets.UTF_8);
      return (process.isAlive() ? "running" : "exited " + process.exitValue()) + "; last log lines:\n"
          + all.substring(Math.max(0, all.length() - 3000));
    } catch (IOException e) {
      return "no log: " + e.getMessage();
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // A temp directory left behind is harmless.
    }
  }
}
