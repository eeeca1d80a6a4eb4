package io.gpupassthrough.operator;

import io.gpupassthrough.operator.agent.AgentPodOptions;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;

/**
 * Every knob of the operator, with its environment variable and default, in one place. The
 * Deployment in {@code deploy/base} sets these; anything unset takes the default below.
 *
 * @param namespace where the agent DaemonSet, its ServiceAccount and the leader lease live (Events
 *     about GpuPassthrough, a cluster-scoped kind, live in {@code default})
 * @param agentImage node-agent image the DaemonSet runs
 * @param kubevirtNamespace where the KubeVirt CR lives (KubeVirt installs one, usually
 *     {@code kubevirt/kubevirt})
 * @param restoreTimeout how long a deletion waits for nodes to report their restore; after it the
 *     finalizer is removed anyway (a dead node must not block deletion forever) with a Warning Event
 * @param probePort port of {@code /healthz}, {@code /readyz} and {@code /metrics}
 * @param leaderElection take a Lease before reconciling (off only for tests and single-replica dev)
 * @param agentSimulatedHost test mode only ({@code GPUPT_AGENT_SIMULATED_HOST}, deploy/overlays/simulated-host):
 *     an absolute directory on the nodes holding a simulated host root, which the agent pods use instead of the
 *     node's /sys, /dev and /proc, with {@code serve --simulated-kernel} (agent.SimulatedHostAgent)
 * @param agentEnvFrom {@code GPUPT_AGENT_ENV_FROM}: a ConfigMap in {@code namespace} whose keys become environment
 *     variables of the agent container, for API client settings a cluster does not give pods by itself (the test
 *     control plane's CA in deploy/overlays/simulated-host)
 */
public record OperatorConfig(
    String namespace,
    String agentImage,
    String kubevirtNamespace,
    Duration restoreTimeout,
    int probePort,
    boolean leaderElection,
    Optional<String> agentSimulatedHost,
    Optional<String> agentEnvFrom) {

  public static final String LEASE_NAME = "gpupt-operator";
  /** The agent image of this build (the project version); the Deployment in deploy/base sets the same one. */
  public static final String DEFAULT_AGENT_IMAGE = ImageNames.AGENT;

  /** A production configuration: the agent on the nodes' own host. */
  public OperatorConfig(String namespace, String agentImage, String kubevirtNamespace, Duration restoreTimeout,
      int probePort, boolean leaderElection) {
    this(namespace, agentImage, kubevirtNamespace, restoreTimeout, probePort, leaderElection, Optional.empty(),
        Optional.empty());
  }

  public static OperatorConfig defaults() {
    return fromEnv(Map.of());
  }

  /** Reads {@code GPUPT_*} variables; a malformed value fails startup with the variable named. */
  public static OperatorConfig fromEnv(Map<String, String> env) {
    return new OperatorConfig(
        env.getOrDefault("GPUPT_NAMESPACE", env.getOrDefault("POD_NAMESPACE", "gpu-passthrough")),
        env.getOrDefault("GPUPT_AGENT_IMAGE", DEFAULT_AGENT_IMAGE),
        env.getOrDefault("GPUPT_KUBEVIRT_NAMESPACE", "kubevirt"),
        duration(env, "GPUPT_RESTORE_TIMEOUT", "PT5M"),
        port(env, "GPUPT_PROBE_PORT", "8081"),
        bool(env, "GPUPT_LEADER_ELECTION", "true"),
        absolutePath(env, "GPUPT_AGENT_SIMULATED_HOST"),
        Optional.ofNullable(env.get("GPUPT_AGENT_ENV_FROM")).filter(v -> !v.isEmpty()));
  }

  public AgentPodOptions agentPodOptions() {
    return new AgentPodOptions(agentSimulatedHost, agentEnvFrom);
  }

  public OperatorConfig withRestoreTimeout(Duration timeout) {
    return new OperatorConfig(namespace, agentImage, kubevirtNamespace, timeout, probePort, leaderElection,
        agentSimulatedHost, agentEnvFrom);
  }

  private static Optional<String> absolutePath(Map<String, String> env, String key) {
    String v = env.get(key);
    if (v == null || v.isEmpty()) {
      return Optional.empty();
    }
    if (!v.startsWith("/")) {
      throw new IllegalArgumentException(key + "='" + v + "' is not an absolute path on the nodes");
    }
    return Optional.of(v);
  }

  private static Duration duration(Map<String, String> env, String key, String def) {
    String v = env.getOrDefault(key, def);
    try {
      return Duration.parse(v);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(key + "='" + v + "' is not an ISO-8601 duration; expected e.g. PT5M", e);
    }
  }

  private static int port(Map<String, String> env, String key, String def) {
    String v = env.getOrDefault(key, def);
    try {
      int p = Integer.parseInt(v);
      if (p < 0 || p > 65535) {
        throw new NumberFormatException("out of range");
      }
      return p;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + "='" + v + "' is not a TCP port (0-65535)", e);
    }
  }

  private static boolean bool(Map<String, String> env, String key, String def) {
    String v = env.getOrDefault(key, def);
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException(key + "='" + v + "' must be true or false");
    }
    return Boolean.parseBoolean(v);
  }
}
