package io.gpupassthrough.operator.status;

import io.gpupassthrough.operator.kubevirt.KubeVirtPermissions;

/**
 * One resource's standing in KubeVirt, for its {@code KubeVirtPermitted} condition.
 *
 * @param requested {@code spec.kubevirt.permit} (default true)
 * @param state what the last pass found in the cluster
 * @param where the KubeVirt CR written, the namespace looked in, or the missing CRD's name
 */
public record KubeVirtStanding(boolean requested, KubeVirtPermissions.State state, String where) {
  public static KubeVirtStanding of(boolean requested, KubeVirtPermissions.Outcome outcome) {
    return new KubeVirtStanding(requested, outcome.state(), outcome.where());
  }
}
