package io.gpupassthrough.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * Cluster-scoped (deliberately not {@code Namespaced}): GPUs belong to nodes, not namespaces. An
 * admin creates one per GPU model or set of addresses; the operator turns it into per-node
 * {@link GpuPassthroughNode} claims and summarises what the nodes report in its status.
 */
@Group(GpuPassthrough.GROUP)
@Version(GpuPassthrough.VERSION)
@ShortNames("gpt")
@AdditionalPrinterColumn(name = "Ready", type = AdditionalPrinterColumn.Type.STRING,
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Reason", type = AdditionalPrinterColumn.Type.STRING,
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason")
@AdditionalPrinterColumn(name = "Nodes", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.nodesMatched")
@AdditionalPrinterColumn(name = "Nodes-Ready", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.nodesReady")
@AdditionalPrinterColumn(name = "Advertised", type = AdditionalPrinterColumn.Type.INTEGER,
    jsonPath = ".status.devicesAdvertised")
@AdditionalPrinterColumn(name = "Blocked", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.devicesBlocked")
@AdditionalPrinterColumn(name = "KubeVirt", type = AdditionalPrinterColumn.Type.STRING,
    jsonPath = ".status.conditions[?(@.type==\"KubeVirtPermitted\")].reason")
@AdditionalPrinterColumn(name = "Age", type = AdditionalPrinterColumn.Type.DATE, jsonPath = ".metadata.creationTimestamp")
public class GpuPassthrough extends CustomResource<GpuPassthroughSpec, GpuPassthroughStatus> {
  public static final String GROUP = "gpupassthrough.io";
  public static final String VERSION = "v1alpha1";
}
