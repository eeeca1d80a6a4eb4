package io.gpupassthrough.operator.agent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the agent DaemonSet as {@link AgentManifests} describes it (its ServiceAccount and RBAC ship
 * in {@code deploy/base/agent/rbac.yaml}). The DaemonSet carries a hash of what the operator asked
 * for; it is written only when that hash changes or when the live object lost it. Comparing whole objects
 * would never settle: the API server fills in defaults.
 */
public final class AgentRollout {
  public static final String HASH_ANNOTATION = GpuPassthrough.GROUP + "/desired-hash";
  private static final Logger LOG = LoggerFactory.getLogger(AgentRollout.class);

  private final KubernetesClient client;
  private final String namespace;
  private final String image;
  private final InformerEventSource<DaemonSet, GpuPassthrough> daemonSets;
  private final AgentPodOptions options;

  public AgentRollout(KubernetesClient client, String namespace, String image,
      InformerEventSource<DaemonSet, GpuPassthrough> daemonSets, AgentPodOptions options) {
    this.client = client;
    this.namespace = namespace;
    this.image = image;
    this.daemonSets = daemonSets;
    this.options = options;
    options.simulatedHost().ifPresent(dir -> LOG.warn("test mode: agent pods use the simulated host root {} on "
        + "each node (GPUPT_AGENT_SIMULATED_HOST) with {}, not the node's /sys, /dev and /proc", dir,
        SimulatedHostAgent.FLAG));
    options.envFrom().ifPresent(cm -> LOG.info("agent pods take environment variables from ConfigMap {}/{} "
        + "(GPUPT_AGENT_ENV_FROM)", namespace, cm));
  }

  /** Not thread-safe: called under the cluster sync lock. */
  public void apply(Optional<List<NodeSelectorTerm>> placement) {
    ResourceID dsId = new ResourceID(AgentManifests.NAME, namespace);
    Optional<DaemonSet> live = daemonSets.get(dsId);
    if (placement.isEmpty()) {
      if (live.isPresent()) {
        client.apps().daemonSets().inNamespace(namespace).withName(AgentManifests.NAME).delete();
        LOG.info("DaemonSet {}/{} deleted: no GpuPassthrough left", namespace, AgentManifests.NAME);
      }
      return;
    }
    DaemonSet desired = AgentManifests.daemonSet(namespace, image, placement.get());
    options.applyTo(desired);
    String hash = stamp(desired);
    String liveHash = live.map(d -> d.getMetadata().getAnnotations())
        .map(a -> a.get(HASH_ANNOTATION)).orElse(null);
    if (hash.equals(liveHash)) {
      return;
    }
    DaemonSet written = client.resource(desired).createOr(NonDeletingOperation::update);
    if (live.isPresent()) {
      daemonSets.handleRecentResourceUpdate(dsId, written, live.get());
    } else {
      daemonSets.handleRecentResourceCreate(dsId, written);
    }
    LOG.info("DaemonSet {}/{} applied ({} node-affinity terms)", namespace, AgentManifests.NAME,
        placement.get().size());
  }

  /** Adds the hash annotation and returns the hash. */
  static String stamp(HasMetadata o) {
    try {
      byte[] json = Serialization.asJson(o).getBytes(StandardCharsets.UTF_8);
      String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(json)).substring(0, 16);
      Map<String, String> annotations = new HashMap<>();
      if (o.getMetadata().getAnnotations() != null) {
        annotations.putAll(o.getMetadata().getAnnotations());
      }
      annotations.put(HASH_ANNOTATION, hash);
      o.getMetadata().setAnnotations(annotations);
      return hash;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
