package io.gpupassthrough.operator.kubevirt;

import com.fasterxml.jackson.core.type.TypeReference;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.operator.metrics.OperatorMetrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the operator's {@code pciHostDevices} entries into the KubeVirt CR ({@code kubevirt.io/v1}
 * {@code KubeVirt}, namespaced, usually {@code kubevirt/kubevirt}) through {@link KubeVirtMerge}.
 * The write is an update carrying the resourceVersion it read, so a concurrent edit by someone
 * else fails with a conflict and is retried on fresh data instead of being overwritten.
 */
public final class KubeVirtPermissions {
  public static final String API_VERSION = "kubevirt.io/v1";
  public static final String KIND = "KubeVirt";
  public static final String OWNED_ANNOTATION = GpuPassthrough.GROUP + "/owned-pci-host-devices";
  /** Without a watch on the KubeVirt CR, this is how soon someone else's edit gets re-checked. */
  static final Duration RECHECK = Duration.ofMinutes(5);
  private static final Logger LOG = LoggerFactory.getLogger(KubeVirtPermissions.class);
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  /** What the last pass found. */
  public enum Outcome { PERMITTED, NO_KUBEVIRT }

  private final KubernetesClient client;
  private final String namespace;
  private final Clock clock;
  private final OperatorMetrics metrics;
  private List<PermittedDevice> lastApplied;
  private Instant lastChecked = Instant.MIN;
  private Outcome lastOutcome;

  public KubeVirtPermissions(KubernetesClient client, String namespace, Clock clock, OperatorMetrics metrics) {
    this.client = client;
    this.namespace = namespace;
    this.clock = clock;
    this.metrics = metrics;
  }

  /** Not thread-safe: called under the cluster sync lock. */
  public Outcome apply(List<PermittedDevice> desired) {
    Instant now = clock.instant();
    if (desired.equals(lastApplied) && now.isBefore(lastChecked.plus(RECHECK))) {
      return lastOutcome;
    }
    Outcome outcome = write(desired);
    if (outcome != lastOutcome) {
      LOG.info("KubeVirt permittedHostDevices: {} ({} entries wanted, namespace {})", outcome, desired.size(), namespace);
    }
    lastApplied = List.copyOf(desired);
    lastChecked = now;
    lastOutcome = outcome;
    metrics.permittedDevices(desired.size());
    return outcome;
  }

  private Outcome write(List<PermittedDevice> desired) {
    List<GenericKubernetesResource> found;
    try {
      found = client.genericKubernetesResources(API_VERSION, KIND).inNamespace(namespace).list().getItems();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return Outcome.NO_KUBEVIRT;
      }
      throw e;
    }
    if (found.isEmpty()) {
      return Outcome.NO_KUBEVIRT;
    }
    if (found.size() > 1) {
      throw new IllegalStateException("found " + found.size() + " KubeVirt resources in namespace " + namespace
          + "; KubeVirt supports one, remove the extra ones");
    }
    GenericKubernetesResource kv = found.get(0);
    Set<String> owned = owned(kv);
    List<Map<String, Object>> current = currentEntries(kv);
    KubeVirtMerge.Result merged = KubeVirtMerge.merge(current, owned, desired);
    if (!merged.changed()) {
      return Outcome.PERMITTED;
    }
    setEntries(kv, merged.entries());
    Map<String, String> annotations = new HashMap<>(
        kv.getMetadata().getAnnotations() == null ? Map.of() : kv.getMetadata().getAnnotations());
    annotations.put(OWNED_ANNOTATION, Serialization.asJson(new ArrayList<>(merged.owned())));
    kv.getMetadata().setAnnotations(annotations);
    client.genericKubernetesResources(API_VERSION, KIND).inNamespace(namespace).resource(kv).update();
    metrics.kubevirtWritten();
    LOG.info("KubeVirt {}/{}: pciHostDevices now {} entries, {} owned by gpu-passthrough", namespace,
        kv.getMetadata().getName(), merged.entries().size(), merged.owned().size());
    return Outcome.PERMITTED;
  }

  static Set<String> owned(GenericKubernetesResource kv) {
    Map<String, String> a = kv.getMetadata().getAnnotations();
    if (a == null || a.get(OWNED_ANNOTATION) == null) {
      return Set.of();
    }
    try {
      return new TreeSet<>(JSON.readValue(a.get(OWNED_ANNOTATION),
          new TypeReference<List<String>>() {}));
    } catch (java.io.IOException | RuntimeException e) {
      throw new IllegalStateException("annotation " + OWNED_ANNOTATION + " on KubeVirt "
          + kv.getMetadata().getName() + " is not a JSON list of strings; fix or remove it", e);
    }
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> currentEntries(GenericKubernetesResource kv) {
    Object list = path(kv, false);
    if (list == null) {
      return List.of();
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object o : (List<Object>) list) {
      out.add((Map<String, Object>) o);
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static void setEntries(GenericKubernetesResource kv, List<Map<String, Object>> entries) {
    Map<String, Object> phd = (Map<String, Object>) path(kv, true);
    phd.put("pciHostDevices", entries);
  }

  /**
   * With {@code create=false}: the pciHostDevices list or null. With {@code create=true}: the
   * permittedHostDevices map, creating spec.configuration.permittedHostDevices as needed.
   */
  @SuppressWarnings("unchecked")
  private static Object path(GenericKubernetesResource kv, boolean create) {
    Map<String, Object> props = kv.getAdditionalProperties();
    Map<String, Object> cur = props;
    for (String step : List.of("spec", "configuration", "permittedHostDevices")) {
      Object next = cur.get(step);
      if (next == null) {
        if (!create) {
          return null;
        }
        next = new HashMap<String, Object>();
        cur.put(step, next);
      }
      cur = (Map<String, Object>) next;
    }
    return create ? cur : cur.get("pciHostDevices");
  }
}
