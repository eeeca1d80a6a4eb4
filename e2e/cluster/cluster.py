#!/usr/bin/env python3
"""Cluster end-to-end test: a real control plane and kubelet (../shared/k8s up.sh, node.sh), the
install of the README, the operator and the node agent as processes under their ServiceAccounts, a
GpuPassthrough from deploy/samples, a pod that gets the GPUs, who holds them (the real kubelet's
PodResources, a QEMU in the simulated host's /proc), a deletion that waits for the pod, and the
restore once it is gone. Every fact is what a user would check (kubectl columns, Events, node
allocatable, the container's env and devices, the KubeVirt CR, the host's sysfs) and is printed as ✓/✗.

    e2e/cluster/run.sh            # takes the node lock, then runs this
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE.parent / "lib"))
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import manifests  # noqa: E402
import nodeside  # noqa: E402
from common import (AGENT, GPT, K8S_RUN, NAMESPACE, NODE, OPERATOR, PAUSE_IMAGE, POD, RESOURCE, SAMPLE,  # noqa: E402
                    SHARED_K8S, Abort, resource_env)
from kube import Kubectl, mib, shown, wait_for  # noqa: E402
from procs import Supervised  # noqa: E402
from report import Report  # noqa: E402
from simhost import FBCON, FIXTURE, SimHost  # noqa: E402

WORK = Path(os.environ.get("E2E_WORK", REPO / "e2e" / "work")) / "cluster"
OPERATOR_JAR = REPO / "operator/target/gpupt-operator.jar"
AGENT_JAR = REPO / "device-plugin/target/gpupt-node.jar"
AGENT_JVM_OPTIONS = REPO / "deploy/images/node-agent/jvm.options"  # the image's ENTRYPOINT argfile
SELECTOR = "10DE:2236"
STATE_DIR = Path("/var/lib/gpupassthrough")  # the agent's hostPath (DESIGN §2)
# The fixture's devices (simhost.FIXTURE): one to prepare, one already on vfio-pci to adopt.
PREPARED, PREPARED_AUDIO, PREPARED_GROUP = "0000:01:00.0", "0000:01:00.1", 1
ADOPTED, ADOPTED_AUDIO, ADOPTED_GROUP = "0000:02:00.0", "0000:02:00.1", 3
FRAMEBUFFER, FB_DRIVER, FB_VT = "efi-framebuffer.0", "efi-framebuffer", "vtcon1"
POD_RESOURCES = "/var/lib/kubelet/pod-resources"  # the kubelet's PodResources socket directory
HOLDERS_INTERVAL_S = 2
QEMU_PID = 4242  # a fake QEMU in the simulated host's proc


class Cleanup:
    """Undo actions, last registered first; each runs even when an earlier one fails."""

    def __init__(self, stack: ExitStack):
        self.stack = stack

    def callback(self, fn) -> None:
        def guarded():
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report and go on cleaning
                print(f"cluster e2e: cleanup step {getattr(fn, '__name__', fn)} failed: {e}", file=sys.stderr)
        self.stack.callback(guarded)


class ClusterE2e:
    def __init__(self, report: Report, cleanup: Cleanup, java: str):
        self.r = report
        self.cleanup = cleanup
        self.java = java
        self.k = Kubectl(K8S_RUN / "admin.kubeconfig", REPO)
        self.t0 = time.monotonic()
        self.host: SimHost | None = None
        self.operator: Supervised | None = None
        self.agent: Supervised | None = None
        self.standins = nodeside.DeviceNodeStandIns()
        self.ds_memory_limit_mib: float | None = None
        self.kubevirt_added = False

    # ---- helpers ----

    def section(self, title: str) -> None:
        self.r.section(f"[{time.monotonic() - self.t0:5.0f} s] {title}")

    def gpt_row(self) -> dict[str, str]:
        rows = self.k.table("gpt", GPT)
        return rows[0] if rows else {}

    def node_status(self) -> dict:
        o = self.k.get("gptnode", NODE) or {}
        return o.get("status") or {}

    def device(self, address: str) -> dict:
        return next((d for d in self.node_status().get("devices") or [] if d.get("address") == address), {})

    def node_resource(self) -> tuple[str | None, str | None]:
        s = (self.k.get("node", NODE) or {}).get("status", {})
        return s.get("capacity", {}).get(RESOURCE), s.get("allocatable", {}).get(RESOURCE)

    def kubevirt_devices(self) -> list[dict]:
        kv = self.k.get("kubevirt", "kubevirt", "-n", manifests.KUBEVIRT_NAMESPACE) or {}
        return (((kv.get("spec") or {}).get("configuration") or {}).get("permittedHostDevices") or {}) \
            .get("pciHostDevices") or []

    def lease(self) -> dict:
        return (self.k.get("lease", OPERATOR, "-n", NAMESPACE) or {}).get("spec") or {}

    # ---- the story ----

    def cluster(self) -> None:
        self.section(f"control plane and node: {SHARED_K8S}/up.sh, node.sh {NODE}")
        self.cleanup.callback(self.stop_cluster)
        common.script("up.sh", logs=WORK)
        common.script("node.sh", NODE, logs=WORK)
        ok, labels = wait_for(self._labels, lambda l: l.get("gpupassthrough.io/enabled") == "true", 30)
        self.r.check(ok, f"node {NODE} registered with label gpupassthrough.io/enabled=true", labels)
        if not ok:
            raise Abort("no node")
        ready = next((c for c in (self.k.get("node", NODE) or {}).get("status", {}).get("conditions", [])
                      if c["type"] == "Ready"), {})
        self.r.note(f"node Ready={ready.get('status')} ({ready.get('message', '')[:90]}): node.sh sets up no "
                    "CNI, so only hostNetwork pods start")

    def _labels(self) -> dict[str, str]:
        labels = ((self.k.get("node", NODE) or {}).get("metadata") or {}).get("labels") or {}
        return {k: v for k, v in labels.items() if "gpupassthrough" in k}

    def install(self) -> None:
        self.section("install (README): kubectl apply -k deploy/base")
        res = self.k.run("apply", "-k", "deploy/base", timeout=120)
        self.r.check(res.rc == 0, "kubectl apply -k deploy/base exits 0", res.text.splitlines()[-1:] or res.text)
        if res.rc != 0:
            raise Abort(res.text)
        res = self.k.run("wait", "--for=condition=Established", "--timeout=60s",
                         "crd/gpupassthroughs.gpupassthrough.io", "crd/gpupassthroughnodes.gpupassthrough.io")
        self.r.check(res.rc == 0, "both CRDs are Established", res.text)
        pods = self.k.table("pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={OPERATOR}")
        self.r.note(f"the Deployment's pod ({shown(pods)}) does not run here: its image is not built, and it "
                    "does not tolerate the NotReady node; the jar runs in its place with the Deployment's env")

    def start_operator(self) -> None:
        self.section(f"operator: {OPERATOR_JAR.relative_to(REPO)} as ServiceAccount {NAMESPACE}/{OPERATOR}")
        deploy = self.k.get("deployment", OPERATOR, "-n", NAMESPACE)
        if deploy is None:
            raise Abort(f"no Deployment {NAMESPACE}/{OPERATOR}")
        container = deploy["spec"]["template"]["spec"]["containers"][0]
        env = manifests.container_env(container, {"metadata.namespace": NAMESPACE,
                                                  "metadata.name": f"{OPERATOR}-e2e", "spec.nodeName": NODE})
        port = int(env.get("GPUPT_PROBE_PORT", "8081"))
        self._port_free(port, "the operator's probe port (GPUPT_PROBE_PORT)")
        self.r.note("env from the Deployment: " + " ".join(f"{k}={v}" for k, v in env.items()))
        # The operator image's JVM flags, minus MaxRAMPercentage (no container memory limit here).
        cmd = [self.java, "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError", "-jar", str(OPERATOR_JAR)]
        self.operator = self._supervise("operator", cmd, env, K8S_RUN / "operator.kubeconfig")
        ok, seen = wait_for(lambda: self._http(port, "/readyz"), lambda r: r.startswith("200"), 90)
        self.r.check(ok, f"GET :{port}/readyz answers 200", seen)
        ok, lease = wait_for(self.lease, lambda l: bool(l.get("holderIdentity")), 60)
        self.r.check(ok, f"holds the Lease {NAMESPACE}/{OPERATOR}",
                     {k: lease.get(k) for k in ("holderIdentity", "leaseDurationSeconds", "renewTime")})
        if not ok:
            raise Abort("the operator did not start:\n" + self.operator.log_tail())

    def apply_sample(self) -> None:
        self.section(f"kubectl apply -f {SAMPLE} (KubeVirt not installed yet)")
        res = self.k.run("apply", "-f", SAMPLE)
        self.r.check(res.rc == 0, f"kubectl apply -f {SAMPLE} exits 0", res.text)
        ok, ds = wait_for(lambda: self.k.get("ds", AGENT, "-n", NAMESPACE), present, 60)
        self.r.check(ok, f"the operator created the DaemonSet {NAMESPACE}/{AGENT}",
                     ds and ds["spec"]["template"]["spec"]["containers"][0].get("image"))
        if not ok:
            raise Abort("no agent DaemonSet:\n" + self.operator.log_tail())
        self.ds = ds
        pod = ds["spec"]["template"]["spec"]
        c = pod["containers"][0]
        self.r.check(pod.get("serviceAccountName") == AGENT and c.get("args", [])[:1] == ["serve"],
                     f"its pods run 'serve' as ServiceAccount {AGENT}",
                     f"{pod.get('serviceAccountName')}: {' '.join(c.get('args', []))}")
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        host_paths = {v["hostPath"]["path"]: mounts.get(v["name"]) for v in pod.get("volumes", []) if "hostPath" in v}
        host_root = manifests.flag_value(c.get("args", []), "--host-root")
        self.r.check(host_paths.get(str(STATE_DIR)) == f"{host_root}{STATE_DIR}",
                     f"it mounts the host's {STATE_DIR} at {host_root}{STATE_DIR}, where the agent keeps the "
                     "record of original drivers (so it outlives the pod)", host_paths)
        self.r.check(pod.get("priorityClassName") == "system-node-critical",
                     "its pods have priorityClassName system-node-critical",
                     f"priorityClassName: {pod.get('priorityClassName')}")
        limit = (c.get("resources") or {}).get("limits", {}).get("memory")
        self.ds_memory_limit_mib = mib(limit)
        self.r.note(f"agent container resources: {c.get('resources')}")
        ok, node = wait_for(lambda: self.k.get("gptnode", NODE), lambda o: o is not None and any(
            cl.get("owner") == GPT for cl in (o.get("spec") or {}).get("claims") or []), 60)
        self.r.check(ok, f"GpuPassthroughNode {NODE} carries the claim of {GPT}",
                     node and (node.get("spec") or {}).get("claims"))

    def start_agent(self) -> None:
        self.section(f"node agent: {AGENT_JAR.relative_to(REPO)} serve --simulated-kernel as {NAMESPACE}/{AGENT}")
        self.host = SimHost.copy_fixture(REPO, WORK / "host")
        c = self.ds["spec"]["template"]["spec"]["containers"][0]
        env = manifests.container_env(c, {"spec.nodeName": NODE, "metadata.namespace": NAMESPACE,
                                          "metadata.name": f"{AGENT}-e2e"})
        args = [manifests.expand(a, env) for a in c["args"]]
        # The DaemonSet mounts the host under /host; here the host is the simulated one.
        args = manifests.replace_flag(args, "--host-root", str(self.host.root)) + ["--simulated-kernel"]
        # Status follows the holders every 2 s (default 30), so the holder facts below are seen quickly.
        args += ["--holders-interval", str(HOLDERS_INTERVAL_S)]
        self.mount_pod_resources(c, host_root=manifests.flag_value(c["args"], "--host-root"))
        self.r.note(f"host root: a copy of device-plugin/src/test/hosts/{FIXTURE}: "
                    f"{PREPARED} on nouveau with efifb+fbcon on its BAR and HDMI audio {PREPARED_AUDIO} in its "
                    f"group; {ADOPTED} (+{ADOPTED_AUDIO}) already on vfio-pci")
        self.r.note("agent args from the DaemonSet: " + " ".join(args))
        self._port_free(9464, "the agent's metrics port (serve --metrics-port default)")
        # MALLOC_ARENA_MAX as the agent image sets it (the Jib environment in device-plugin/pom.xml).
        env = {**env, "MALLOC_ARENA_MAX": "2"}
        cmd = [self.java, f"@{AGENT_JVM_OPTIONS}", "-jar", str(AGENT_JAR), *args]
        self.agent = self._supervise("agent", cmd, env, K8S_RUN / "agent.kubeconfig")

    def mount_pod_resources(self, container: dict, host_root: str) -> None:
        """The kubelet's PodResources directory where the DaemonSet's volume puts it for the agent
        (hostPath /var/lib/kubelet/pod-resources at <host-root>/var/lib/kubelet/pod-resources, read-only):
        bind-mounted read-only into the simulated host root, so the agent dials the real kubelet's
        socket at the path it looks at by default."""
        pod = self.ds["spec"]["template"]["spec"]
        mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
        vol = next((v for v in pod.get("volumes", []) if (v.get("hostPath") or {}).get("path") == POD_RESOURCES), None)
        mount = mounts.get(vol["name"]) if vol else None
        where = mount and mount.get("mountPath")
        self.r.check(where == f"{host_root}{POD_RESOURCES}" and mount.get("readOnly") is True,
                     f"the DaemonSet mounts the kubelet's {POD_RESOURCES} read-only at {host_root}{POD_RESOURCES}, "
                     "where the agent looks for kubelet.sock", mount)
        if not where or not where.startswith(host_root + "/"):
            raise Abort(f"no {POD_RESOURCES} mount under {host_root} in the DaemonSet")
        target = self.host.root / where[len(host_root) + 1:]
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", POD_RESOURCES, str(target)], check=True, timeout=30)
        self.cleanup.callback(lambda: unmount(target))
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True, timeout=30)
        sock = target / "kubelet.sock"
        self.r.check(sock.is_socket(), f"the real kubelet's PodResources socket is at <host root>{POD_RESOURCES}"
                     "/kubelet.sock (bind mount, read-only)", f"{sock}: socket={sock.is_socket()}")

    def agent_did_its_work(self) -> None:
        """What the node reports, what the host shows, what the kubelet and the operator made of it."""
        ok, row = wait_for(lambda: self.k.table("gptnode", NODE),
                           lambda rows: bool(rows) and cols(rows[0], READY="2", TOTAL="2", KUBELET="Registered"), 90)
        self.r.check(ok, "kubectl get gptnode: READY 2, TOTAL 2, KUBELET Registered", shown(row))
        if not ok:
            self.r.note("agent log:\n" + self.agent.log_tail(25))
        d = self.device(PREPARED)
        self.r.check(d.get("advertised") is True and d.get("driver") == "vfio-pci"
                     and d.get("originalDriver") == "nouveau" and d.get("health") == "Healthy",
                     f"{PREPARED} prepared: on vfio-pci, advertised, Healthy, originalDriver nouveau",
                     pick(d, "driver", "originalDriver", "advertised", "health", "reason", "message"))
        conflicts = {(x.get("name"), x.get("action")) for x in d.get("consoleConflicts") or []}
        self.r.check({(FRAMEBUFFER, "Detached"), (FB_VT, "Detached")} <= conflicts,
                     f"its console conflicts {FRAMEBUFFER} (efifb) and {FB_VT} (fbcon) were Detached",
                     sorted(conflicts))
        self.r.check(PREPARED_AUDIO in (d.get("iommuGroupMembers") or []) and d.get("iommuGroup") == PREPARED_GROUP,
                     f"its IOMMU group {PREPARED_GROUP} lists the HDMI audio {PREPARED_AUDIO}",
                     pick(d, "iommuGroup", "iommuGroupMembers"))
        a = self.device(ADOPTED)
        self.r.check(a.get("advertised") is True and a.get("driver") == "vfio-pci" and not a.get("originalDriver"),
                     f"{ADOPTED} adopted as found: on vfio-pci, advertised, no original driver",
                     pick(a, "driver", "originalDriver", "advertised", "message"))
        names = {x.get("resourceName") for x in (d, a)}
        self.r.check(names == {RESOURCE}, f"both report resourceName {RESOURCE}", names)
        for dev in (d, a):
            self.r.check(dev.get("kubelet") == "Registered",
                         f"{dev.get('address')}: status kubelet Registered (the kubelet took the plugin, not "
                         "only a socket served)", pick(dev, "kubelet", "registeredSince"))

        self.host_prepared()
        ok, seen = wait_for(self.node_resource, lambda r: r == ("2", "2"), 45)
        self.r.check(ok, f"node {NODE}: capacity and allocatable {RESOURCE} = 2", f"(capacity, allocatable) {seen}")

        ok, row = wait_for(self.gpt_row, lambda g: cols(g, NODES="1", **{"NODES-READY": "1"}, ADVERTISED="2",
                                                         BLOCKED="0"), 60)
        self.r.check(ok, "kubectl get gpt without KubeVirt: NODES 1, NODES-READY 1, ADVERTISED 2, BLOCKED 0",
                     shown([row] if isinstance(row, dict) else row))
        conds = ((self.k.get("gpt", GPT) or {}).get("status") or {}).get("conditions") or []
        says = [c for c in conds if "kubevirt" in f"{c.get('reason')} {c.get('message')}".lower()]
        self.r.check(bool(says) and isinstance(row, dict) and row.get("REASON") != "ReconcileError",
                     "a condition says KubeVirt is not installed (and what to do), not a ReconcileError",
                     [pick(c, "type", "status", "reason", "message") for c in conds])

    def host_prepared(self) -> None:
        h = self.host
        drivers = {a: h.pci_driver(a) for a in (PREPARED, PREPARED_AUDIO)}
        self.r.check(set(drivers.values()) == {"vfio-pci"},
                     f"host: {PREPARED} and {PREPARED_AUDIO} bound to vfio-pci", drivers)
        vt = h.vtconsole(FB_VT)
        self.r.check(h.platform_driver(FRAMEBUFFER) is None and (vt is None or not vt[1]),
                     f"host: {FRAMEBUFFER} unbound from efifb, fbcon no longer on {FB_VT}",
                     f"{FRAMEBUFFER} driver={h.platform_driver(FRAMEBUFFER)}, {FB_VT}={h.vtconsole(FB_VT)}")
        self.r.check(h.vfio_group_node(PREPARED_GROUP), f"host: /dev/vfio/{PREPARED_GROUP} exists")
        rec = h.record() or {}
        originals = {k: v.get("driver") for k, v in (rec.get("devices") or {}).items()}
        self.r.check(originals == {PREPARED: "nouveau", PREPARED_AUDIO: "snd_hda_intel"}
                     and FRAMEBUFFER in (rec.get("framebuffers") or {}) and FB_VT in (rec.get("vtConsoles") or {}),
                     "host: the original drivers, framebuffer and console are recorded (and nothing for the "
                     f"adopted {ADOPTED})", rec and pick(rec, "devices", "framebuffers", "vtConsoles"))

    def kubevirt_appears(self) -> None:
        self.section("KubeVirt appears: CRD kubevirts.kubevirt.io, CR kubevirt/kubevirt with an admin's own entry")
        restarts = self.operator.restarts
        self.k.run("apply", "-f", "-", stdin=manifests.KUBEVIRT_CRD, check=True)
        self.k.run("wait", "--for=condition=Established", "--timeout=60s", "crd/kubevirts.kubevirt.io", check=True)
        self.k.run("apply", "-f", "-", stdin=manifests.KUBEVIRT_CR, check=True)
        t = time.monotonic()
        ok, entries = wait_for(self.kubevirt_devices, lambda e: any(x.get("resourceName") == RESOURCE for x in e), 60)
        ours = next((x for x in entries if x.get("resourceName") == RESOURCE), {})
        self.kubevirt_added = ok
        self.r.check(ok and ours == {"pciVendorSelector": SELECTOR, "resourceName": RESOURCE,
                                     "externalResourceProvider": True},
                     f"the operator added {{pciVendorSelector: {SELECTOR}, resourceName: {RESOURCE}, "
                     "externalResourceProvider: true}", f"after {time.monotonic() - t:.0f} s: {entries}")
        self.r.check(ok and self.operator.restarts == restarts, "it noticed KubeVirt without a restart",
                     f"entry added: {ok}; operator restarts meanwhile: {self.operator.restarts - restarts}")
        self.r.check(manifests.ADMIN_ENTRY in entries, "the admin's own entry is kept as it was", entries)
        ok, row = wait_for(self.gpt_row, lambda g: cols(g, READY="True", NODES="1", **{"NODES-READY": "1"},
                                                         ADVERTISED="2", BLOCKED="0"), 60)
        self.r.check(ok, "kubectl get gpt: READY True, NODES 1, NODES-READY 1, ADVERTISED 2, BLOCKED 0",
                     shown([row] if isinstance(row, dict) else row))
        out = self.k.run("describe", "gpt", GPT).out
        events = out.split("\nEvents:", 1)[1].strip() if "\nEvents:" in out else "(no Events section)"
        self.r.check(not events.startswith("<none>") and "Normal" in events,
                     f"kubectl describe gpt {GPT} lists its Events", events.replace("\n", " | ")[:400])

    def admission(self) -> None:
        self.section("admission: a GpuPassthrough with resourceName kubernetes.io/gpu (kubectl apply --dry-run=server)")
        res = self.k.run("apply", "--dry-run=server", "-f", "-", stdin=manifests.INVALID_RESOURCE_NAME)
        self.r.check(res.rc != 0 and "resourceName" in res.text,
                     "the API server refuses it, naming spec.resourceName", res.text)

    def pod(self) -> None:
        self.section(f"a hostNetwork pod requesting {RESOURCE}: 2 (what virt-launcher asks for)")
        groups = sorted({d.get("iommuGroup") for d in self.node_status().get("devices") or [] if d.get("advertised")})
        self.cleanup.callback(self.standins.remove)
        made = [p for p in ["/dev/vfio/vfio", *[f"/dev/vfio/{g}" for g in groups]] if self.standins.ensure(p)]
        self.r.note(f"mknod stand-ins on the node (removed at the end): {made or 'none needed'}")
        self.cleanup.callback(self.delete_pod)
        self.k.run("apply", "-f", "-", stdin=manifests.vm_pod(POD, RESOURCE, 2, PAUSE_IMAGE), check=True)
        ok, phase = wait_for(lambda: ((self.k.get("pod", POD) or {}).get("status") or {}).get("phase"),
                             lambda p: p == "Running", 90)
        self.r.check(ok, f"pod {POD} Running", phase if ok else self._pod_problem())
        info = nodeside.app_container(nodeside.containers(POD, "default"), "vm")
        env = nodeside.env_of(info) if info else {}
        value = env.get(resource_env(RESOURCE), "")
        self.r.check(sorted(value.split(",")) == [PREPARED, ADOPTED],
                     f"ctr containers info: env {resource_env(RESOURCE)} = {PREPARED},{ADOPTED}",
                     {k: v for k, v in env.items() if k.startswith("PCI_RESOURCE")} or "no container")
        devices = nodeside.devices_of(info) if info else []
        want = ["/dev/vfio/vfio", f"/dev/vfio/{PREPARED_GROUP}", f"/dev/vfio/{ADOPTED_GROUP}"]
        self.r.check(set(want) <= set(devices), f"ctr containers info: linux.devices {', '.join(want)}", devices)
        ds_pods = self.k.table("pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={AGENT}")
        running = nodeside.containers_in_namespace(NAMESPACE)
        self.r.check(not running, f"no container of the {NAMESPACE} pods runs on the node: the process agent is "
                                  "the only agent", f"containers {running}; pods: {shown(ds_pods)}")

    def holders(self) -> None:
        self.section(f"holders: the real kubelet's PodResources, kubectl get gptnode -o wide, a QEMU in the host's proc")
        want = [{"namespace": "default", "pod": POD, "container": "vm", "resourceName": RESOURCE}]
        for address in (PREPARED, ADOPTED):
            ok, alloc = wait_for(lambda: self.device(address).get("allocatedTo"), lambda a: a == want, 30)
            self.r.check(ok, f"{address}: status allocatedTo default/{POD}/vm (from the kubelet's PodResources List)",
                         alloc)
        ok, rows = wait_for(lambda: self.k.table("gptnode", NODE, "-o", "wide"),
                            lambda r: bool(r) and all(f"{a}: pod default/{POD}" in r[0].get("HELD-BY", "")
                                                      for a in (PREPARED, ADOPTED)), 30)
        wide = self.k.run("get", "gptnode", "-o", "wide").out.rstrip()
        (WORK / "gptnode-wide.txt").write_text(f"$ kubectl get gptnode -o wide\n{wide}\n")
        self.r.check(ok, f"kubectl get gptnode -o wide: HELD-BY names pod default/{POD} for both GPUs",
                     shown(rows))
        self.r.note("kubectl get gptnode -o wide:\n" + "\n".join("      " + l for l in wide.splitlines()))

        # A QEMU the agent does not know of: only its /proc entry, in the pod's container (its cgroup
        # file copied from the container's real task), holding the group of the prepared GPU.
        pod = self.k.get("pod", POD) or {}
        cid = (((pod.get("status") or {}).get("containerStatuses") or [{}])[0].get("containerID") or "") \
            .removeprefix("containerd://")
        pid = nodeside.task_pid(cid) if cid else None
        if pid is None:
            raise Abort(f"no task for the container {cid!r} of pod {POD}")
        cgroup = Path(f"/proc/{pid}/cgroup").read_text()
        argv = ["/usr/libexec/qemu-kvm", "-name", f"guest=default_{POD}", "-device",
                f"vfio-pci,host={PREPARED.removeprefix('0000:')},id=hostdev0"]
        self.host.add_process(QEMU_PID, "qemu-kvm", argv, cgroup,
                              {3: "/dev/vfio/vfio", 4: f"/dev/vfio/{PREPARED_GROUP}", 5: "anon_inode:[vfio-device]"})
        self.cleanup.callback(self._remove_qemu)
        self.r.note(f"<host root>/proc/{QEMU_PID}: comm qemu-kvm, fd 3 /dev/vfio/vfio, 4 /dev/vfio/{PREPARED_GROUP}, "
                    f"5 anon_inode:[vfio-device]; cgroup of the container's task (pid {pid}): "
                    + cgroup.strip().splitlines()[0])
        ok, hh = wait_for(lambda: self.device(PREPARED).get("hostHolders"),
                          lambda h: bool(h) and h[0].get("pid") == QEMU_PID, 30)
        h = hh[0] if ok else {}
        self.r.check(ok and len(hh) == 1 and h.get("command") == "qemu-kvm (" + " ".join(argv) + ")"
                     and h.get("containerId") == cid and h.get("file") == f"/dev/vfio/{PREPARED_GROUP}",
                     f"{PREPARED}: status hostHolders pid {QEMU_PID}, command qemu-kvm (its cmdline), container id "
                     f"of the pod's container {cid[:12]}, file /dev/vfio/{PREPARED_GROUP}", hh)
        self.r.check(not self.device(ADOPTED).get("hostHolders"),
                     f"{ADOPTED}: no hostHolders (the QEMU holds group {PREPARED_GROUP} only)",
                     self.device(ADOPTED).get("hostHolders"))

    def _remove_qemu(self) -> None:
        if (self.host.root / "proc" / str(QEMU_PID)).exists():
            self.host.remove_process(QEMU_PID)

    def delete_while_held(self) -> None:
        self.section(f"kubectl delete gpt {GPT} --wait=false while pod {POD} (and the QEMU) hold the GPUs")
        res = self.k.run("delete", "gpt", GPT, "--wait=false")
        self.r.check(res.rc == 0, f"kubectl delete gpt {GPT} --wait=false exits 0", res.text)
        waiting_for = f"waiting for pod default/{POD} to release {PREPARED}"

        def progressing() -> dict:
            conds = ((self.k.get("gpt", GPT) or {}).get("status") or {}).get("conditions") or []
            return next((pick(c, "type", "status", "reason", "message") for c in conds
                         if c.get("type") == "Progressing"), {})
        ok, c = wait_for(progressing, lambda c: c.get("status") == "True" and c.get("reason") == "Restoring"
                         and waiting_for in (c.get("message") or ""), 60)
        self.r.check(ok, f"GpuPassthrough {GPT}: Progressing=True reason Restoring, \"{waiting_for}\"", c)
        restores = self.node_status().get("restores") or []
        ours = next((r for r in restores if r.get("owner") == GPT), {})
        self.r.check(ours.get("state") == "Waiting" and waiting_for in (ours.get("message") or ""),
                     f"GpuPassthroughNode {NODE}: restore of {GPT} Waiting, naming the pod",
                     pick(ours, "state", "restored", "message"))
        d = self.device(PREPARED)
        self.r.check(d.get("reason") == "DeviceInUse", f"{PREPARED}: reason DeviceInUse",
                     pick(d, "reason", "health", "advertised", "message"))
        ok, d = wait_for(lambda: self.device(PREPARED), lambda d: cols(d, kubelet="Registered", health="Unhealthy",
                                                                     resourceName=RESOURCE), 30)
        row = (self.k.table("gptnode", NODE) or [{}])[0]
        self.r.check(ok and d.get("advertised") is False and row.get("KUBELET") == "Registered",
                     f"{PREPARED}: still listed to the kubelet, Unhealthy, by its registered plugin (kubelet "
                     "Registered, health Unhealthy, not advertised); kubectl get gptnode: KUBELET Registered",
                     f"{pick(d, 'kubelet', 'health', 'advertised', 'resourceName')}; KUBELET={row.get('KUBELET')}")
        self.r.check(not self.device(ADOPTED) and self.host.pci_driver(ADOPTED) == "vfio-pci",
                     f"{ADOPTED} (adopted as found, nothing to give back) is restored at once: it stays on vfio-pci, "
                     "leaves the status and is withdrawn from the kubelet (the pod keeps its allocation)",
                     f"status {pick(self.device(ADOPTED), 'reason', 'message')}; driver {self.host.pci_driver(ADOPTED)}")
        h = self.host
        drivers = {a: h.pci_driver(a) for a in (PREPARED, PREPARED_AUDIO)}
        originals = {k: v.get("driver") for k, v in ((h.record() or {}).get("devices") or {}).items()}
        self.r.check(set(drivers.values()) == {"vfio-pci"} and originals.get(PREPARED) == "nouveau",
                     f"host unchanged: {PREPARED} and {PREPARED_AUDIO} still on vfio-pci, the original driver "
                     "still recorded", f"{drivers}; record {originals}")
        # The held GPU stays listed, Unhealthy (capacity, not allocatable); the adopted one is withdrawn.
        ok, seen = wait_for(self.node_resource, lambda r: r == ("1", "0"), 45)
        self.r.check(ok, f"node {NODE}: capacity {RESOURCE} 1, allocatable 0 ({PREPARED} advertised Unhealthy "
                     f"while it waits, {ADOPTED} withdrawn)", f"(capacity, allocatable) {seen}")
        wide = self.k.run("get", "gptnode", "-o", "wide").out.rstrip()
        with open(WORK / "gptnode-wide.txt", "a") as f:
            f.write(f"$ kubectl get gptnode -o wide   # restore waiting\n{wide}\n")
        self.r.note("kubectl get gptnode -o wide:\n" + "\n".join("      " + l for l in wide.splitlines()))
        failed = [r for r in self.node_status().get("restores") or [] if r.get("state") == "Failed"]
        events = self.k.run("get", "events", "-n", "default", "--field-selector",
                            f"involvedObject.name={GPT},reason=RestoreFailed", "-o", "name").out.strip()
        self.r.check(not failed and not events, "no restore Failed, no RestoreFailed Event",
                     f"failed restores {failed}; events {events or 'none'}")
        phase = ((self.k.get("pod", POD) or {}).get("status") or {}).get("phase")
        gpt = self.k.get("gpt", GPT)
        self.r.check(phase == "Running" and gpt is not None and bool((gpt.get("metadata") or {}).get("deletionTimestamp")),
                     f"pod {POD} still Running; the GpuPassthrough waits (deletionTimestamp set, finalizer kept)",
                     f"pod {phase}; gpt finalizers {gpt and gpt['metadata'].get('finalizers')}")

    def _pod_problem(self) -> str:
        pod = self.k.get("pod", POD) or {}
        st = pod.get("status") or {}
        events = self.k.run("get", "events", "-n", "default", "--field-selector", f"involvedObject.name={POD}").out
        return f"{st.get('phase')} {st.get('conditions')} {events[-600:]}"

    def over_time(self) -> None:
        self.section("operator and agent over time")
        op = self.operator
        # A Lease the operator cannot renew is lost after the renew deadline (< leaseDurationSeconds)
        # and the operator exits (issue 9: ~10 s after its start). Two lease durations of uptime make
        # that visible however fast the story above ran.
        settle = 2 * int(self.lease().get("leaseDurationSeconds") or 15)
        if op.up_s() < settle:
            time.sleep(settle - op.up_s())
        before = self.lease().get("renewTime")
        ok, after = wait_for(lambda: self.lease().get("renewTime"), lambda t: t != before, 15)
        self.r.check(op.running() and op.restarts == 0 and ok,
                     f"the operator has not exited (0 restarts) in {settle} s or more and keeps renewing its Lease",
                     f"up {op.up_s():.0f} s, {op.restarts} restart(s) {[(e.rc, round(e.after_s)) for e in op.exits]}, "
                     f"renewTime {before} -> {after}")
        rss = self.agent.rss_mib()
        limit = self.ds_memory_limit_mib
        self.r.check(rss is not None and limit is not None and rss <= 0.75 * limit,
                     "the agent's RSS leaves a quarter of the DaemonSet's memory limit free",
                     f"RSS {rss and round(rss, 1)} MiB, limit {limit} MiB (JVM flags of {AGENT_JVM_OPTIONS.name})")

    def delete(self) -> None:
        self.section(f"release: the QEMU exits (<host root>/proc/{QEMU_PID} removed), kubectl delete pod {POD}; "
                     f"the deletion of {GPT} completes (restoreOnDelete: true)")
        self._remove_qemu()
        ok, hh = wait_for(lambda: self.device(PREPARED).get("hostHolders"), lambda h: not h, 30)
        self.r.check(ok, f"{PREPARED}: no hostHolders once the QEMU is gone", hh)
        self.delete_pod()
        t = time.monotonic()
        res = self.k.run("wait", "--for=delete", f"gpt/{GPT}", "--timeout=90s", timeout=120)
        gone = self.k.get("gpt", GPT) is None
        self.r.check(gone, f"GpuPassthrough {GPT} is gone once the pod is (finalizer released after restore)",
                     f"{res.text or 'deleted'} {time.monotonic() - t:.0f} s after the pod")
        h = self.host
        drivers = {PREPARED: h.pci_driver(PREPARED), PREPARED_AUDIO: h.pci_driver(PREPARED_AUDIO)}
        self.r.check(drivers == {PREPARED: "nouveau", PREPARED_AUDIO: "snd_hda_intel"},
                     f"host: {PREPARED} back on nouveau, {PREPARED_AUDIO} on snd_hda_intel", drivers)
        overrides = {a: h.driver_override(a) for a in (PREPARED, PREPARED_AUDIO)}
        self.r.check(set(overrides.values()) == {None}, "host: their driver_override is cleared", overrides)
        self.r.check(h.platform_driver(FRAMEBUFFER) == FB_DRIVER and h.vtconsole(FB_VT) == (FBCON, True),
                     f"host: {FRAMEBUFFER} on efifb again and fbcon bound to {FB_VT} (as the simulated kernel "
                     "models it; a real 6.x kernel unregisters efifb on the vfio bind, see the qemu e2e)",
                     f"{FRAMEBUFFER} driver={h.platform_driver(FRAMEBUFFER)}, {FB_VT}={h.vtconsole(FB_VT)}")
        self.r.check(h.record_is_empty(), "host: the record of original drivers is emptied", h.record())
        self.r.check(h.pci_driver(ADOPTED) == "vfio-pci",
                     f"host: the adopted {ADOPTED} stays on vfio-pci (it was there before the agent)",
                     h.pci_driver(ADOPTED))
        ok, node = wait_for(lambda: self.k.get("gptnode", NODE), absent, 30)
        self.r.check(ok, f"GpuPassthroughNode {NODE} is gone", node and node.get("spec"))
        ok, _ = wait_for(lambda: self.k.get("ds", AGENT, "-n", NAMESPACE), absent, 30)
        self.r.check(ok, f"DaemonSet {NAMESPACE}/{AGENT} is gone")
        ok, entries = wait_for(self.kubevirt_devices, lambda e: all(x.get("resourceName") != RESOURCE for x in e), 30)
        self.r.check(self.kubevirt_added and ok and manifests.ADMIN_ENTRY in entries,
                     "KubeVirt CR: our entry (added above) removed, the admin's kept",
                     f"ours was added: {self.kubevirt_added}; now {entries}")
        ok, seen = wait_for(self.node_resource, lambda r: r[1] in (None, "0"), 45)
        self.r.check(ok, f"node {NODE}: allocatable {RESOURCE} back to 0", f"(capacity, allocatable) {seen}")
        op = self.operator
        self.r.check(op.running() and op.restarts == 0, "the operator is still running, 0 restarts in the whole run",
                     f"{op.restarts} restart(s) {[(e.rc, round(e.after_s)) for e in op.exits]}")

    # ---- processes and cleanup ----

    def _supervise(self, name: str, cmd: list[str], env: dict[str, str], kubeconfig: Path) -> Supervised:
        base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "JAVA_HOME") if k in os.environ}
        p = Supervised(name, cmd, {**base, **env, "KUBECONFIG": str(kubeconfig)}, WORK / f"{name}.log", REPO)
        self.cleanup.callback(p.stop)
        return p.start()

    @staticmethod
    def _port_free(port: int, what: str) -> None:
        if not port_free(port):
            raise Abort(f"port {port} ({what}) is taken by another process on this machine; free it first")

    @staticmethod
    def _http(port: int, path: str) -> str:
        """'200 ok', or what went wrong (refused while starting, 503 while not ready)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as r:
                return f"{r.status} {r.read(80).decode(errors='replace').strip()}"
        except Exception as e:  # noqa: BLE001 - shown as seen
            return str(e)

    def delete_pod(self) -> None:
        if self.k.get("pod", POD) is not None:
            self.k.run("delete", "pod", POD, "--wait", "--timeout=60s", timeout=90)

    def stop_cluster(self) -> None:
        """Stops processes first (the agent removes its sockets), then anything the kubelet left in
        containerd, then down.sh; shims that outlive containerd are killed by pid."""
        for p in (self.agent, self.operator):
            if p:
                p.stop()
        ids: list[str] = []
        try:
            for ns in ("default", NAMESPACE):
                ids += nodeside.containers_in_namespace(ns)
            nodeside.remove_containers(ids)
        except (subprocess.SubprocessError, OSError):
            pass  # containerd not up
        common.down()
        if ids:
            nodeside.kill_shims(ids)


