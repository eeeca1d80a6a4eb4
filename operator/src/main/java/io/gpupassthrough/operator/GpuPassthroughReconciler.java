package io.gpupassthrough.operator;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.gpupassthrough.api.v1alpha1.DeviceClaim;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthrough;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughStatus;
import io.gpupassthrough.api.v1alpha1.RestoreRequest;
import io.gpupassthrough.operator.agent.AgentManifests;
import io.gpupassthrough.operator.agent.AgentRollout;
import io.gpupassthrough.operator.kubevirt.KubeVirtPermissions;
import io.gpupassthrough.operator.kubevirt.KubeVirtWatch;
import io.gpupassthrough.operator.metrics.OperatorMetrics;
import io.gpupassthrough.operator.nodes.NodeStateWriter;
import io.gpupassthrough.operator.plan.ClusterView;
import io.gpupassthrough.operator.status.EventRecorder;
import io.gpupassthrough.operator.status.KubeVirtStanding;
import io.gpupassthrough.operator.status.NodeReports;
import io.gpupassthrough.operator.status.StatusAggregator;
import io.gpupassthrough.operator.status.StatusRecorder;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.rate.RateLimited;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconciles {@code GpuPassthrough}: syncs the shared objects every resource contributes to (agent
 * DaemonSet, {@code GpuPassthroughNode} per node, KubeVirt entries), then records this resource's
 * status. Node-state changes reach the resources named in them; Node, DaemonSet and KubeVirt
 * changes (its CRD and CR, see {@link KubeVirtWatch}) reach every resource. As a {@link Cleaner} it
 * holds a finalizer for the restore flow.
 */
@ControllerConfiguration(
    name = "gpupassthrough",
    maxReconciliationInterval = @MaxReconciliationInterval(interval = 10, timeUnit = TimeUnit.MINUTES))
// A pass looks at every node; when 1,000 agents report within seconds, events for one resource
// are coalesced into at most this many passes instead of one pass per report.
@RateLimited(maxReconciliations = 5, within = 1, unit = TimeUnit.SECONDS)
public class GpuPassthroughReconciler implements Reconciler<GpuPassthrough>, Cleaner<GpuPassthrough>, AutoCloseable {
  /** How often a deletion re-checks restore progress when no node event arrives. */
  static final Duration RESTORE_POLL = Duration.ofSeconds(5);
  private static final Logger LOG = LoggerFactory.getLogger(GpuPassthroughReconciler.class);

  private final KubernetesClient client;
  private final OperatorConfig config;
  private final Clock clock;
  private final OperatorMetrics metrics;
  private final EventRecorder events;
  private final StatusRecorder statusRecorder;
  private InformerEventSource<GpuPassthroughNode, GpuPassthrough> nodeStates;
  private InformerEventSource<Node, GpuPassthrough> nodes;
  private KubeVirtWatch kubevirt;
  private ClusterSync cluster;

  public GpuPassthroughReconciler(KubernetesClient client, OperatorConfig config, Clock clock, OperatorMetrics metrics) {
    this.client = client;
    this.config = config;
    this.clock = clock;
    this.metrics = metrics;
    this.events = new EventRecorder(client, clock);
    this.statusRecorder = new StatusRecorder(client, events, metrics, clock);
  }

