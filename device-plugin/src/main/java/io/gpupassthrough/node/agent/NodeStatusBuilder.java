package io.gpupassthrough.node.agent;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.gpupassthrough.api.v1alpha1.ApiPatterns;
import io.gpupassthrough.api.v1alpha1.ConsoleConflictStatus;
import io.gpupassthrough.api.v1alpha1.DeviceHealth;
import io.gpupassthrough.api.v1alpha1.DeviceStatus;
import io.gpupassthrough.api.v1alpha1.GpuPassthroughNodeStatus;
import io.gpupassthrough.api.v1alpha1.HostHolder;
import io.gpupassthrough.api.v1alpha1.PodAllocation;
import io.gpupassthrough.api.v1alpha1.KubeletRegistration;
import io.gpupassthrough.api.v1alpha1.Reason;
import io.gpupassthrough.api.v1alpha1.RestoreResult;
import io.gpupassthrough.node.agent.ClaimMatch.InvalidClaim;
import io.gpupassthrough.node.agent.DeviceReport.ConflictReport;
import io.gpupassthrough.node.holders.DeviceHolders;
import io.gpupassthrough.node.holders.PodHolder;
import io.gpupassthrough.node.holders.ProcessHolder;
import io.gpupassthrough.node.host.PciAddress;
import io.gpupassthrough.node.host.PciDevice;
import io.gpupassthrough.node.plugin.KubeletConnection.Registration;
import io.gpupassthrough.node.plugin.ResourceName;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Pure: a pass result plus the devices' live health and the plugin servers' registration with the
 * kubelet in, the node's status out (DESIGN §3). A device is advertised only when verified,
 * healthy and registered: serving a socket that no kubelet dialled is reported as
 * {@code NotRegistered} with {@code kubelet: Serving}, so an admin can tell the two apart. Leaves
 * {@code lastSync}, the conditions' {@code lastTransitionTime} and keeping a device's
 * {@code registeredSince} to the recorder, which knows what was written before; everything else is a function of the inputs, so an unchanged host
 * builds an equal status and no write happens.
 */
public final class NodeStatusBuilder {
  public static final String READY = "Ready";
  public static final String DEGRADED = "Degraded";

  private NodeStatusBuilder() {}

  /**
   * @param problems live health of the advertised devices: address to the reason it is unhealthy;
   *     an address that is absent is healthy
   * @param kubelet each plugin server's registration, by resource name; a resource without a
   *     server is not served
   */
  public static GpuPassthroughNodeStatus build(PassResult pass, Map<String, String> problems,
      Map<ResourceName, Registration> kubelet) {
    return build(pass, problems, kubelet, Map.of());
  }

