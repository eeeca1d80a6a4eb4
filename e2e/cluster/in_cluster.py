#!/usr/bin/env python3
"""In-cluster end-to-end run: the two images this build makes, imported into the node's containerd, run as a
cluster runs them. The operator is the Deployment of deploy/base (through deploy/overlays/e2e), the agent the
DaemonSet the operator creates, each with the ServiceAccount token the kubelet projects, reaching the API server
through the `kubernetes` Service (podnet.py). Then the user story: the GpuPassthrough of deploy/samples, the node
Ready, a pod that gets the devices, deletion with restore. Nothing runs by hand but the cluster; every fact is
printed as ✓/✗ with what was seen.

    e2e/cluster/in-cluster.sh            # takes the node lock, builds the images if missing, then runs this

Work files (logs of every process, the node's simulated host) go to e2e/work/in-cluster/.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE.parent / "lib"))
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import nodeside  # noqa: E402
import podnet  # noqa: E402
from common import (AGENT, GPT, K8S_RUN, NAMESPACE, NODE, OPERATOR, PAUSE_IMAGE, POD, RESOURCE, SAMPLE,  # noqa: E402
                    SHARED_K8S, Abort, resource_env)
from kube import Kubectl, KubectlError, mib, wait_for  # noqa: E402
from report import Report  # noqa: E402

WORK = Path(os.environ.get("E2E_WORK", REPO / "e2e" / "work")) / "in-cluster"
IMAGES = {"agent": REPO / "device-plugin/target", "operator": REPO / "operator/target"}  # jib-image.{tar,json}
BUILD = ["./mvnw", "-B", "-q", "-Pimages", "-pl", "device-plugin,operator", "-am", "verify", "-DskipTests"]
OVERLAY = "deploy/overlays/e2e"
ENV_CONFIGMAP = "gpupt-e2e-env"    # deploy/overlays/e2e: environment of both pods
SIM_HOST = Path("/var/lib/gpupt-e2e/host")  # deploy/overlays/e2e: GPUPT_AGENT_SIMULATED_HOST
FIXTURE = "dual-gpu"               # device-plugin/src/test/hosts/<FIXTURE>: two A10s on nouveau, efifb on the first
GPUS = {"0000:01:00.0": 1, "0000:02:00.0": 3}  # address -> IOMMU group (README: scan of the fixture)
SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
KUBELET = "https://127.0.0.1:10250"


class InCluster:
    def __init__(self, report: Report, cleanup: ExitStack):
        self.r = report
        self.cleanup = cleanup
        self.k = Kubectl(K8S_RUN / "admin.kubeconfig", REPO)
        self.bin = Path(subprocess.run([str(SHARED_K8S / "install.sh")], capture_output=True, text=True,
                                       check=True).stdout.strip().splitlines()[-1])
        self.net = podnet.PodNetwork(self.bin, K8S_RUN / "admin.kubeconfig", NODE, WORK)
        self.images = {name: json.loads((d / "jib-image.json").read_text()) for name, d in IMAGES.items()}
        self.t0 = time.monotonic()
        self.standins = nodeside.DeviceNodeStandIns()
        self.prepared = False

    def section(self, title: str) -> None:
        self.r.section(f"[{time.monotonic() - self.t0:5.0f} s] {title}")

    # ---- the cluster ----

    def cluster(self) -> None:
        self.section(f"control plane, node and pod network: up.sh, node.sh {NODE}, CNI, kube-proxy (podnet.py)")
        self.cleanup.callback(self.stop_cluster)
        common.script("up.sh", logs=WORK)
        self.net.prepare()
        common.script("node.sh", NODE, logs=WORK)
        ok, ready = wait_for(self.node_ready, lambda s: s == "True", 60)
        self.r.check(ok, f"node {NODE} Ready (containerd found the CNI config {podnet.CNI_CONF})", f"Ready={ready}")
        if not ok:
            raise Abort("node not Ready: " + json.dumps((self.k.get("node", NODE) or {}).get("status", {})
                                                       .get("conditions"))[-800:])
        # The kubelet registers a node with this taint; the node-lifecycle controller removes it once the node is
        # Ready. up.sh runs kube-controller-manager without that controller (-nodelifecycle), so it stays unless
        # someone does its job, and no pod without a toleration would ever be scheduled.
        taints = [t["key"] for t in (self.k.get("node", NODE) or {}).get("spec", {}).get("taints") or []]
        if "node.kubernetes.io/not-ready" in taints:
            self.k.run("taint", "node", NODE, "node.kubernetes.io/not-ready:NoSchedule-", check=True)
            self.r.note("removed the node's not-ready taint once it was Ready, as the node-lifecycle controller "
                        "(disabled by up.sh) would")
        ep = (self.k.get("endpoints", "kubernetes") or {}).get("subsets", [{}])[0]
        ip, port = ep.get("addresses", [{}])[0].get("ip"), ep.get("ports", [{}])[0].get("port")
        svc = (self.k.get("service", "kubernetes") or {}).get("spec", {})
        self.r.note(f"Service kubernetes {svc.get('clusterIP')}:443 -> endpoint {ip}:{port} (the API server's "
                    "advertised address; it listens on 127.0.0.1 only: the forwarder listens there for pods)")
        self.net.start((ip, int(port)))
        ok, rules = wait_for(lambda: self.net.service_rules(svc.get("clusterIP")), bool, 30)
        self.r.check(ok, f"kube-proxy routes the kubernetes Service {svc.get('clusterIP')}:443", rules)

    def node_ready(self) -> str | None:
        conds = (self.k.get("node", NODE) or {}).get("status", {}).get("conditions") or []
        return next((c["status"] for c in conds if c["type"] == "Ready"), None)

    def import_images(self) -> None:
        self.section("images: ctr -n k8s.io images import (no registry, nothing pulled)")
        self.cleanup.callback(self.remove_images)
        for name, d in IMAGES.items():
            ref = self.images[name]["image"]
            p = subprocess.run(["ctr", "-n", "k8s.io", "images", "import", str(d / "jib-image.tar")],
                               capture_output=True, text=True, timeout=300)
            listed = subprocess.run(["ctr", "-n", "k8s.io", "images", "ls", f"name=={ref}"], capture_output=True,
                                    text=True).stdout.strip().splitlines()[1:]
            self.r.check(p.returncode == 0 and bool(listed), f"{name} image {ref} imported into containerd",
                         (p.stdout + p.stderr).strip() or listed)
            c, u = image_sizes(d / "jib-image.tar")
            self.r.note(f"{ref}: Jib digest {self.images[name]['imageDigest']}, containerd digest "
                        f"{listed[0].split()[2] if listed else '?'}, {c / 2**20:.1f} MiB compressed, "
                        f"{u / 2**20:.1f} MiB unpacked")

    def install(self) -> None:
        self.section(f"install: kubectl apply -k {OVERLAY} (deploy/base + the simulated host and the CA)")
        self.cleanup.callback(lambda: shutil.rmtree(SIM_HOST.parent, ignore_errors=True))
        if SIM_HOST.exists():
            shutil.rmtree(SIM_HOST)
        shutil.copytree(REPO / "device-plugin/src/test/hosts" / FIXTURE, SIM_HOST, symlinks=True)
        self.r.note(f"node directory {SIM_HOST}: a copy of device-plugin/src/test/hosts/{FIXTURE} (two A10 on "
                    "nouveau, efifb and fbcon on the first)")
        # The CA the API server's serving certificate chains to: the last certificate of its cert-dir chain.
        chain = (K8S_RUN / "certs/apiserver.crt").read_text()
        ca = "-----BEGIN CERTIFICATE-----" + chain.split("-----BEGIN CERTIFICATE-----")[-1]
        root_ca = (self.k.get("configmap", "kube-root-ca.crt", "-n", "default") or {}).get("data", {}).get("ca.crt")
        self.r.note(f"kube-root-ca.crt holds ca.crt={root_ca!r} (up.sh's controller-manager has no --root-ca-file): "
                    f"ConfigMap {ENV_CONFIGMAP} gives both pods KUBERNETES_CERTS_CA_DATA instead")
        self.k.run("apply", "-f", "deploy/base/namespace.yaml", check=True)
        self.k.run("create", "configmap", ENV_CONFIGMAP, "-n", NAMESPACE,
                   f"--from-literal=KUBERNETES_CERTS_CA_DATA={base64.b64encode(ca.encode()).decode()}", check=True)
        p = self.k.run("apply", "-k", OVERLAY, timeout=120)
        self.r.check(p.rc == 0, f"kubectl apply -k {OVERLAY} exits 0", p.text[-300:])
        if p.rc != 0:
            raise Abort(p.err)

    # ---- the operator: the Deployment's pod ----

    def operator(self) -> None:
        self.section(f"operator: the pod of Deployment {NAMESPACE}/{OPERATOR}")
        ok, pod = wait_for(lambda: self.pod_of(OPERATOR), lambda p: pod_ready(p), 180, 2)
        self.r.check(ok, f"pod {name_of(pod)} Running and Ready (readiness probe /readyz on :8081)",
                     pod_state(pod))
        if not ok:
            raise Abort("the operator pod is not Ready:\n" + self.container_log(pod, "operator"))
        self.operator_pod = pod
        self.pod_facts(pod, "operator", self.images["operator"]["image"], OPERATOR)
        info = self.container_info(pod, "operator")
        spec = info.get("Spec", {}) if info else {}
        self.r.check(spec.get("root", {}).get("readonly") is True
                     and spec.get("process", {}).get("user", {}).get("uid") == 65532,
                     "ctr containers info: read-only root file system, uid 65532 (runAsNonRoot, the image's user)",
                     {"root.readonly": spec.get("root", {}).get("readonly"),
                      "uid": spec.get("process", {}).get("user", {}).get("uid")})
        ok, lease = wait_for(lambda: (self.k.get("lease", OPERATOR, "-n", NAMESPACE) or {}).get("spec") or {},
                             lambda l: l.get("holderIdentity") == name_of(pod), 60)
        self.r.check(ok, f"it holds the Lease {NAMESPACE}/{OPERATOR} (written through the Service as its "
                         "ServiceAccount)", {k: lease.get(k) for k in ("holderIdentity", "renewTime")})
        if not ok:
            self.r.note("operator log: " + self.container_log(pod, "operator")[-1200:])

    # ---- the user story ----

    def sample(self) -> None:
        self.section(f"kubectl apply -f {SAMPLE}: the operator creates the agent DaemonSet")
        p = self.k.run("apply", "-f", SAMPLE)
        self.r.check(p.rc == 0, f"kubectl apply -f {SAMPLE} exits 0", p.text)
        ok, ds = wait_for(lambda: self.k.get("ds", AGENT, "-n", NAMESPACE), lambda d: d is not None, 60)
        self.r.check(ok, f"DaemonSet {NAMESPACE}/{AGENT} created by the operator",
                     ds and ds["spec"]["template"]["spec"]["containers"][0].get("args"))
        if not ok:
            raise Abort("no agent DaemonSet:\n" + self.container_log(self.operator_pod, "operator")[-1500:])
        self.ds = ds
        ok, pod = wait_for(lambda: self.pod_of(AGENT), lambda p: pod_ready(p), 180, 2)
        self.r.check(ok, f"agent pod {name_of(pod)} Running", pod_state(pod))
        if not ok:
            raise Abort("the agent pod does not run:\n" + self.container_log(pod, "agent")[-1500:])
        self.agent_pod = pod
        self.pod_facts(pod, "agent", self.images["agent"]["image"], AGENT)

    def node_ready_story(self) -> None:
        self.section("the node reports: GpuPassthroughNode, the simulated host, the kubelet")
        # Until the agent reports both devices, or its container restarts (then nothing after this can hold).
        ok, (node, restarts) = wait_for(lambda: ((self.k.get("gptnode", NODE) or {}).get("status") or {},
                                                 restarts_of(self.pod_of(AGENT))),
                                        lambda v: v[1] > 0 or (v[0].get("devicesReady") == len(GPUS)
                                                               and v[0].get("devicesTotal") == len(GPUS)), 120, 2)
        self.r.check(ok and restarts == 0, f"gptnode {NODE}: {len(GPUS)} of {len(GPUS)} devices ready",
                     {**{k: node.get(k) for k in ("devicesReady", "devicesTotal", "message")},
                      "agent restarts": restarts})
        if restarts:
            raise Abort(f"the agent container restarted ({restarts}); its log:\n"
                        + self.container_log(self.agent_pod, "agent")[-1500:])
        if not ok:
            self.r.note("agent log: " + self.container_log(self.agent_pod, "agent")[-1500:])
        peers = self.net.forwarded_peers()
        self.r.check(set(peers) >= {pod_ip(self.operator_pod), pod_ip(self.agent_pod)},
                     "the forwarder on the kubernetes endpoint carried the connections of both pods (and only pods)",
                     f"peers {peers}; operator {pod_ip(self.operator_pod)}, agent {pod_ip(self.agent_pod)}")
        drivers = {a: sysfs_driver(a) for a in GPUS}
        self.prepared = set(drivers.values()) == {"vfio-pci"}
        self.r.check(self.prepared, "simulated host: both GPUs bound to vfio-pci", drivers)
        ok, alloc = wait_for(self.allocatable, lambda a: a == str(len(GPUS)), 60, 2)
        self.r.check(ok, f"node {NODE}: allocatable {RESOURCE} = {len(GPUS)}", alloc)
        ok, row = wait_for(lambda: (self.k.get("gpt", GPT) or {}).get("status") or {},
                           lambda s: s.get("nodesReady") == 1 and s.get("devicesAdvertised") == len(GPUS), 60, 2)
        self.r.check(ok, f"gpt {GPT}: 1 node ready, {len(GPUS)} devices advertised",
                     {k: row.get(k) for k in ("nodesMatched", "nodesReady", "devicesAdvertised", "devicesBlocked")})

    def allocatable(self) -> str | None:
        return (self.k.get("node", NODE) or {}).get("status", {}).get("allocatable", {}).get(RESOURCE)

    def gpu_pod(self) -> None:
        self.section(f"a pod (pod network, not hostNetwork) requesting {RESOURCE}: {len(GPUS)}")
        made = [p for p in ["/dev/vfio/vfio", *[f"/dev/vfio/{g}" for g in GPUS.values()]] if self.standins.ensure(p)]
        self.r.note(f"mknod stand-ins on the node for the device specs the kubelet passes on: {made or 'none needed'}")
        self.cleanup.callback(lambda: self.k.run("delete", "pod", POD, "--ignore-not-found", "--timeout=60s"))
        self.k.run("apply", "-f", "-", stdin=json.dumps(gpu_pod_manifest()), check=True)
        ok, pod = wait_for(lambda: self.k.get("pod", POD), lambda p: pod_ready(p), 120, 2)
        self.r.check(ok, f"pod {POD} Running", pod_state(pod))
        info = self.container_info(pod, "vm") if ok else None
        env = nodeside.env_of(info) if info else {}
        var = resource_env(RESOURCE)
        self.r.check(sorted(env.get(var, "").split(",")) == sorted(GPUS),
                     f"ctr containers info: env {var} = {','.join(sorted(GPUS))}", env.get(var))
        devices = nodeside.devices_of(info) if info else []
        want = {"/dev/vfio/vfio", *[f"/dev/vfio/{g}" for g in GPUS.values()]}
        self.r.check(want <= set(devices), f"ctr containers info: linux.devices {sorted(want)}", devices)

    def memory(self) -> None:
        self.section("memory: the kubelet's /stats/summary (cgroup working set and RSS)")
        stats = self.kubelet_stats()
        limit = mib(self.ds["spec"]["template"]["spec"]["containers"][0].get("resources", {}).get("limits", {})
                    .get("memory"))
        for pod, container in ((self.agent_pod, "agent"), (self.operator_pod, "operator")):
            m = stats.get((name_of(pod), container), {})
            self.r.note(f"{name_of(pod)}/{container}: working set {m.get('workingSetBytes', 0) / 2**20:.1f} MiB, "
                        f"RSS {m.get('rssBytes', 0) / 2**20:.1f} MiB")
        agent = stats.get((name_of(self.agent_pod), "agent"), {})
        ws = agent.get("workingSetBytes", 0) / 2**20
        self.r.check(limit is not None and 0 < ws <= 0.75 * limit,
                     "the agent's working set leaves a quarter of its memory limit free",
                     f"{ws:.1f} MiB of {limit} MiB")

    def delete(self) -> None:
        self.section(f"kubectl delete pod {POD}; kubectl delete gpt {GPT} (restoreOnDelete: true)")
        self.k.run("delete", "pod", POD, "--timeout=60s", timeout=90)
        t = time.monotonic()
        p = self.k.run("delete", "gpt", GPT, "--timeout=120s", timeout=150)
        self.r.check(p.rc == 0, f"kubectl delete gpt {GPT} completes (finalizer released after restore)",
                     f"{p.text} after {time.monotonic() - t:.0f} s")
        drivers = {a: sysfs_driver(a) for a in GPUS}
        self.r.check(self.prepared and set(drivers.values()) == {"nouveau"},
                     "simulated host: both GPUs back on nouveau (after they were on vfio-pci)", drivers)
        ok, _ = wait_for(lambda: self.k.get("ds", AGENT, "-n", NAMESPACE), lambda d: d is None, 60)
        self.r.check(ok, f"DaemonSet {NAMESPACE}/{AGENT} is gone")
        ok, alloc = wait_for(self.allocatable, lambda a: a in (None, "0"), 60, 2)
        self.r.check(self.prepared and ok, f"node {NODE}: allocatable {RESOURCE} back to 0 (after it was "
                     f"{len(GPUS)})", alloc)
        op = self.pod_of(OPERATOR)
        restarts = restarts_of(op)
        self.r.check(pod_ready(op) and restarts == 0, "the operator pod is still Ready, 0 restarts in the whole run",
                     f"{pod_state(op)}, {restarts} restarts")

    # ---- reading pods and the node ----

    def pod_of(self, app: str) -> dict | None:
        items = (self.k.get("pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={app}") or {}).get("items") or []
        live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
        return live[0] if live else None

    def pod_facts(self, pod: dict, container: str, image: str, service_account: str) -> None:
        spec = pod["spec"]
        c = next(x for x in spec["containers"] if x["name"] == container)
        status = next((s for s in pod["status"].get("containerStatuses", []) if s["name"] == container), {})
        self.r.check(c["image"] == image and status.get("image") == image,
                     f"{name_of(pod)}: image {image}", f"spec {c['image']}, status {status.get('image')} "
                     f"({status.get('imageID')})")
        projected = [v for v in spec.get("volumes", []) if any("serviceAccountToken" in s for s in
                                                                 (v.get("projected") or {}).get("sources", []))]
        token = self.projected_token(pod, projected[0]["name"]) if projected else {}
        sa = f"system:serviceaccount:{NAMESPACE}:{service_account}"
        self.r.check(spec.get("serviceAccountName") == service_account and token.get("sub") == sa
                     and (token.get("kubernetes.io") or {}).get("pod", {}).get("name") == name_of(pod),
                     f"{name_of(pod)}: the kubelet projected a token of {sa} bound to the pod at {SA_MOUNT}",
                     {"sub": token.get("sub"), "aud": token.get("aud"),
                      "pod": (token.get("kubernetes.io") or {}).get("pod", {}).get("name")})
        info = self.container_info(pod, container)
        env = nodeside.env_of(info) if info else {}
        svc = (self.k.get("service", "kubernetes") or {}).get("spec", {}).get("clusterIP")
        self.r.check(env.get("KUBERNETES_SERVICE_HOST") == svc and not spec.get("hostNetwork")
                     and pod_ip(pod).startswith(podnet.POD_CIDR.rsplit(".", 2)[0]),
                     f"{name_of(pod)}: on the pod network ({pod_ip(pod)}), API server at the Service "
                     f"KUBERNETES_SERVICE_HOST={svc}", {"hostNetwork": spec.get("hostNetwork", False),
                                                        "KUBERNETES_SERVICE_HOST": env.get("KUBERNETES_SERVICE_HOST")})

    def projected_token(self, pod: dict, volume: str) -> dict:
        """The JWT claims of the token file the kubelet wrote for the pod (its projected volume on the node)."""
        path = Path("/var/lib/kubelet/pods", pod["metadata"]["uid"], "volumes/kubernetes.io~projected", volume, "token")
        try:
            payload = path.read_text().split(".")[1]
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (OSError, IndexError, ValueError):
            return {}

    def container_info(self, pod: dict | None, container: str) -> dict | None:
        if not pod:
            return None
        ids = [s.get("containerID", "").removeprefix("containerd://")
               for s in pod.get("status", {}).get("containerStatuses", []) if s["name"] == container]
        if not ids or not ids[0]:
            return None
        p = subprocess.run(["ctr", "-n", "k8s.io", "containers", "info", ids[0]], capture_output=True, text=True)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def container_log(self, pod: dict | None, container: str) -> str:
        """The kubelet's log file of the container (kubectl logs would need the node's name to resolve)."""
        if not pod:
            return "(no pod)"
        m = pod["metadata"]
        d = Path("/var/log/pods", f"{m['namespace']}_{m['name']}_{m['uid']}", container)
        # One file per container start (0.log, 1.log, ...): a restarted container's new file may still be empty.
        logs = sorted(d.glob("*.log"), key=lambda p: p.stat().st_mtime) if d.is_dir() else []
        if not logs:
            return f"(no log in {d})"
        lines = [l.split(" ", 3)[-1] for f in logs for l in f.read_text(errors="replace").splitlines()]
        return "\n".join(l for l in lines if not l.lstrip().startswith("at "))[-3000:]

    def kubelet_stats(self) -> dict[tuple[str, str], dict]:
        """/stats/summary?only_cpu_and_memory=true from the kubelet itself (node.sh: anonymous, AlwaysAllow). The full
        summary answers 500 here (cadvisor finds no filesystem info for the root device); through the API server's
        node proxy it fails too, since the node's name does not resolve."""
        p = subprocess.run(["curl", "-sk", f"{KUBELET}/stats/summary?only_cpu_and_memory=true"],
                           capture_output=True, text=True, timeout=30)
        try:
            summary = json.loads(p.stdout)
        except ValueError:
            self.r.note(f"kubelet stats: {p.stdout[:200]}")
            return {}
        return {(pod["podRef"]["name"], c["name"]): c.get("memory", {})
                for pod in summary.get("pods", []) for c in pod.get("containers", [])}

    # ---- cleanup ----

    def remove_images(self) -> None:
        for meta in self.images.values():
            subprocess.run(["ctr", "-n", "k8s.io", "images", "rm", meta["image"]], capture_output=True)

    def stop_cluster(self) -> None:
        """Pods first, through the kubelet, so it stops their sandboxes (CNI DEL: veth, IP): the operator's
        Deployment before the DaemonSet it would re-create, then what is left. Then containerd leftovers, down.sh,
        and the pod network (podnet.stop puts iptables back once no kubelet rewrites it)."""
        for kind in ("deployment", "daemonset"):
            self.k.run("delete", kind, "--all", "-n", NAMESPACE, "--cascade=foreground", "--wait", "--timeout=60s",
                       timeout=90)
        for ns in ("default", NAMESPACE):
            self.k.run("delete", "pods", "--all", "-n", ns, "--wait", "--timeout=60s", timeout=90)
        try:
            ids = nodeside.ctr("containers", "ls", "-q").split()
        except (subprocess.SubprocessError, OSError):
            ids = []  # containerd not up
        nodeside.remove_containers(ids)
        common.down()
        nodeside.kill_shims(ids)
        self.net.stop()
        self.standins.remove()


