package io.gpupassthrough.operator.kubevirt;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.util.List;

/**
 * KubeVirt as the operator's watches see it.
 *
 * @param installed KubeVirt's CRD ({@value KubeVirtWatch#CRD_NAME}) is established and serves v1
 * @param resources the KubeVirt CRs in the operator's KubeVirt namespace (KubeVirt supports one)
 */
public record KubeVirtView(boolean installed, List<GenericKubernetesResource> resources) {
  public static final KubeVirtView NOT_INSTALLED = new KubeVirtView(false, List.of());

  public KubeVirtView {
    resources = List.copyOf(resources);
  }
}
