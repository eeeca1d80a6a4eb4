"""What both cluster e2es share (cluster.py: the jars as processes; in_cluster.py: the images in pods): the
control plane and node of ../shared/k8s (up.sh, node.sh, down.sh), the node lock, and the names of the story."""
from __future__ import annotations

import os
import subprocess
import traceback
from pathlib import Path
from typing import Callable, Iterable

import nodeside

REPO = Path(__file__).resolve().parent.parent.parent
SHARED_K8S = Path(os.environ.get("GPUPT_SHARED_K8S", REPO.parent / "shared" / "k8s"))
K8S_RUN = Path(os.environ.get("K8S_RUN", "/tmp/gpupt-k8s"))  # up.sh's and node.sh's default
LOCK = "/tmp/gpupt-node.lock"  # with-node-lock.sh takes it for the whole run

SAMPLE = "deploy/samples/gpupassthrough-model.yaml"
NODE = "e2e-node"
NAMESPACE = "gpu-passthrough"
OPERATOR = "gpupt-operator"        # Deployment, ServiceAccount and Lease (deploy/base/operator)
AGENT = "gpupt-node-agent"         # DaemonSet the operator creates, ServiceAccount (deploy/base/agent)
GPT = "nvidia-a10"                 # the sample's name
RESOURCE = "nvidia.com/GA102GL_A10"  # the sample's comment: the default derived from pci.ids
POD = "gpu-vm"
PAUSE_IMAGE = "gpupt.local/pause:1"  # node.sh imports it; nothing is pulled


class Abort(Exception):
    """A step whose failure leaves nothing meaningful to check after it."""


def resource_env(resource: str) -> str:
    """The variable the agent's Allocate sets in the container: PCI_RESOURCE_<resource name>."""
    return f"PCI_RESOURCE_{resource.upper().replace('/', '_').replace('.', '_')}"


def script(name: str, *args: str, logs: Path) -> None:
    """Runs a script of ../shared/k8s with K8S_RUN, its output appended to logs/<name>.log."""
    log = logs / f"{name.removesuffix('.sh')}.log"
    with open(log, "a") as out:
        p = subprocess.run([str(SHARED_K8S / name), *args], stdout=out, stderr=subprocess.STDOUT,
                           env={**os.environ, "K8S_RUN": str(K8S_RUN)}, timeout=300)
    if p.returncode != 0:
        raise Abort(f"{SHARED_K8S / name} {' '.join(args)} exited {p.returncode}: "
                    + log.read_text(errors="replace")[-1500:])


def down() -> None:
    """down.sh, then waits for its processes: down.sh signals and waits 1 s, an apiserver takes longer to
    let go of its port, and the next run (after the lock is released) must find the ports free."""
    pids = [int(p) for f in ("pids", "node-pids") if (K8S_RUN / f).exists()
            for p in (K8S_RUN / f).read_text().split()]
    subprocess.run([str(SHARED_K8S / "down.sh")], env={**os.environ, "K8S_RUN": str(K8S_RUN)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    nodeside.wait_gone(pids, timeout_s=30)


def preflight(runner: str, root_for: str) -> None:
    """The lock held (by `runner`, through with-node-lock.sh), root, and no control plane or node up in K8S_RUN."""
    if os.environ.get("GPUPT_NODE_LOCK_HELD") != LOCK:
        raise Abort(f"run {runner}: it holds {LOCK} (one kubelet/containerd per machine)")
    if os.geteuid() != 0:
        raise Abort(f"needs root ({root_for})")
    if (K8S_RUN / "pids").exists() or (K8S_RUN / "node-pids").exists():
        raise Abort(f"a control plane or node is already up in {K8S_RUN} ({K8S_RUN}/pids): stop it with "
                    f"K8S_RUN={K8S_RUN} {SHARED_K8S}/down.sh")


def run_steps(report, steps: Iterable[Callable[[], None]], expected: tuple[type[Exception], ...] = ()) -> None:
    """Runs the story's steps in order until one aborts; either way a ✗ says why, and the caller's cleanup
    still runs. `expected`: errors that end the story like an Abort (a kubectl that does not answer)."""
    try:
        for step in steps:
            step()
    except (Abort, *expected) as e:
        report.check(False, "the story could go on", str(e)[-1500:])
    except Exception as e:  # a bug or an unexpected answer: say where, still clean up
        report.check(False, "the e2e itself ran without an error", f"{type(e).__name__}: {e}")
        traceback.print_exc()