  /**
   * @param published the name each device is listed to the kubelet under now, by address: a device
   *     the pass did not verify may still be listed (Unhealthy) under it, e.g. while its restore
   *     waits for the pod that holds it, and its status then says so
   */
  public static GpuPassthroughNodeStatus build(PassResult pass, Map<String, String> problems,
      Map<ResourceName, Registration> kubelet, Map<String, ResourceName> published) {
    List<DeviceStatus> devices = pass.devices().stream()
        .sorted(Comparator.comparing(DeviceReport::address).thenComparing(DeviceReport::owner))
        .map(r -> device(r, Optional.ofNullable(problems.get(r.address().toString())),
            r.resourceName().or(() -> listed(r, published)).map(kubelet::get),
            listed(r, published)))
        .toList();
    long total = pass.devices().stream().map(DeviceReport::address).distinct().count();
    long ready = devices.stream().filter(DeviceStatus::getAdvertised).map(DeviceStatus::getAddress)
        .distinct().count();

    List<String> blocked = new ArrayList<>();
    Reason firstReason = null;
    if (pass.hostProblem().isPresent()) {
      blocked.add("host unreadable: " + pass.hostProblem().get());
      firstReason = Reason.HOST_READ_ERROR;
    }
    for (InvalidClaim c : pass.invalid()) {
      blocked.add(c.message());
      firstReason = firstReason == null ? Reason.INVALID_SPEC : firstReason;
    }
    for (DeviceStatus d : devices) {
      if (!d.getAdvertised()) {
        blocked.add(d.getAddress() + " (" + d.getOwner() + "): " + d.getReason() + ": " + d.getMessage());
        firstReason = firstReason == null ? d.getReason() : firstReason;
      }
    }
    String summary = ready + "/" + total + " devices advertised";

    GpuPassthroughNodeStatus s = new GpuPassthroughNodeStatus();
    s.setObservedGeneration(pass.generation());
    s.setKubelet(summary(devices));
    s.setDevices(new ArrayList<>(devices));
    s.setRestores(new ArrayList<>(pass.restores().stream().map(NodeStatusBuilder::restore).toList()));
    s.setDevicesTotal((int) total);
    s.setDevicesReady((int) ready);
    s.setMessage(blocked.isEmpty() ? summary : summary + "; " + blocked.get(0));
    s.setHolders(holders(pass));
    boolean allReady = blocked.isEmpty();
    s.setConditions(new ArrayList<>(List.of(
        condition(READY, allReady, pass.generation(),
            allReady ? (total == 0 ? "NothingClaimed" : "AllDevicesAdvertised") : firstReason.code(),
            allReady ? summary : summary + "; " + blocked.get(0)),
        condition(DEGRADED, !allReady, pass.generation(),
            allReady ? "NoProblems" : firstReason.code(),
            allReady ? "no device is blocked" : blocked.size() + " problem(s): "
                + blocked.stream().collect(Collectors.joining("; "))))));
    return s;
  }

  /**
   * The name a device waiting for its holder (or a blocked write) is still listed under, Unhealthy,
   * if it is: the agent keeps such a device published under its old name while its restore waits.
   */
  private static Optional<ResourceName> listed(DeviceReport r, Map<String, ResourceName> published) {
    return r.verified() || !r.waiting() ? Optional.empty() : Optional.ofNullable(published.get(r.address().toString()));
  }

  static DeviceStatus device(DeviceReport r, Optional<String> problem, Optional<Registration> plugin) {
    return device(r, problem, plugin, Optional.empty());
  }

  private static DeviceStatus device(DeviceReport r, Optional<String> problem, Optional<Registration> plugin,
      Optional<ResourceName> stillListed) {
    DeviceStatus d = new DeviceStatus();
    d.setAddress(r.address().toString());
    r.device().ifPresent(dev -> describe(d, dev));
    d.setIommuGroupMembers(new ArrayList<>(r.groupMembers().stream().map(PciAddress::toString).toList()));
    d.setOriginalDriver(r.originalDriver().orElse(null));
    d.setOwner(r.owner());
    d.setResourceName(r.resourceName().map(Object::toString).orElse(null));
    d.setConsoleConflicts(new ArrayList<>(r.conflicts().stream().map(NodeStatusBuilder::conflict).toList()));
    d.setAllocatedTo(r.holders().pods().isEmpty() ? null : new ArrayList<>(r.holders().pods().stream()
        .limit(ApiPatterns.MAX_HOLDERS).map(NodeStatusBuilder::allocation).toList()));
    d.setHostHolders(r.holders().processes().isEmpty() ? null : new ArrayList<>(r.holders().byProcess().stream()
        .limit(ApiPatterns.MAX_HOLDERS).map(NodeStatusBuilder::hostHolder).toList()));
    if (!r.verified()) {
      d.setHealth(DeviceHealth.UNKNOWN);
      d.setAdvertised(false);
      d.setReason(r.reason().orElseThrow());
      d.setMessage(r.message());
      stillListed.ifPresent(name -> {
        // Still listed to the kubelet, Unhealthy (in capacity, not allocatable): its plugin's
        // registration is what it is, not NotServing.
        KubeletRegistration kubelet = kubeletOf(plugin);
        d.setResourceName(name.toString());
        d.setHealth(DeviceHealth.UNHEALTHY);
        d.setKubelet(kubelet);
        d.setRegisteredSince(kubelet == KubeletRegistration.REGISTERED
            ? plugin.flatMap(Registration::registeredAt).map(Object::toString).orElse(null) : null);
      });
    } else {
      verified(d, r, problem, plugin);
    }
    return d;
  }

