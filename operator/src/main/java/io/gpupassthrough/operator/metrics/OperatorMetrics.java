package io.gpupassthrough.operator.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.atomic.AtomicInteger;

/** Every meter the operator exposes on {@code /metrics}, named once. */
public final class OperatorMetrics {
  private final MeterRegistry registry;
  private final Timer reconcile;
  private final Counter reconcileErrors;
  private final Counter statusWrites;
  private final Counter statusSkips;
  private final Counter statusDeferrals;
  private final Counter nodeStateWrites;
  private final Counter kubevirtWrites;
  private final AtomicInteger managedNodes = new AtomicInteger();
  private final AtomicInteger permittedDevices = new AtomicInteger();

  public OperatorMetrics(MeterRegistry registry) {
    this.registry = registry;
    reconcile = Timer.builder("gpupt_operator_reconcile").description("GpuPassthrough reconcile passes")
        .register(registry);
    reconcileErrors = Counter.builder("gpupt_operator_reconcile_errors").register(registry);
    statusWrites = Counter.builder("gpupt_operator_status_writes").description("GpuPassthrough status patches")
        .register(registry);
    statusSkips = Counter.builder("gpupt_operator_status_writes_skipped")
        .description("status computations that matched what was written, so no patch").register(registry);
    statusDeferrals = Counter.builder("gpupt_operator_status_writes_deferred")
        .description("status changes held back to rate-limit writes while only counts move").register(registry);
    nodeStateWrites = Counter.builder("gpupt_operator_node_state_writes")
        .description("GpuPassthroughNode creates, spec patches and deletes").register(registry);
    kubevirtWrites = Counter.builder("gpupt_operator_kubevirt_writes").register(registry);
    registry.gauge("gpupt_operator_managed_nodes", managedNodes);
    registry.gauge("gpupt_operator_kubevirt_permitted_devices", permittedDevices);
  }

  public MeterRegistry registry() {
    return registry;
  }

  public Timer reconcile() {
    return reconcile;
  }

  public void reconcileFailed() {
    reconcileErrors.increment();
  }

  public void statusWritten() {
    statusWrites.increment();
  }

  public void statusWriteSkipped() {
    statusSkips.increment();
  }

  public void statusWriteDeferred() {
    statusDeferrals.increment();
  }

  public double statusWrites() {
    return statusWrites.count();
  }

  public void nodeStateWritten() {
    nodeStateWrites.increment();
  }

  public double nodeStateWrites() {
    return nodeStateWrites.count();
  }

  public void kubevirtWritten() {
    kubevirtWrites.increment();
  }

  public void managedNodes(int n) {
    managedNodes.set(n);
  }

  public void permittedDevices(int n) {
    permittedDevices.set(n);
  }
}