def gpu_pod_manifest() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD, "namespace": "default"},
            "spec": {"containers": [{"name": "vm", "image": PAUSE_IMAGE, "imagePullPolicy": "Never",
                                     "resources": {"limits": {RESOURCE: str(len(GPUS))}}}],
                     "terminationGracePeriodSeconds": 1}}


def sysfs_driver(address: str) -> str | None:
    link = SIM_HOST / "sys/bus/pci/devices" / address / "driver"
    return os.path.basename(os.readlink(link)) if link.is_symlink() else None


def name_of(pod: dict | None) -> str:
    return (pod or {}).get("metadata", {}).get("name", "(none)")


def pod_ip(pod: dict | None) -> str:
    return (pod or {}).get("status", {}).get("podIP") or ""


def pod_ready(pod: dict | None) -> bool:
    conds = (pod or {}).get("status", {}).get("conditions") or []
    return (pod or {}).get("status", {}).get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in conds)


def pod_state(pod: dict | None) -> str:
    if not pod:
        return "no pod"
    st = pod.get("status", {})
    waiting = [f"{s['name']}: {next(iter(s.get('state', {}).values()), {}).get('reason')} "
               f"(restarts {s.get('restartCount')})" for s in st.get("containerStatuses", [])]
    return f"{name_of(pod)} {st.get('phase')} {waiting} on {pod['spec'].get('nodeName')} ip {st.get('podIP')}"


