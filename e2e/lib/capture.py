"""What one guest reported: the marked blocks of its results serial port, parsed.

The guest's /init prints each file between `=====E2E-BEGIN name=====` and
`=====E2E-END name=====`; `split_results` turns that stream back into files and the
classes here read the formats /init wrote (see e2e/guest/init).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN = re.compile(r"^=====E2E-BEGIN (\S+)=====$")
END = re.compile(r"^=====E2E-END (\S+)=====$")
DONE = "=====E2E-DONE====="


def split_results(raw: bytes, out_dir: Path) -> bool:
    """Writes each marked block to out_dir/name; True when the guest reached the end marker."""
    name, lines, done = None, [], False
    for line in raw.decode("utf-8", "replace").splitlines():
        line = line.rstrip("\r")
        if name is None:
            m = BEGIN.match(line)
            if m:
                name, lines = m.group(1), []
            elif line == DONE:
                done = True
            elif line.startswith("E2E-FATAL"):
                (out_dir / "fatal").write_text(line + "\n")
        elif END.match(line):
            (out_dir / name).write_text("".join(l + "\n" for l in lines))
            name = None
        else:
            lines.append(line)
    return done


@dataclass(frozen=True)
class PciRow:
    address: str
    pci_class: str
    vendor_device: str
    driver: str | None
    iommu_group: str | None
    boot_vga: str | None
    driver_override: str | None


@dataclass(frozen=True)
class IomemRange:
    start: int
    end: int
    name: str
    depth: int
    parent: "IomemRange | None"


@dataclass(frozen=True)
class VtConsole:
    name: str
    bound: bool
    description: str


class Capture:
    """Read access to one guest's result files (missing files read as absent, not as errors)."""

    def __init__(self, directory: Path):
        self.dir = directory

    def text(self, name: str) -> str | None:
        path = self.dir / name
        return path.read_text() if path.exists() else None

    def rc(self, step: str) -> int | None:
        text = self.text(f"{step}.rc")
        return int(text.strip()) if text and text.strip().lstrip("-").isdigit() else None

    def json(self, step: str):
        """The step's stdout as JSON, or None when absent or not JSON."""
        text = self.text(f"{step}.out")
        try:
            return json.loads(text) if text else None
        except json.JSONDecodeError:
            return None

    def pci(self, phase: str) -> dict[str, PciRow]:
        rows = {}
        for line in (self.text(f"pci.{phase}") or "").splitlines():
            address, *pairs = line.split()
            f = dict(p.split("=", 1) for p in pairs)
            none = lambda v: None if v in ("-", "(null)") else v
            rows[address] = PciRow(address, f["class"], f["id"], none(f["driver"]),
                                   none(f["iommu_group"]), none(f["boot_vga"]),
                                   none(f["driver_override"]))
        return rows

    def vtconsoles(self, phase: str) -> dict[str, VtConsole]:
        out = {}
        for line in (self.text(f"vtconsole.{phase}") or "").splitlines():
            m = re.match(r"^(\S+) bind=(\d) name=(.*)$", line)
            if m:
                out[m.group(1)] = VtConsole(m.group(1), m.group(2) == "1", m.group(3))
        return out

    def platform_framebuffers(self, phase: str) -> dict[str, str | None]:
        """platform framebuffer device -> its driver (None when unbound)."""
        out = {}
        for line in (self.text(f"framebuffers.{phase}") or "").splitlines():
            m = re.match(r"^(\S*framebuffer\S*) driver=(\S+) path=(\S+)$", line)
            if m:
                out[m.group(1)] = None if m.group(2) == "-" else m.group(2)
        return out

    def platform_framebuffer_paths(self, phase: str) -> dict[str, str]:
        out = {}
        for line in (self.text(f"framebuffers.{phase}") or "").splitlines():
            m = re.match(r"^(\S*framebuffer\S*) driver=(\S+) path=(\S+)$", line)
            if m:
                out[m.group(1)] = m.group(3)
        return out

    def fbdevs(self, phase: str) -> list[str]:
        """fbN names, e.g. 'EFI VGA', 'VESA VGA'."""
        return [m.group(1) for line in (self.text(f"framebuffers.{phase}") or "").splitlines()
                if (m := re.match(r"^fb\d+ name=(.*) device=", line))]

    def iomem(self, phase: str) -> list[IomemRange]:
        ranges: list[IomemRange] = []
        stack: list[IomemRange] = []
        for line in (self.text(f"iomem.{phase}") or "").splitlines():
            m = re.match(r"^( *)([0-9a-f]+)-([0-9a-f]+) : (.*)$", line)
            if not m:
                continue
            depth = len(m.group(1)) // 2
            del stack[depth:]
            r = IomemRange(int(m.group(2), 16), int(m.group(3), 16), m.group(4), depth,
                           stack[-1] if stack else None)
            stack.append(r)
            ranges.append(r)
        return ranges

    def iomem_named(self, phase: str, name: str) -> list[IomemRange]:
        return [r for r in self.iomem(phase) if r.name == name]

    def dev_vfio(self, phase: str) -> list[str]:
        names = []
        for line in (self.text(f"dev-vfio.{phase}") or "").splitlines():
            parts = line.split()
            if len(parts) >= 9 and line[0] in "cl-d":
                names.append(parts[-1])
        return names

    def dmesg_lines(self, *patterns: str) -> list[str]:
        regex = re.compile("|".join(patterns))
        return [l for l in (self.text("dmesg") or "").splitlines() if regex.search(l)]
