"""Pod networking for the node of ../shared/k8s node.sh, so pods that are not hostNetwork run there and reach the
API server through the `kubernetes` Service, as in a cluster. What a network add-on and kube-proxy give a cluster,
plus the one piece this control plane lacks:

- CNI: Debian's containernetworking-plugins, `bridge` (gpupt0, 10.244.0.0/24, the pods' gateway) with `host-local`
  IPAM (containerd runs `loopback` itself). node.sh configures containerd with `containerd config default`, which
  reads /etc/cni/net.d and runs plugins from /opt/cni/bin; Debian installs them in /usr/lib/cni: a symlink.
- kube-proxy v1.28.7 (iptables mode) with the admin kubeconfig: Service IPs, `kubernetes` (10.96.0.1:443) among
  them, DNAT to their endpoints.
- The API server's endpoint. up.sh binds kube-apiserver to 127.0.0.1 without --advertise-address, so it publishes
  the node's own address as the `kubernetes` endpoint (`kubectl get endpoints kubernetes`: 192.0.2.2:6443 on these
  machines), where nothing listens. A forwarder (socat) listens on exactly that address and port, accepts only pod
  addresses, and relays the bytes to 127.0.0.1:6443: TLS stays end to end between the pod and the API server.
  up.sh's flags stay as they are.

Everything is undone by stop(): processes by pid, the symlink and the conflist (only what this created), the
bridge, host-local's state, the iptables rules as saved before (the kubelet, kube-proxy and the bridge plugin add
chains), and the sysctls kube-proxy and the bridge plugin set.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

CNI_BIN = Path("/opt/cni/bin")          # containerd config default: plugins."io.containerd.grpc.v1.cri".cni.bin_dir
DEBIAN_CNI = Path("/usr/lib/cni")       # containernetworking-plugins
CNI_CONF = Path("/etc/cni/net.d/10-gpupt-e2e.conflist")
NETWORK = "gpupt-e2e"
BRIDGE = "gpupt0"
POD_CIDR = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
IPAM_DIR = Path("/run/gpupt-e2e/ipam")
# Set by kube-proxy (route_localnet, for NodePorts on localhost) and the bridge plugin (ip_forward, isGateway).
SYSCTLS = ("net/ipv4/conf/all/route_localnet", "net/ipv4/ip_forward")
PACKAGES = {"bridge": "containernetworking-plugins", "iptables": "iptables", "socat": "socat"}


def install_packages() -> list[str]:
    """apt-installs what is missing (root); returns the packages installed."""
    missing = []
    if not (DEBIAN_CNI / "bridge").exists():
        missing.append(PACKAGES["bridge"])
    missing += [PACKAGES[t] for t in ("iptables", "socat") if not shutil.which(t)]
    if missing:
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return missing


class PodNetwork:
    def __init__(self, k8s_bin: Path, admin_kubeconfig: Path, node: str, work: Path):
        self.k8s_bin = k8s_bin
        self.kubeconfig = admin_kubeconfig
        self.node = node
        self.work = work
        self.procs: dict[str, subprocess.Popen] = {}
        self.created: list[Path] = []
        self.saved_rules: dict[str, str] = {}
        self.saved_sysctls: dict[str, str] = {}
        self.endpoint: tuple[str, int] | None = None
        self.saved_netns: set[str] = set()

    # ---- before node.sh: containerd reads the CNI config when it starts ----

    def prepare(self) -> None:
        for tool in ("iptables-save", "ip6tables-save"):
            if shutil.which(tool):
                self.saved_rules[tool] = subprocess.run([tool], capture_output=True, text=True, check=True).stdout
        for s in SYSCTLS:
            self.saved_sysctls[s] = Path("/proc/sys", s).read_text().strip()
        self.saved_netns = set(netns())
        if not CNI_BIN.exists():
            if not CNI_BIN.parent.exists():
                CNI_BIN.parent.mkdir(parents=True)
                self.created.append(CNI_BIN.parent)
            CNI_BIN.symlink_to(DEBIAN_CNI)
            self.created.append(CNI_BIN)
        if CNI_CONF.exists():
            raise RuntimeError(f"{CNI_CONF} exists: another run's network is set up (or left over); remove it first")
        if not CNI_CONF.parent.exists():
            CNI_CONF.parent.mkdir(parents=True)
            self.created.append(CNI_CONF.parent)
        CNI_CONF.write_text(json.dumps(conflist(), indent=1) + "\n")
        self.created.append(CNI_CONF)

    # ---- after node.sh: Service routing and the API server's endpoint ----

    def start(self, endpoint: tuple[str, int]) -> None:
        """endpoint: the `kubernetes` Endpoints address, as the API server published it."""
        self.endpoint = endpoint
        ip, port = endpoint
        # -d -d logs each accepted connection with its peer: the proof that pods came through here.
        self._spawn("forwarder", ["socat", "-d", "-d",
                                  f"TCP-LISTEN:{port},bind={ip},reuseaddr,fork,range={POD_CIDR}",
                                  "TCP:127.0.0.1:6443"])
        self._spawn("kube-proxy", [str(self.k8s_bin / "kube-proxy"), "--kubeconfig", str(self.kubeconfig),
                                   "--hostname-override", self.node, "--proxy-mode", "iptables",
                                   "--cluster-cidr", CLUSTER_CIDR, "--conntrack-max-per-core", "0",
                                   "--metrics-bind-address", "127.0.0.1:10249",
                                   "--healthz-bind-address", "127.0.0.1:10256"])

    def service_rules(self, cluster_ip: str) -> list[str]:
        """kube-proxy's nat rules for a Service IP (KUBE-SERVICES), as iptables-save prints them."""
        out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
        return [l for l in out.splitlines() if cluster_ip in l and l.startswith("-A KUBE-SERVICES")]

    def forwarded_peers(self) -> list[str]:
        """Pod addresses the forwarder accepted connections from (socat -d -d: 'accepting connection from')."""
        log = self.work / "forwarder.log"
        peers = []
        for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
            if "accepting connection from" in line:
                addr = line.split("accepting connection from", 1)[1].split(":")[0].strip().split()[-1]
                if addr not in peers:
                    peers.append(addr)
        return peers

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.work / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        time.sleep(0.5)
        if self.procs[name].poll() is not None:
            raise RuntimeError(f"{name} exited at once: " + (self.work / f"{name}.log").read_text()[-800:])

    def running(self, name: str) -> bool:
        p = self.procs.get(name)
        return p is not None and p.poll() is None

    # ---- undo ----

    def stop(self) -> None:
        """After the pods are gone (the kubelet ran their CNI DEL) and after down.sh (a running kubelet would put
        its chains back)."""
        for name, p in reversed(list(self.procs.items())):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        self.procs.clear()
        # A sandbox the kubelet did not stop (a pod re-created while the run ended) keeps its network namespace
        # and veth; those are containerd's "cni-<uuid>" namespaces that appeared during the run.
        for ns in set(netns()) - self.saved_netns:
            if ns.startswith("cni-"):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
        shutil.rmtree(IPAM_DIR.parent, ignore_errors=True)
        for path in reversed(self.created):
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        self.created.clear()
        for tool, rules in self.saved_rules.items():
            restore_rules(tool, rules)
        self.saved_rules.clear()
        for s, v in self.saved_sysctls.items():
            Path("/proc/sys", s).write_text(v + "\n")
        self.saved_sysctls.clear()


def restore_rules(save_tool: str, saved: str) -> None:
    """Puts back the rules `save_tool` printed before the run. iptables-restore replaces only the tables in its
    input, so a table that appeared meanwhile (the kubelet's KUBE-KUBELET-CANARY in mangle) is emptied as well."""
    tool = save_tool.replace("-save", "")
    now = subprocess.run([save_tool], capture_output=True, text=True, check=True).stdout
    new_tables = set(tables(now)) - set(tables(saved))
    subprocess.run([f"{tool}-restore"], input=saved, text=True, check=True)
    for t in sorted(new_tables):
        subprocess.run([tool, "-t", t, "-F"], check=True)
        subprocess.run([tool, "-t", t, "-X"], check=True)


def netns() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def tables(rules: str) -> list[str]:
    return [line[1:].strip() for line in rules.splitlines() if line.startswith("*")]


def conflist() -> dict:
    return {
        "cniVersion": "0.4.0",
        "name": NETWORK,
        "plugins": [{
            "type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_CIDR}]], "routes": [{"dst": "0.0.0.0/0"}],
                     "dataDir": str(IPAM_DIR)},
        }],
    }
