package io.gpupassthrough.api.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd + kube-apiserver v1.28.7 (RBAC on) for a test class, started by fabric8 kube-api-test
 * in offline mode from the binaries {@code ../shared/k8s/install.sh} unpacks. The mock server
 * accepts CRDs, RBAC and Events that a real server refuses, so everything about API behaviour is
 * tested here: {@link #applyDeployBase()} applies what an admin applies ({@code kubectl kustomize
 * deploy/base}, not a copy), and {@link #as} acts as a ServiceAccount by impersonation, so the RBAC
 * that ships is the RBAC under test.
 */
public final class RealApiServer implements AutoCloseable {
  public static final String VERSION = "1.28.7";
  private static final String INSTALL_HINT =
      "run ../shared/k8s/install.sh (it unpacks kube-apiserver and etcd " + VERSION + " for kube-api-test)";

  private final KubeAPIServer server;
  private final String kubeconfig;
  private final List<KubernetesClient> clients = new ArrayList<>();
  private final List<AutoCloseable> helpers = new ArrayList<>();
  private Path kubeconfigFile;

  private RealApiServer(KubeAPIServer server) {
    this.server = server;
    this.kubeconfig = server.getKubeConfigYaml();
  }

  /** Starts etcd and the API server; fails with what to run when the binaries are missing. */
  public static RealApiServer start() {
    return start(Map.of());
  }

  /**
   * The same with extra kube-apiserver flags ({@code "--admission-control-config-file"} to a
   * file, say), for behaviour that depends on how a cluster configured its API server.
   */
  public static RealApiServer start(Map<String, String> apiServerFlags) {
    Path dir = binariesRoot();
    Path bin = dir.resolve("k8s").resolve(VERSION + "-linux-amd64");
    if (!Files.isExecutable(bin.resolve("kube-apiserver")) || !Files.isExecutable(bin.resolve("etcd"))) {
      throw new IllegalStateException("no kube-apiserver/etcd " + VERSION + " in " + bin + ": " + INSTALL_HINT);
    }
    KubeAPIServerConfigBuilder config = KubeAPIServerConfigBuilder.anAPIServerConfig();
    apiServerFlags.forEach(config::withApiServerFlag);
    KubeAPIServer server = new KubeAPIServer(config
        .withTestDir(dir.toString())
        .withApiServerVersion(VERSION)
        .withOfflineMode(true)
        .withUpdateKubeConfig(false)
        .withStartupTimeout(120_000)
        .build());
    server.start();
    return new RealApiServer(server);
  }

  /** {@code KUBE_API_TEST_DIR}, else {@code ~/.kubeapitest} (install.sh's default). */
  static Path binariesRoot() {
    String env = System.getenv(KubeAPIServerConfigBuilder.KUBE_API_TEST_DIR);
    return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".kubeapitest");
  }

  /** The cluster admin ({@code system:masters}): set-up and assertions only, never the code under test. */
  public KubernetesClient admin() {
    return track(new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig)).build());
  }

  /** A client that acts as {@code system:serviceaccount:NAMESPACE:NAME} with the groups a token carries. */
  public KubernetesClient as(String namespace, String serviceAccount) {
    return track(new KubernetesClientBuilder().withConfig(configAs(namespace, serviceAccount)).build());
  }

  /**
   * The client configuration of {@link #as}, for a component that builds its own client from it (the
   * node agent does); hand the client to {@link #track} so that {@link #close} closes it.
   */
  public Config configAs(String namespace, String serviceAccount) {
    Config config = Config.fromKubeconfig(kubeconfig);
    config.setImpersonateUsername("system:serviceaccount:" + namespace + ":" + serviceAccount);
    config.setImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + namespace,
        "system:authenticated");
    return config;
  }

  /**
   * A client that is {@code system:serviceaccount:NAMESPACE:NAME} by its own bound token (TokenRequest
   * API), as a pod of that ServiceAccount is: no impersonation, so no extra authorization checks per
   * request (which is what benchmarks want; {@link #as} is the norm for tests).
   */
  public KubernetesClient withToken(String namespace, String serviceAccount) {
    return track(new KubernetesClientBuilder()
        .withConfig(Config.fromKubeconfig(kubeconfigYamlFor(namespace, serviceAccount))).build());
  }

  /** A kubeconfig holding a one-hour bound token of the ServiceAccount, for a client in another process. */
  public String kubeconfigYamlFor(String namespace, String serviceAccount) {
    String token = admin().serviceAccounts().inNamespace(namespace).withName(serviceAccount)
        .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build())
        .getStatus().getToken();
    Config cluster = Config.fromKubeconfig(kubeconfig);
    String ca = cluster.getCaCertData();
    if (ca == null) {
      try {
        ca = java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of(cluster.getCaCertFile())));
      } catch (IOException e) {
        throw new IllegalStateException("cannot read the API server's CA " + cluster.getCaCertFile(), e);
      }
    }
    return String.join("\n",
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: test, cluster: {server: \"" + cluster.getMasterUrl() + "\", certificate-authority-data: "
            + ca + "}}]",
        "users: [{name: " + serviceAccount + ", user: {token: " + token + "}}]",
        "contexts: [{name: test, context: {cluster: test, user: " + serviceAccount + "}}]",
        "current-context: test",
        "");
  }

  /** A kubeconfig for a client in another process (admin). */
  public String kubeconfigYaml() {
    return kubeconfig;
  }

  /** The admin kubeconfig as a file (for kubectl and other processes), written once, removed on close. */
  public synchronized Path kubeconfigFile() {
    if (kubeconfigFile == null) {
      try {
        kubeconfigFile = Files.createTempFile("gpupt-admin-", ".kubeconfig");
        Files.writeString(kubeconfigFile, kubeconfig, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalStateException("cannot write the admin kubeconfig: " + e.getMessage(), e);
      }
    }
    return kubeconfigFile;
  }

  /**
   * Runs the machine's kubectl as the admin against this server and returns its stdout: what an
   * admin sees, e.g. {@code kubectl describe gpt NAME}. Fails with kubectl's stderr on a non-zero exit.
   */
  public String kubectl(String... args) {
    List<String> command = new ArrayList<>(List.of(kubectl(), "--kubeconfig", kubeconfigFile().toString()));
    command.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(command).start();
      byte[] out = p.getInputStream().readAllBytes();
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IllegalStateException(String.join(" ", args) + " failed: " + err.strip());
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run kubectl: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running kubectl", e);
    }
  }

  /**
   * Starts kube-controller-manager's garbage collector against this server (stopped on close): for
   * tests of owner-reference GC, which kube-api-test alone does not do.
   */
  public synchronized GarbageCollector startGarbageCollector() {
    GarbageCollector gc = GarbageCollector.start(
        binariesRoot().resolve("k8s").resolve(VERSION + "-linux-amd64"), kubeconfig);
    helpers.add(gc);
    return gc;
  }

  /**
   * The environment for a fabric8 client in another process that acts as the ServiceAccount, as
   * {@link #as} does in this one: the admin kubeconfig (written to {@code dir}) plus fabric8's
   * impersonation variables (it ignores a kubeconfig's {@code as:}/{@code as-groups:}).
   */
  public Map<String, String> processEnvAs(Path dir, String namespace, String serviceAccount) {
    try {
      Path file = Files.writeString(dir.resolve("kubeconfig-" + serviceAccount), kubeconfig);
      return Map.of(
          "KUBECONFIG", file.toString(),
          "KUBERNETES_IMPERSONATE_USERNAME", "system:serviceaccount:" + namespace + ":" + serviceAccount,
          "KUBERNETES_IMPERSONATE_GROUP",
          "system:serviceaccounts,system:serviceaccounts:" + namespace + ",system:authenticated");
    } catch (IOException e) {
      throw new IllegalStateException("cannot write a kubeconfig to " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * {@code kubectl kustomize deploy/base} applied as the admin, exactly as the README's install
   * does (create, or update when present). Returns the objects as rendered.
   */
  public List<HasMetadata> applyDeployBase() {
    return apply(kustomize(repoRoot().resolve("deploy/base")));
  }

  /** Applies rendered YAML as the admin; CRDs are waited for until the server serves them. */
  public List<HasMetadata> apply(String yaml) {
    KubernetesClient admin = admin();
    List<HasMetadata> objects = admin.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
    List<HasMetadata> applied = new ArrayList<>();
    for (HasMetadata o : objects) {
      applied.add(admin.resource(o).createOr(NonDeletingOperation::update));
    }
    for (HasMetadata o : applied) {
      if (o.getKind().equals("CustomResourceDefinition")) {
        admin.apiextensions().v1().customResourceDefinitions().withName(o.getMetadata().getName())
            // A CRD just created may have a status without conditions yet.
            .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
                && c.getStatus().getConditions().stream()
                .anyMatch(k -> k.getType().equals("Established") && k.getStatus().equals("True")), 30, TimeUnit.SECONDS);
      }
    }
    return applied;
  }

  /** Renders a kustomization with the machine's kubectl (v1.32, kustomize v5.5), as an admin would. */
  public static String kustomize(Path dir) {
    try {
      Process p = new ProcessBuilder(kubectl(), "kustomize", dir.toString()).redirectErrorStream(false).start();
      byte[] out = p.getInputStream().readAllBytes();
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IllegalStateException("kubectl kustomize " + dir + " failed: " + err.strip());
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run kubectl for 'kubectl kustomize " + dir + "': " + e.getMessage()
          + "; install kubectl (v1.21+ carries kustomize) or " + INSTALL_HINT, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted rendering " + dir, e);
    }
  }

  private static String kubectl() {
    Path beside = binariesRoot().resolve("k8s").resolve(VERSION + "-linux-amd64").resolve("kubectl");
    return Files.isExecutable(beside) ? beside.toString() : "kubectl";
  }

  /** The checkout: the nearest directory above the working directory holding deploy/base. */
  public static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    for (Path d = p; d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("deploy/base/kustomization.yaml"))) {
        return d;
      }
    }
    throw new IllegalStateException("no deploy/base/kustomization.yaml above " + p + "; run the tests from the checkout");
  }

  public KubernetesClient track(KubernetesClient c) {
    synchronized (clients) {
      clients.add(c);
    }
    return c;
  }

  @Override
  public void close() {
    synchronized (this) {
      for (AutoCloseable h : helpers) {
        try {
          h.close();
        } catch (Exception e) {
          // Best effort: the server is going away anyway.
        }
      }
      helpers.clear();
      if (kubeconfigFile != null) {
        try {
          Files.deleteIfExists(kubeconfigFile);
        } catch (IOException e) {
          // A temp file left behind is harmless.
        }
      }
    }
    synchronized (clients) {
      clients.forEach(KubernetesClient::close);
      clients.clear();
    }
    server.stop();
  }
}
