"""One guest machine: the qemu command line (q35, TCG, emulated IOMMU) and one boot of it."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from capture import split_results
from host import OVMF_CODE, OVMF_VARS, SEABIOS, Kernel

BOOT_TIMEOUT_S = 300  # a guest takes ~30 s here; slow CI machines get ten times that


@dataclass(frozen=True)
class Machine:
    """What differs between guests: firmware, IOMMU, devices, kernel arguments."""
    firmware: str                 # "uefi" (OVMF) or "bios" (SeaBIOS)
    iommu: bool                   # emulated intel-iommu + intel_iommu=on
    devices: tuple[str, ...]      # extra qemu arguments (GPUs, bridges, audio)
    append: str = ""              # extra kernel arguments, e.g. vga=0x317
    memory_mib: int = 1024


@dataclass(frozen=True)
class Boot:
    """Everything a boot needs from the host side."""
    kernel: Kernel
    initramfs: Path
    java: str
    jar: Path
    device: str
    restore: bool
    raw_bind: bool
    raw_vt: bool
    cli: bool
    out_dir: Path
    holder: bool = False
    scan: bool = True
    extra: dict = field(default_factory=dict)


def command_line(m: Machine, b: Boot) -> list[str]:
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-smp", "1",
           "-m", str(m.memory_mib), "-display", "none", "-monitor", "none", "-no-reboot",
           "-nic", "none"]
    if m.iommu:
        # Must come before the other PCI devices. With TCG the irqchip is emulated in
        # qemu, so interrupt remapping needs no kernel-irqchip=split (that is for KVM).
        cmd += ["-device", "intel-iommu,intremap=on"]
    if m.firmware == "uefi":
        vars_copy = b.out_dir / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, vars_copy)
        cmd += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,file={vars_copy}"]
    elif m.firmware == "bios":
        cmd += ["-bios", str(SEABIOS)]
    else:
        raise ValueError(f"firmware must be uefi or bios, not {m.firmware!r}")
    cmd += list(m.devices)
    # no_timer_check: under TCG on a busy host the IO-APIC timer test can miss its window
    # and, with interrupt remapping on, the kernel panics ("timer doesn't work through
    # Interrupt-remapped IO-APIC"); seen here with two guests and a Maven build at once.
    append = ["console=tty0", "console=ttyS0,115200", "panic=-1", "no_timer_check", m.append,
              "intel_iommu=on" if m.iommu else "",
              f"gpupt.jar=/tmp/gpupt/{b.jar.name}", f"gpupt.java={b.java}", f"gpupt.device={b.device}",
              "gpupt.restore=1" if b.restore else "", "gpupt.rawbind=1" if b.raw_bind else "",
              "gpupt.rawvt=1" if b.raw_vt else "", "" if b.cli else "gpupt.cli=0",
              "gpupt.holder=1" if b.holder else "", "" if b.scan else "gpupt.scan=0"]
    cmd += ["-kernel", str(b.kernel.vmlinuz), "-initrd", str(b.initramfs),
            "-append", " ".join(a for a in append if a),
            # The host's / read-only: the guest runs the host's JDK and the jar from it.
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-virtfs", f"local,path={b.jar.parent},mount_tag=gpuptjar,security_model=none,readonly=on",
            # ttyS0: kernel console (for humans); ttyS1: marked result blocks (for us).
            "-serial", f"file:{b.out_dir / 'console.log'}",
            "-serial", f"file:{b.out_dir / 'results.raw'}"]
    return cmd


@dataclass(frozen=True)
class BootResult:
    completed: bool      # the guest printed its end marker
    seconds: float
    problem: str | None  # why it did not complete


def boot(m: Machine, b: Boot, timeout_s: int = BOOT_TIMEOUT_S) -> BootResult:
    shutil.rmtree(b.out_dir, ignore_errors=True)
    b.out_dir.mkdir(parents=True)
    cmd = command_line(m, b)
    (b.out_dir / "qemu.cmd").write_text(shlex.join(cmd) + "\n")
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout_s)
        qemu_problem = None if proc.returncode == 0 else \
            f"qemu exited {proc.returncode}: {proc.stderr.strip()[-500:]}"
    except subprocess.TimeoutExpired:
        qemu_problem = f"no power-off within {timeout_s} s (see {b.out_dir / 'console.log'})"
    seconds = time.monotonic() - t0
    raw = b.out_dir / "results.raw"
    done = split_results(raw.read_bytes(), b.out_dir) if raw.exists() else False
    fatal = (b.out_dir / "fatal").read_text().strip() if (b.out_dir / "fatal").exists() else None
    problem = fatal or qemu_problem or (None if done else "the guest did not print its end marker")
    return BootResult(done and problem is None, seconds, problem)
