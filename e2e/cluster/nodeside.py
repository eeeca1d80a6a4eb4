"""The real node under the kubelet: device-node stand-ins for /dev/vfio, and the pod's containers as
containerd holds them (what `ctr -n k8s.io containers info` shows)."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

# Any character device will do: the runtime only checks that the host path is a device node, and
# the pause container never opens it. 10:196 is the real /dev/vfio/vfio; groups get 511:N.
VFIO_CONTAINER = (10, 196)
GROUP_MAJOR = 511


class DeviceNodeStandIns:
    """mknod'ed /dev/vfio/* for a node without VFIO; removes exactly what it created."""

    def __init__(self) -> None:
        self.created: list[Path] = []

    def ensure(self, path: str) -> bool:
        """Creates `path` unless it exists; True when it was created here."""
        p = Path(path)
        if p.exists():
            return False
        for d in reversed([p.parent, *p.parent.parents]):
            if not d.exists():
                d.mkdir()
                self.created.append(d)
        if p.name == "vfio":
            major, minor = VFIO_CONTAINER
        else:
            major, minor = GROUP_MAJOR, int(p.name)
        os.mknod(p, 0o600 | stat.S_IFCHR, os.makedev(major, minor))
        self.created.append(p)
        return True

    def remove(self) -> None:
        for p in reversed(self.created):
            try:
                p.rmdir() if p.is_dir() and not p.is_symlink() else p.unlink()
            except OSError:
                pass
        self.created.clear()


def ctr(*args: str) -> str:
    return subprocess.run(["ctr", "-n", "k8s.io", *args], capture_output=True, text=True, check=True,
                          timeout=30).stdout


def containers(pod: str, namespace: str) -> list[dict]:
    """`ctr containers info` of every container (sandbox included) of that pod."""
    out = []
    for cid in ctr("containers", "ls", "-q").split():
        try:
            info = json.loads(ctr("containers", "info", cid))
        except subprocess.CalledProcessError:
            continue  # removed meanwhile
        labels = info.get("Labels") or {}
        if labels.get("io.kubernetes.pod.name") == pod and labels.get("io.kubernetes.pod.namespace") == namespace:
            out.append(info)
    return out


def containers_in_namespace(namespace: str) -> list[str]:
    ids = []
    for cid in ctr("containers", "ls", "-q").split():
        try:
            labels = json.loads(ctr("containers", "info", cid)).get("Labels") or {}
        except subprocess.CalledProcessError:
            continue
        if labels.get("io.kubernetes.pod.namespace") == namespace:
            ids.append(cid)
    return ids


def app_container(infos: list[dict], name: str) -> dict | None:
    return next((i for i in infos if (i.get("Labels") or {}).get("io.kubernetes.container.name") == name), None)


def env_of(info: dict) -> dict[str, str]:
    return dict(e.split("=", 1) for e in info["Spec"]["process"].get("env", []))


def devices_of(info: dict) -> list[str]:
    return [d["path"] for d in (info["Spec"].get("linux", {}).get("devices") or [])]


def task_pid(container_id: str) -> int | None:
    """The pid of a container's task (its init process) on the node, from `ctr tasks ls`."""
    for line in ctr("tasks", "ls").splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 2 and cols[0] == container_id and cols[1].isdigit():
            return int(cols[1])
    return None


def remove_containers(ids: list[str]) -> None:
    """Kills and removes containers the kubelet left behind, so their shims exit with them."""
    for cid in ids:
        for args in (["tasks", "kill", "-s", "SIGKILL", cid], ["tasks", "rm", "-f", cid], ["containers", "rm", cid]):
            subprocess.run(["ctr", "-n", "k8s.io", *args], capture_output=True, timeout=30)


def kill_shims(ids: list[str]) -> list[int]:
    """containerd-shim-runc-v2 outlives containerd: kill the shims serving these containers, by pid."""
    killed = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = proc.joinpath("cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and b"-id" in argv:
            sid = argv[argv.index(b"-id") + 1].decode() if argv.index(b"-id") + 1 < len(argv) else ""
            if sid in ids:
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(int(proc.name))
    return killed


def wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    """Waits for processes to exit, SIGKILLs what is left after the timeout; returns those killed."""
    deadline = time.monotonic() + timeout_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if Path(f"/proc/{p}").exists() and not _zombie(p)]
        time.sleep(0.2)
    for p in alive:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return alive


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
