"""The node's host root, read the way an admin reads /sys on a node (`readlink driver`, `cat bind`):
a copy of a fixture written by the simulated host builder, changed only by the agent's writes through
the simulated kernel."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

FIXTURE = "dual-gpu-one-on-vfio"  # device-plugin/src/test/hosts/<FIXTURE>, FixtureHosts.cases()
RECORD = "var/lib/gpupassthrough/original-drivers.json"
FBCON = "(M) frame buffer device"


class SimHost:
    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def copy_fixture(cls, repo: Path, target: Path) -> "SimHost":
        """`cp -a` (symlinks kept as links: sysfs links are relative and resolve inside the root)."""
        shutil.copytree(repo / "device-plugin/src/test/hosts" / FIXTURE, target, symlinks=True)
        return cls(target)

    def _link_name(self, path: str) -> str | None:
        p = self.root / path
        return os.path.basename(os.readlink(p)) if p.is_symlink() else None

    def pci_driver(self, address: str) -> str | None:
        return self._link_name(f"sys/bus/pci/devices/{address}/driver")

    def driver_override(self, address: str) -> str | None:
        """None when cleared: the kernel shows "(null)"."""
        value = (self.root / f"sys/bus/pci/devices/{address}/driver_override").read_text().strip()
        return None if value in ("", "(null)") else value

    def platform_driver(self, device: str) -> str | None:
        return self._link_name(f"sys/bus/platform/devices/{device}/driver")

    def vtconsole(self, name: str) -> tuple[str, bool] | None:
        """(driver name, bound); None when the console is gone (fbcon's vtcon1 goes with the last fbN)."""
        d = self.root / "sys/class/vtconsole" / name
        if not d.is_dir():
            return None
        return d.joinpath("name").read_text().strip(), d.joinpath("bind").read_text().strip() == "1"

    def vfio_group_node(self, group: int) -> bool:
        return (self.root / f"dev/vfio/{group}").exists()

    def record(self) -> dict | None:
        """The agent's record of original drivers; None when there is none (nothing to give back)."""
        p = self.root / RECORD
        return json.loads(p.read_text()) if p.exists() else None

    def record_is_empty(self) -> bool:
        r = self.record()
        return r is None or not (r.get("devices") or r.get("framebuffers") or r.get("vtConsoles"))

    def add_process(self, pid: int, comm: str, argv: list[str], cgroup: str, fds: dict[int, str]) -> Path:
        """A process as the host's /proc shows it to a holder scan: comm, cmdline (NUL-separated),
        cgroup, and fd/N links whose text is what the kernel shows (a path, anon_inode:[...])."""
        d = self.root / "proc" / str(pid)
        (d / "fd").mkdir(parents=True)
        (d / "comm").write_text(comm + "\n")
        (d / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in argv))
        (d / "cgroup").write_text(cgroup)
        for fd, target in fds.items():
            os.symlink(target, d / "fd" / str(fd))
        return d

    def remove_process(self, pid: int) -> None:
        shutil.rmtree(self.root / "proc" / str(pid))
