package io.gpupassthrough.operator.status;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes core/v1 Events. An Event must live in its involvedObject's namespace, and one about a
 * cluster-scoped object (every GpuPassthrough) must live in {@code default}: the API server refuses
 * anything else ("involvedObject.namespace: Invalid value: \"\": does not match event.namespace",
 * seen on v1.28). {@code kubectl describe gpt NAME} then finds them by involvedObject. The operator's
 * right to write there is the Role {@code default/gpupt-operator-events} in
 * deploy/base/operator/rbac.yaml. An Event that cannot be written is logged, never fatal.
 */
public final class EventRecorder {
  public static final String COMPONENT = "gpupt-operator";
  /** Where Events about cluster-scoped objects go (metav1.NamespaceDefault). */
  public static final String CLUSTER_SCOPED_NAMESPACE = "default";
  private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);

  private final KubernetesClient client;
  private final Clock clock;
  private final AtomicLong sequence = new AtomicLong();

  public EventRecorder(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  public void normal(HasMetadata about, String reason, String message) {
    emit(about, "Normal", reason, message);
  }

  public void warning(HasMetadata about, String reason, String message) {
    emit(about, "Warning", reason, message);
  }

  private void emit(HasMetadata about, String type, String reason, String message) {
    String now = DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(ChronoUnit.SECONDS));
    String name = about.getMetadata().getName() + "." + Long.toHexString(clock.millis()) + "."
        + Long.toHexString(sequence.incrementAndGet());
    String objectNamespace = about.getMetadata().getNamespace();
    String namespace = objectNamespace == null || objectNamespace.isEmpty() ? CLUSTER_SCOPED_NAMESPACE : objectNamespace;
    Event e = new EventBuilder()
        .withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
        .withNewInvolvedObject()
            .withApiVersion(about.getApiVersion()).withKind(about.getKind()).withNamespace(objectNamespace)
            .withName(about.getMetadata().getName()).withUid(about.getMetadata().getUid())
        .endInvolvedObject()
        .withType(type).withReason(reason).withMessage(message)
        .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
        .withNewSource().withComponent(COMPONENT).endSource()
        .withReportingComponent(COMPONENT)
        .build();
    try {
      client.v1().events().inNamespace(namespace).resource(e).create();
      LOG.info("{} {} {}: {} {}", about.getKind(), about.getMetadata().getName(), type, reason, message);
    } catch (KubernetesClientException ex) {
      LOG.warn("{} {}: could not record Event {} ({}): {}", about.getKind(), about.getMetadata().getName(),
          reason, message, ex.getMessage());
    }
  }
}