  /** A verified device: advertised when healthy and its plugin is registered with the kubelet. */
  private static void verified(DeviceStatus d, DeviceReport r, Optional<String> problem,
      Optional<Registration> plugin) {
    KubeletRegistration kubelet = kubeletOf(plugin);
    boolean registered = kubelet == KubeletRegistration.REGISTERED;
    d.setKubelet(kubelet);
    d.setRegisteredSince(registered
        ? plugin.flatMap(Registration::registeredAt).map(Object::toString).orElse(null) : null);
    if (problem.isPresent()) {
      d.setHealth(DeviceHealth.UNHEALTHY);
      d.setAdvertised(false);
      d.setReason(Reason.UNHEALTHY);
      d.setMessage(problem.get());
    } else {
      d.setHealth(DeviceHealth.HEALTHY);
      d.setAdvertised(registered);
      d.setReason(registered ? null : Reason.NOT_REGISTERED);
      d.setMessage(registered ? r.message() : notRegistered(r, kubelet, plugin));
    }
  }

  /** A plugin whose socket is gone (the kubelet deletes them when it starts) serves nobody. */
  private static KubeletRegistration kubeletOf(Optional<Registration> plugin) {
    if (plugin.isEmpty() || !plugin.get().serving()) {
      return KubeletRegistration.NOT_SERVING;
    }
    return switch (plugin.get().state()) {
      case REGISTERED -> KubeletRegistration.REGISTERED;
      case REJECTED -> KubeletRegistration.REFUSED;
      case WAITING_FOR_KUBELET -> KubeletRegistration.SERVING;
    };
  }

  private static String notRegistered(DeviceReport r, KubeletRegistration kubelet, Optional<Registration> plugin) {
    String resource = r.resourceName().map(Object::toString).orElse("its resource");
    return switch (kubelet) {
      case NOT_SERVING -> "verified on vfio-pci, but no device plugin serves " + resource + " yet"
          + plugin.map(p -> " (" + p.socket().getFileName() + ": " + p.detail() + ")").orElse("");
      case SERVING -> "verified on vfio-pci and served on " + plugin.get().socket().getFileName()
          + ", but not registered with the kubelet: " + plugin.get().detail()
          + "; check that the kubelet runs on this node and that the agent's --device-plugin-dir is"
          + " the kubelet's device-plugin directory";
      case REFUSED -> "verified on vfio-pci, but the kubelet refused to register " + resource + ": "
          + plugin.get().detail();
      case REGISTERED -> throw new IllegalArgumentException("registered devices are advertised");
    };
  }

  /** The worst state among the devices a plugin serves; {@code NotServing} when none is served. */
  private static KubeletRegistration summary(List<DeviceStatus> devices) {
    List<KubeletRegistration> served = devices.stream().map(DeviceStatus::getKubelet)
        .filter(k -> k != KubeletRegistration.NOT_SERVING).toList();
    for (KubeletRegistration worst : List.of(KubeletRegistration.REFUSED, KubeletRegistration.SERVING)) {
      if (served.contains(worst)) {
        return worst;
      }
    }
    return served.isEmpty() ? KubeletRegistration.NOT_SERVING : KubeletRegistration.REGISTERED;
  }