def restarts_of(pod: dict | None) -> int:
    return sum(c.get("restartCount", 0) for c in (pod or {}).get("status", {}).get("containerStatuses", []))


def image_sizes(tar: Path) -> tuple[int, int]:
    """(compressed, unpacked) bytes of a Jib image tar: its gzipped layers and what they unpack to."""
    compressed = unpacked = 0
    with tarfile.open(tar) as t:
        for m in t.getmembers():
            if m.name.endswith(".tar.gz"):
                compressed += m.size
                with gzip.open(t.extractfile(m)) as g:
                    while chunk := g.read(1 << 20):
                        unpacked += len(chunk)
    return compressed, unpacked


def preflight(args) -> None:
    common.preflight("e2e/cluster/in-cluster.sh", "containerd, kubelet, CNI, iptables, mknod")
    installed = podnet.install_packages()
    if installed:
        print(f"in-cluster: installed {' '.join(installed)}", flush=True)
    if not all((d / "jib-image.tar").exists() for d in IMAGES.values()):
        if args.no_build:
            raise Abort("no image tars (--no-build): run " + " ".join(BUILD))
        print("in-cluster: building the images (" + " ".join(BUILD) + ")", flush=True)
        subprocess.run(BUILD, cwd=REPO, check=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-build", action="store_true", help="fail instead of building missing images")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a CI timeout still cleans up
    t0 = time.monotonic()
    print(f"in-cluster: {datetime.now():%Y-%m-%d %H:%M:%S}, K8S_RUN={K8S_RUN}, work files in {WORK}", flush=True)
    try:
        preflight(args)
    except (Abort, subprocess.CalledProcessError) as e:
        print(f"in-cluster: {e}", file=sys.stderr)
        return 2
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    report = Report("in-cluster", echo=True)
    with ExitStack() as cleanup:
        run = InCluster(report, cleanup)
        common.run_steps(report, (run.cluster, run.import_images, run.install, run.operator, run.sample,
                                  run.node_ready_story, run.gpu_pod, run.memory, run.delete), expected=(KubectlError,))
        run.section("cleanup: pods, containerd leftovers, down.sh, pod network, images, simulated host")
    total = time.monotonic() - t0
    print(f"\nin-cluster: {report.passed} passed, {report.failed} failed; total {total:.0f} s "
          f"({total / 60:.1f} min); logs in {WORK}", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
