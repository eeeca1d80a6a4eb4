package io.gpupassthrough.operator.kubevirt;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.operator.metrics.OperatorMetrics;
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
 * It reads the CR from {@link KubeVirtWatch}'s informer, so a pass that changes nothing costs no
 * request, and someone else's edit is seen (and our entries put back) within a pass. The write is
 * an update carrying the resourceVersion it read, so a concurrent edit by someone else fails with a
 * conflict and is retried on fresh data instead of being overwritten.
 */
public final class KubeVirtPermissions {
  public static final String OWNED_ANNOTATION = GpuPassthrough.GROUP + "/owned-pci-host-devices";
  private static final Logger LOG = LoggerFactory.getLogger(KubeVirtPermissions.class);
  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  /** What a pass found. */
  public enum State {
    /** The entries wanted are in the CR. */
    PERMITTED,
    /** KubeVirt's CRD is not there (or not established): KubeVirt is not installed. */
    NOT_INSTALLED,
    /** The CRD is there but no KubeVirt CR in the configured namespace. */
    NO_RESOURCE
  }

  /** @param where the CR written ({@code namespace/name}), else the namespace looked in */
  public record Outcome(State state, String where) {}

  private final KubernetesClient client;
  private final KubeVirtWatch watch;
  private final OperatorMetrics metrics;
  private Outcome last;

  public KubeVirtPermissions(KubernetesClient client, KubeVirtWatch watch, OperatorMetrics metrics) {
    this.client = client;
    this.watch = watch;
    this.metrics = metrics;
  }

  /** Not thread-safe: called under the cluster sync lock. */
  public Outcome apply(List<PermittedDevice> desired, KubeVirtView view) {
    Outcome outcome = write(desired, view);
    if (!outcome.equals(last)) {
      LOG.info("KubeVirt permittedHostDevices: {} ({}, {} entries wanted)", outcome.state(), outcome.where(),
          desired.size());
    }
    last = outcome;
    metrics.permittedDevices(desired.size());
    return outcome;
  }

  private Outcome write(List<PermittedDevice> desired, KubeVirtView view) {
    if (!view.installed()) {
      return new Outcome(State.NOT_INSTALLED, KubeVirtWatch.CRD_NAME);
    }
    if (view.resources().isEmpty()) {
      return new Outcome(State.NO_RESOURCE, watch.namespace());
    }
    if (view.resources().size() > 1) {
      throw new IllegalStateException("found " + view.resources().size() + " KubeVirt resources in namespace "
          + watch.namespace() + "; KubeVirt supports one, remove the extra ones");
    }
    GenericKubernetesResource cached = view.resources().get(0);
    String where = cached.getMetadata().getNamespace() + "/" + cached.getMetadata().getName();
    Set<String> owned = owned(cached);
    KubeVirtMerge.Result merged = KubeVirtMerge.merge(currentEntries(cached), owned, desired);
    if (!merged.changed()) {
      return new Outcome(State.PERMITTED, where);
    }
    // The informer's object is shared with its cache: change a copy.
    GenericKubernetesResource kv = JSON.clone(cached);
    setEntries(kv, merged.entries());
    Map<String, String> annotations = new HashMap<>(
        kv.getMetadata().getAnnotations() == null ? Map.of() : kv.getMetadata().getAnnotations());
    annotations.put(OWNED_ANNOTATION, JSON.asJson(new ArrayList<>(merged.owned())));
    kv.getMetadata().setAnnotations(annotations);
    GenericKubernetesResource written = client.genericKubernetesResources(KubeVirtWatch.KIND.apiVersion(),
        KubeVirtWatch.KIND.getKind()).inNamespace(kv.getMetadata().getNamespace()).resource(kv).update();
    watch.wrote(written, cached);
    metrics.kubevirtWritten();
    LOG.info("KubeVirt {}: pciHostDevices now {} entries, {} owned by gpu-passthrough", where,
        merged.entries().size(), merged.owned().size());
    return new Outcome(State.PERMITTED, where);
  }

  static Set<String> owned(GenericKubernetesResource kv) {
    Map<String, String> a = kv.getMetadata().getAnnotations();
    if (a == null || a.get(OWNED_ANNOTATION) == null) {
      return Set.of();
    }
    Object parsed;
    try {
      parsed = JSON.unmarshal(a.get(OWNED_ANNOTATION), Object.class);
    } catch (RuntimeException e) {
      parsed = e;
    }
    if (!(parsed instanceof List<?> list) || !list.stream().allMatch(String.class::isInstance)) {
      throw new IllegalStateException("annotation " + OWNED_ANNOTATION + " on KubeVirt "
          + kv.getMetadata().getName() + " is not a JSON list of strings; fix or remove it");
    }
    Set<String> out = new TreeSet<>();
    list.forEach(o -> out.add((String) o));
    return out;
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
    Map<String, Object> cur = kv.getAdditionalProperties();
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
