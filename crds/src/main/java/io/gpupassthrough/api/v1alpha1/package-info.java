/**
 * The {@code gpupassthrough.io/v1alpha1} API. Both kinds are cluster-scoped.
 *
 * <h2>{@link io.gpupassthrough.api.v1alpha1.GpuPassthrough}: what an admin asks for</h2>
 *
 * Written by admins; the operator writes only its {@code status} and its finalizer.
 *
 * <h2>{@link io.gpupassthrough.api.v1alpha1.GpuPassthroughNode}: the operator–agent contract</h2>
 *
 * One per node, named after the node, owner reference to the Node.
 *
 * <ol>
 *   <li><b>Spec (operator writes, agent reads).</b> {@code spec.claims} lists, oldest resource
 *       first, each {@code GpuPassthrough} that applies to the node with its device selector,
 *       resource name (null: the agent derives the default from pci.ids), console policy and
 *       companion policy. Overlaps between resources are already resolved by the operator.
 *       {@code spec.restore} lists, per deleted resource with {@code restoreOnDelete}, the GPUs to
 *       give back to their original drivers. Every spec change bumps {@code metadata.generation}.
 *   <li><b>Status (agent writes through the status subresource, operator reads).</b> After acting
 *       on a spec the agent writes {@code status.observedGeneration} = the generation it acted on;
 *       the operator ignores a report whose generation is older than the object's. Each GPU any
 *       claim matches appears once in {@code status.devices} with its {@code owner} (the claim
 *       that matched), the {@code resourceName} it is advertised under, and, when
 *       {@code advertised} is false, a {@link io.gpupassthrough.api.v1alpha1.Reason} and a
 *       message. {@code advertised} means registered with the kubelet
 *       ({@code kubelet: Registered}), not just served on a socket. The operator builds KubeVirt's permitted devices from these
 *       {@code vendor}/{@code device}/{@code resourceName} triples.
 *   <li><b>Restore.</b> For each {@code spec.restore} entry the agent stops advertising the
 *       devices, rebinds them (and their IOMMU-group companions) to {@code originalDriver}, and
 *       reports a {@link io.gpupassthrough.api.v1alpha1.RestoreResult} for the same owner
 *       ({@code Done} or {@code Failed} with a message) on the current generation. The request
 *       stays in the spec until the resource is gone; a restore already done must be reported
 *       again as {@code Done}, not repeated. The operator waits for every asked node, up to its
 *       restore timeout.
 *   <li><b>Writes.</b> The agent replaces its whole status (it owns it): a JSON Patch
 *       {@code add /status} or an update, not a merge patch, whose list handling differs between a
 *       real API server and the fabric8 mock server. Writes are debounced and skipped when nothing
 *       changed. A device already verified on vfio-pci is adopted as it is, never rebound.
 * </ol>
 */
package io.gpupassthrough.api.v1alpha1;
