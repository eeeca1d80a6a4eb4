package io.gpupassthrough.node.agent;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNode;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the agent's own {@code GpuPassthroughNode} (an informer on that one name: a field
 * selector on {@code metadata.name}, so the agent never lists other nodes' objects) and hands on
 * each new spec generation. Status-only updates (our own writes) keep the generation and are
 * ignored; the informer's relist after a dropped watch delivers the same generation and is
 * ignored too.
 */
final class NodeClaimWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeClaimWatcher.class);

  private final KubernetesClient client;
  private final String nodeName;
  private final Consumer<GpuPassthroughNode> onSpec;
  private SharedIndexInformer<GpuPassthroughNode> informer;
  private Long lastGeneration;

  NodeClaimWatcher(KubernetesClient client, String nodeName, Consumer<GpuPassthroughNode> onSpec) {
    this.client = client;
    this.nodeName = nodeName;
    this.onSpec = onSpec;
  }

  NodeClaimWatcher start() {
    informer = client.resources(GpuPassthroughNode.class).withName(nodeName).inform(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(GpuPassthroughNode node) {
            changed(node);
          }

          @Override
          public void onUpdate(GpuPassthroughNode before, GpuPassthroughNode node) {
            changed(node);
          }

          @Override
          public void onDelete(GpuPassthroughNode node, boolean finalStateUnknown) {
            // No restore here: deletion without a restore request means "stop managing", and
            // devices on vfio-pci may be in use by VMs. Keep advertising what is verified.
            log.info("node {}: GpuPassthroughNode deleted; keeping the current devices as they are",
                nodeName);
            synchronized (NodeClaimWatcher.this) {
              lastGeneration = null;
            }
          }
        }, 0);
    return this;
  }

  /** The names of the objects the informer holds: only this node's, thanks to the field selector. */
  java.util.List<String> cachedNames() {
    return informer == null ? java.util.List.of()
        : informer.getStore().list().stream().map(n -> n.getMetadata().getName()).toList();
  }

  private void changed(GpuPassthroughNode node) {
    Long generation = node.getMetadata().getGeneration();
    synchronized (this) {
      if (generation != null && generation.equals(lastGeneration)) {
        return;
      }
      lastGeneration = generation;
    }
    log.info("node {}: spec generation {}", nodeName, generation);
    onSpec.accept(node);
  }

  @Override
  public void close() {
    if (informer != null) {
      informer.close();
    }
  }
}