# up.sh's defaults (apiserver, etcd client and peer, controller-manager, scheduler) and the kubelet's.
PORTS = (6443, 2379, 2380, 10257, 10259, 10248, 10250)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below `path`, deepest first (/proc/self/mounts escapes spaces as \\040)."""
    prefix = str(path.resolve())
    out = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            out.append(Path(point))
    return sorted(out, key=lambda p: len(p.parts), reverse=True)


def unmount(path: Path) -> None:
    for point in mounts_under(path):
        subprocess.run(["umount", str(point)], check=True, timeout=30)


def present(o: object) -> bool:
    return o is not None


def absent(o: object) -> bool:
    return o is None


def pick(d: dict, *keys: str) -> dict:
    return {k: d.get(k) for k in keys}


def cols(row: dict[str, str], **want: str) -> bool:
    return all(row.get(k) == v for k, v in want.items())


def preflight(args) -> str:
    common.preflight("e2e/cluster/run.sh", "containerd, kubelet, mknod of /dev/vfio stand-ins")
    if not (SHARED_K8S / "up.sh").exists():
        raise Abort(f"no {SHARED_K8S}/up.sh: put ../shared beside the checkout or set GPUPT_SHARED_K8S")
    busy = [p for p in PORTS if not port_free(p)]
    if busy:
        raise Abort(f"ports {busy} are in use (a control plane or kubelet of another run?): the e2e starts its own")
    subprocess.run([str(SHARED_K8S / "install.sh")], check=True, stdout=subprocess.DEVNULL)
    for tool in ("kubectl", "ctr", "containerd"):
        if not shutil.which(tool):
            raise Abort(f"{tool} is missing ({SHARED_K8S}/install.sh installs containerd; kubectl v1.32 from apt)")
    java = str(Path(os.environ["JAVA_HOME"]) / "bin/java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java:
        raise Abort("no java (JDK 17+)")
    if not (OPERATOR_JAR.exists() and AGENT_JAR.exists()):
        if args.no_build:
            raise Abort(f"{OPERATOR_JAR} or {AGENT_JAR} missing (--no-build)")
        print("cluster e2e: building the jars (./mvnw -B -q -pl operator,device-plugin -am package -DskipTests)",
              flush=True)
        subprocess.run(["./mvnw", "-B", "-q", "-pl", "operator,device-plugin", "-am", "package", "-DskipTests"],
                       cwd=REPO, check=True)
    return java


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-build", action="store_true", help="fail instead of building missing jars")
    args = p.parse_args()
    # A CI timeout or ^C still runs the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = Report("cluster", echo=True)
    t0 = time.monotonic()
    print(f"cluster e2e: {datetime.now():%Y-%m-%d %H:%M:%S}, K8S_RUN={K8S_RUN}, work files in {WORK}", flush=True)
    state_dir_existed = STATE_DIR.exists()
    try:
        java = preflight(args)
    except Abort as e:
        print(f"cluster e2e: {e}", file=sys.stderr)
        return 2
    if WORK.exists():
        unmount(WORK)  # a bind mount left by a killed run: rmtree must not reach into the kubelet's directory
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    with ExitStack() as cleanup:
        e2e = ClusterE2e(report, Cleanup(cleanup), java)
        common.run_steps(report, (e2e.cluster, e2e.install, e2e.start_operator, e2e.apply_sample, e2e.start_agent,
                                  e2e.agent_did_its_work, e2e.kubevirt_appears, e2e.admission, e2e.pod, e2e.holders,
                                  e2e.over_time, e2e.delete_while_held, e2e.delete))
        e2e.section("cleanup: pods, processes, containerd leftovers, down.sh, /dev/vfio stand-ins")
    if not state_dir_existed and STATE_DIR.is_dir() and not any(STATE_DIR.iterdir()):
        STATE_DIR.rmdir()  # the kubelet made it for the DaemonSet's hostPath; nothing was written there
    total = time.monotonic() - t0
    print(f"\ncluster e2e: {report.passed} facts held, {report.failed} failed; total {total:.0f} s "
          f"({total / 60:.1f} min); logs in {WORK}", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
