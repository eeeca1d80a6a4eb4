package io.gpupassthrough.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One per node that any {@link GpuPassthrough} selects, named after the node and owned by the Node
 * object (so it goes when the node goes). Cluster-scoped (not {@code Namespaced}). The operator
 * writes {@code spec}; the node's agent watches it (field selector on {@code metadata.name}) and
 * writes {@code status}.
 */
@Group(GpuPassthrough.GROUP)
@Version(GpuPassthrough.VERSION)
@ShortNames("gptnode")
@AdditionalPrinterColumn(name = "Ready", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.devicesReady")
@AdditionalPrinterColumn(name = "Total", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.devicesTotal")
@AdditionalPrinterColumn(name = "Kubelet", type = AdditionalPrinterColumn.Type.STRING, jsonPath = ".status.kubelet")
@AdditionalPrinterColumn(name = "Last-Sync", type = AdditionalPrinterColumn.Type.DATE, jsonPath = ".status.lastSync")
@AdditionalPrinterColumn(name = "Message", type = AdditionalPrinterColumn.Type.STRING, jsonPath = ".status.message")
public class GpuPassthroughNode extends CustomResource<GpuPassthroughNodeSpec, GpuPassthroughNodeStatus> {
  @Override
  protected GpuPassthroughNodeSpec initSpec() {
    return new GpuPassthroughNodeSpec();
  }
}
