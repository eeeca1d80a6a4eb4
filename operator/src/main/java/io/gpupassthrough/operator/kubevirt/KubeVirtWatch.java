package io.gpupassthrough.operator.kubevirt;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.javaoperatorsdk.operator.api.config.informer.FieldSelector;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.GroupVersionKind;
import io.javaoperatorsdk.operator.processing.event.EventSourceRetriever;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows KubeVirt without polling, so that installing it (or its CR) later, or someone editing the
 * CR, reaches every GpuPassthrough within a pass. Two informers, each mapping any event to every
 * resource:
 *
 * <ul>
 *   <li>KubeVirt's CRD, by name ({@code metadata.name} field selector; the RBAC rule names only this
 *       CRD). Registered at start: listing a CRD that does not exist is an empty list.
 *   <li>The KubeVirt CRs in the operator's KubeVirt namespace, registered with JOSDK at run time
 *       once the CRD is established, and dropped when it goes: an informer on a kind the server does
 *       not serve fails ("Could not find the metadata for the given apiVersion and kind", seen on
 *       v1.28) and would make {@code /healthz} fail.
 * </ul>
 */
public final class KubeVirtWatch {
  public static final String CRD_NAME = "kubevirts.kubevirt.io";
  public static final GroupVersionKind KIND = new GroupVersionKind("kubevirt.io", "v1", "KubeVirt");
  static final String CRD_SOURCE = "kubevirt-crd";
  static final String CR_SOURCE = "kubevirt-cr";
  private static final Logger LOG = LoggerFactory.getLogger(KubeVirtWatch.class);

  private final String namespace;
  private InformerEventSource<CustomResourceDefinition, GpuPassthrough> crd;
  private volatile InformerEventSource<GenericKubernetesResource, GpuPassthrough> crs;
  private IndexerResourceCache<GpuPassthrough> primaries;

  public KubeVirtWatch(String namespace) {
    this.namespace = namespace;
  }

  public String namespace() {
    return namespace;
  }

  /** The CRD informer, for the reconciler's start-up event sources. */
  public InformerEventSource<CustomResourceDefinition, GpuPassthrough> crdSource(
      EventSourceContext<GpuPassthrough> context) {
    primaries = context.getPrimaryCache();
    crd = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(CustomResourceDefinition.class, GpuPassthrough.class)
            .withName(CRD_SOURCE)
            .withFieldSelector(new FieldSelector(new FieldSelector.Field("metadata.name", CRD_NAME)))
            .withSecondaryToPrimaryMapper(this::everyResource)
            .build(),
        context);
    return crd;
  }

  /**
   * Starts or stops the CR informer to match the CRD and returns what KubeVirt looks like now. Runs
   * at the start of a pass, under the cluster sync lock.
   */
  public KubeVirtView follow(EventSourceRetriever<GpuPassthrough> retriever) {
    boolean installed = crd.get(new ResourceID(CRD_NAME)).filter(KubeVirtWatch::servesV1).isPresent();
    if (installed && crs == null) {
      InformerEventSource<GenericKubernetesResource, GpuPassthrough> source = new InformerEventSource<>(
          InformerEventSourceConfiguration.from(KIND, GpuPassthrough.class)
              .withName(CR_SOURCE)
              .withNamespaces(Set.of(namespace))
              .withSecondaryToPrimaryMapper(this::everyResource)
              .build(),
          retriever.eventSourceContextForDynamicRegistration());
      // Starts the informer and returns once its cache holds the initial list.
      retriever.dynamicallyRegisterEventSource(source);
      crs = source;
      LOG.info("KubeVirt CRD {} is established: watching KubeVirt resources in namespace {}", CRD_NAME, namespace);
    } else if (!installed && crs != null) {
      retriever.dynamicallyDeRegisterEventSource(CR_SOURCE);
      crs = null;
      LOG.info("KubeVirt CRD {} is gone: stopped watching KubeVirt resources", CRD_NAME);
    }
    return installed ? new KubeVirtView(true, crs.list().toList()) : KubeVirtView.NOT_INSTALLED;
  }

  /** Our own update, into the informer's cache at once, so the next pass merges from it and not from a stale copy. */
  void wrote(GenericKubernetesResource written, GenericKubernetesResource before) {
    InformerEventSource<GenericKubernetesResource, GpuPassthrough> source = crs;
    if (source != null) {
      source.handleRecentResourceUpdate(ResourceID.fromResource(written), written, before);
    }
  }

  /** KubeVirt is shared by every GpuPassthrough: any change concerns them all. */
  private Set<ResourceID> everyResource(HasMetadata changed) {
    return primaries.list().map(ResourceID::fromResource).collect(Collectors.toSet());
  }

  static boolean servesV1(CustomResourceDefinition crd) {
    boolean established = crd.getStatus() != null && crd.getStatus().getConditions() != null
        && crd.getStatus().getConditions().stream()
            .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
    boolean v1 = crd.getSpec().getVersions().stream()
        .anyMatch(v -> KIND.getVersion().equals(v.getName()) && Boolean.TRUE.equals(v.getServed()));
    return established && v1;
  }
}