  @Override
  public List<EventSource<?, GpuPassthrough>> prepareEventSources(EventSourceContext<GpuPassthrough> context) {
    IndexerResourceCache<GpuPassthrough> primaries = context.getPrimaryCache();
    nodeStates = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(GpuPassthroughNode.class, GpuPassthrough.class)
            .withName("node-states")
            .withSecondaryToPrimaryMapper(GpuPassthroughReconciler::owners)
            .build(),
        context);
    nodes = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Node.class, GpuPassthrough.class)
            .withName("nodes")
            .withSecondaryToPrimaryMapper(n -> all(primaries))
            // Only label changes and add/delete move a node in or out of a selector; heartbeats do not.
            .withOnUpdateFilter((newNode, oldNode) ->
                !java.util.Objects.equals(newNode.getMetadata().getLabels(), oldNode.getMetadata().getLabels()))
            .build(),
        context);
    InformerEventSource<DaemonSet, GpuPassthrough> daemonSets = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(DaemonSet.class, GpuPassthrough.class)
            .withName("agent-daemonset")
            .withNamespaces(Set.of(config.namespace()))
            .withLabelSelector(AgentManifests.MANAGED_BY + "=" + AgentManifests.MANAGER)
            .withSecondaryToPrimaryMapper(d -> all(primaries))
            .build(),
        context);
    kubevirt = new KubeVirtWatch(config.kubevirtNamespace());
    var kubevirtCrd = kubevirt.crdSource(context);
    cluster = new ClusterSync(
        new AgentRollout(client, config.namespace(), config.agentImage(), daemonSets, config.agentPodOptions()),
        new NodeStateWriter(client, nodeStates, metrics),
        new KubeVirtPermissions(client, kubevirt, metrics));
    return List.of(nodeStates, nodes, daemonSets, kubevirtCrd);
  }

  @Override
  public UpdateControl<GpuPassthrough> reconcile(GpuPassthrough resource, Context<GpuPassthrough> context) {
    return metrics.reconcile().record(() -> {
      ClusterSync.Result r = sync(context, Set.of());
      String name = resource.getMetadata().getName();
      GpuPassthroughStatus status = StatusAggregator.aggregate(
          resource.getMetadata().getGeneration(),
          statusRecorder.previous(resource),
          Optional.ofNullable(r.plan().invalid().get(name)),
          NodeReports.forResource(name, r.plan(), r.nodeStates()),
          r.plan().conflicts(name),
          KubeVirtStanding.of(permitsKubeVirt(resource), r.kubevirt()),
          clock.instant());
      UpdateControl<GpuPassthrough> done = UpdateControl.noUpdate();
      statusRecorder.record(resource, status).ifPresent(wait -> done.rescheduleAfter(Math.max(1, wait.toMillis())));
      return done;
    });
  }

  /** Unexpected failures: counted, shown as {@code Ready=False/ReconcileError}, retried with backoff. */
  @Override
  public ErrorStatusUpdateControl<GpuPassthrough> updateErrorStatus(
      GpuPassthrough resource, Context<GpuPassthrough> context, Exception e) {
    metrics.reconcileFailed();
    String error = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    LOG.warn("GpuPassthrough {}: reconcile failed: {}", resource.getMetadata().getName(), error);
    try {
      statusRecorder.record(resource, StatusAggregator.failed(resource.getMetadata().getGeneration(),
          statusRecorder.previous(resource), error, clock.instant()));
    } catch (RuntimeException writeFailure) {
      LOG.warn("GpuPassthrough {}: could not record the failure in status: {}", resource.getMetadata().getName(),
          writeFailure.getMessage());
    }
    return ErrorStatusUpdateControl.noStatusUpdate();
  }

  /**
   * With {@code restoreOnDelete}: keep the finalizer until every node asked to give devices back
   * has answered on its current spec, or until {@code restoreTimeout} has passed since deletion
   * (a dead node cannot answer; its devices then stay on vfio-pci and a Warning Event says so).
   */
  @Override
  public DeleteControl cleanup(GpuPassthrough resource, Context<GpuPassthrough> context) {
    String name = resource.getMetadata().getName();
    boolean restore = Boolean.TRUE.equals(resource.getSpec() == null ? null : resource.getSpec().getRestoreOnDelete());
    if (!restore) {
      return finish(resource, context);
    }
    ClusterSync.Result r = sync(context, Set.of());
    List<String> pending = NodeReports.restorePending(name, r.plan(), r.nodeStates());
    List<String> failed = NodeReports.restoreFailures(name, r.plan(), r.nodeStates());
    if (pending.isEmpty()) {
      if (!failed.isEmpty()) {
        events.warning(resource, "RestoreFailed", "some devices could not be given back: " + String.join("; ", failed));
      }
      int asked = (int) r.plan().nodeSpecs().values().stream()
          .filter(s -> s.getRestore().stream().map(RestoreRequest::getOwner).anyMatch(name::equals)).count();
      events.normal(resource, "Restored", "devices given back on " + (asked - failed.size()) + " of " + asked + " nodes");
      return finish(resource, context);
    }
    Instant deleted = Instant.parse(resource.getMetadata().getDeletionTimestamp());
    Duration waited = Duration.between(deleted, clock.instant());
    if (waited.compareTo(config.restoreTimeout()) >= 0) {
      List<String> waiting = NodeReports.restoreWaiting(name, r.plan(), r.nodeStates());
      events.warning(resource, "RestoreTimedOut", pending.size() + " nodes did not report within "
          + config.restoreTimeout() + ": " + String.join(", ", pending)
          + (waiting.isEmpty() ? "" : " (still held: " + String.join("; ", waiting) + ")")
          + "; their devices stay on vfio-pci; run 'gpupt-node restore' on them by hand");
      return finish(resource, context);
    }
    statusRecorder.record(resource, StatusAggregator.restoring(
        resource.getMetadata().getGeneration(), statusRecorder.previous(resource), pending,
        NodeReports.restoreWaiting(name, r.plan(), r.nodeStates()), clock.instant()));
    Duration left = config.restoreTimeout().minus(waited);
    return DeleteControl.noFinalizerRemoval()
        .rescheduleAfter(Math.max(1, Math.min(RESTORE_POLL.toMillis(), left.toMillis())));
  }

  private DeleteControl finish(GpuPassthrough resource, Context<GpuPassthrough> context) {
    sync(context, Set.of(resource.getMetadata().getName()));
    statusRecorder.forget(resource);
    return DeleteControl.defaultDelete();
  }

  private ClusterSync.Result sync(Context<GpuPassthrough> context, Set<String> finished) {
    return cluster.sync(() -> observe(context), () -> kubevirt.follow(context.eventSourceRetriever()), finished);
  }

  /** {@code spec.kubevirt.permit}, true unless the admin set it false (the schema defaults it). */
  static boolean permitsKubeVirt(GpuPassthrough g) {
    return g.getSpec() == null || g.getSpec().getKubevirt() == null
        || !Boolean.FALSE.equals(g.getSpec().getKubevirt().getPermit());
  }

  private ClusterView observe(Context<GpuPassthrough> context) {
    Map<String, GpuPassthroughNode> states = new HashMap<>();
    nodeStates.list().forEach(s -> states.put(s.getMetadata().getName(), s));
    return new ClusterView(context.getPrimaryCache().list().toList(), nodes.list().toList(), states);
  }

  /** Stops the write pool; call after the operator has stopped. */
  @Override
  public void close() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Every resource the node state mentions: claims, restore requests and reported owners. */
  static Set<ResourceID> owners(GpuPassthroughNode s) {
    Set<String> names = new HashSet<>();
    if (s.getSpec() != null) {
      s.getSpec().getClaims().stream().map(DeviceClaim::getOwner).forEach(names::add);
      s.getSpec().getRestore().stream().map(RestoreRequest::getOwner).forEach(names::add);
    }
    if (s.getStatus() != null && s.getStatus().getDevices() != null) {
      s.getStatus().getDevices().stream().map(DeviceStatus::getOwner).filter(java.util.Objects::nonNull)
          .forEach(names::add);
    }
    return names.stream().map(ResourceID::new).collect(Collectors.toSet());
  }

  private static Set<ResourceID> all(IndexerResourceCache<GpuPassthrough> primaries) {
    return primaries.list().map(ResourceID::fromResource).collect(Collectors.toSet());
  }
}