  private static void describe(DeviceStatus d, PciDevice dev) {
    d.setVendor(dev.vendorHex());
    d.setDevice(dev.deviceHex());
    d.setVendorName(dev.vendorName().orElse(null));
    d.setDeviceName(dev.deviceName().orElse(null));
    d.setPciClass(dev.classHex());
    d.setIommuGroup(dev.iommuGroup().isPresent() ? dev.iommuGroup().getAsInt() : null);
    d.setNumaNode(dev.numaNode() < 0 ? null : dev.numaNode());
    d.setDriver(dev.driver().orElse(null));
  }

  private static ConsoleConflictStatus conflict(ConflictReport r) {
    ConsoleConflictStatus c = new ConsoleConflictStatus();
    c.setKind(switch (r.conflict().kind()) {
      case FRAMEBUFFER -> ConsoleConflictStatus.Kind.FRAMEBUFFER;
      case VTCONSOLE -> ConsoleConflictStatus.Kind.VTCONSOLE;
      case VGACON -> ConsoleConflictStatus.Kind.VGACON;
    });
    c.setName(r.conflict().name());
    c.setDriver(r.conflict().driver().orElse(null));
    c.setStart(r.conflict().hexStart());
    c.setEnd(r.conflict().hexEnd());
    c.setAction(r.action());
    return c;
  }

  /**
   * One line for {@code kubectl get gptnode -o wide}: each held device and who has it, pods
   * (kubelet allocations) before processes, at most {@link ApiPatterns#MAX_SUMMARY_LENGTH}.
   */
  static String holders(PassResult pass) {
    List<String> parts = new ArrayList<>();
    pass.devices().stream()
        .sorted(Comparator.comparing(DeviceReport::address))
        .map(DeviceReport::holders)
        .filter(DeviceHolders::held)
        .distinct()
        .forEach(h -> parts.add(h.device() + ": " + heldBy(h)));
    pass.holdersUnknown().ifPresent(u -> parts.add("holders may be incomplete: " + u));
    if (parts.isEmpty()) {
      return null;
    }
    return cut(String.join("; ", parts), ApiPatterns.MAX_SUMMARY_LENGTH);
  }

  /** {@code pod default/vm1}, else {@code pid 77 python3}: the shortest answer to "who has it". */
  private static String heldBy(DeviceHolders h) {
    List<String> who = new ArrayList<>();
    h.pods().stream().map(p -> "pod " + p.namespace() + "/" + p.pod()).distinct().forEach(who::add);
    if (who.isEmpty()) {
      h.processes().stream().map(p -> "pid " + p.pid() + " " + p.comm()
          + p.containerId().map(c -> " (container " + c.substring(0, Math.min(12, c.length())) + ")").orElse(""))
          .distinct().forEach(who::add);
    }
    return String.join(", ", who);
  }

  private static PodAllocation allocation(PodHolder p) {
    PodAllocation a = new PodAllocation();
    a.setNamespace(p.namespace());
    a.setPod(p.pod());
    a.setContainer(p.container());
    a.setResourceName(p.resourceName());
    return a;
  }

  private static HostHolder hostHolder(ProcessHolder p) {
    HostHolder h = new HostHolder();
    h.setPid(p.pid());
    h.setCommand(cut(p.command(), ApiPatterns.MAX_HOLDER_TEXT_LENGTH));
    h.setContainerId(p.containerId().orElse(null));
    h.setFile(cut(p.file(), ApiPatterns.MAX_HOLDER_TEXT_LENGTH));
    return h;
  }

  private static String cut(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }

  private static RestoreResult restore(RestoreReport r) {
    RestoreResult out = new RestoreResult();
    out.setOwner(r.owner());
    out.setState(r.done() ? RestoreResult.State.DONE
        : r.isWaiting() ? RestoreResult.State.WAITING : RestoreResult.State.FAILED);
    out.setRestored(new ArrayList<>(r.restored()));
    out.setMessage(r.message());
    return out;
  }

  private static Condition condition(String type, boolean status, long generation, String reason,
      String message) {
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status ? "True" : "False")
        .withObservedGeneration(generation)
        .withReason(reason)
        .withMessage(message)
        .build();
  }
}
