"""The guests: one machine each, and the facts asserted about what happened inside it.

Addresses are fixed by the qemu command lines below: on q35 `-vga std` is 0000:00:01.0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from capture import Capture
from facts import (FBCON, VGACON, cli_ran, console_kept, console_released, kernel_console_facts,
                   no_iommu_facts, prepared, raw_bind_facts, vgacon_kernel_facts, restored, scan_device,
                   scan_has_conflict)
from machine import Machine
from report import Report

PRIMARY = "0000:00:01.0"
SECONDARY = "0000:00:05.0"          # secondary-vga on the root bus
BRIDGED_GPU = "0000:02:01.0"        # secondary-vga behind the pcie-pci-bridge
BRIDGED_AUDIO = "0000:02:02.0"      # ich9-intel-hda behind the same bridge
BRIDGE = "0000:01:00.0"             # the pcie-pci-bridge (in the root port 00:06.0)


@dataclass(frozen=True)
class Guest:
    name: str
    description: str
    machine: Machine
    device: str                                  # what prepare selects (--device)
    expect: Callable[[Capture, Report], None]
    restore: bool = True
    raw_bind: bool = False   # end with a hand-made vfio bind (kernel facts)
    raw_vt: bool = False     # end with hand-made vtconsole unbinds (kernel facts)
    cli: bool = True         # False: the guest only records kernel facts
    # Facts (exact text) that fail for a known, reported reason: shown as ✗ with the reason
    # but not counted; every other fact of the guest still counts.
    known_failures: tuple[tuple[str, str], ...] = ()


def uefi_efifb(c: Capture, r: Report) -> None:
    kernel_console_facts(c, r, PRIMARY, framebuffer="efifb", platform="efi-framebuffer.0",
                         platform_driver="efi-framebuffer", whole_bar=False)
    cli_ran(c, r)
    scan_device(c, r, PRIMARY, pci_class="030000", boot_vga=True, iommu=True)
    scan_has_conflict(c, r, PRIMARY, "framebuffer", "efi-framebuffer.0", iomem_name="efifb")
    scan_has_conflict(c, r, PRIMARY, "vtconsole", "vtcon1")
    prepared(c, r, PRIMARY, members=[PRIMARY])
    console_released(c, r, platform="efi-framebuffer.0", framebuffer="efifb", fbcon=True)
    restored(c, r, {PRIMARY: None}, console=FBCON, platform="efi-framebuffer.0")


def bios_vesafb(c: Capture, r: Report) -> None:
    kernel_console_facts(c, r, PRIMARY, framebuffer="vesafb", platform="vesa-framebuffer.0",
                         platform_driver="vesa-framebuffer", whole_bar=True)
    cli_ran(c, r)
    scan_device(c, r, PRIMARY, pci_class="030000", boot_vga=True, iommu=True)
    scan_has_conflict(c, r, PRIMARY, "framebuffer", "vesa-framebuffer.0", iomem_name="vesafb")
    scan_has_conflict(c, r, PRIMARY, "vtconsole", "vtcon1")
    prepared(c, r, PRIMARY, members=[PRIMARY])
    console_released(c, r, platform="vesa-framebuffer.0", framebuffer="vesafb", fbcon=True)
    restored(c, r, {PRIMARY: None}, console=FBCON, platform="vesa-framebuffer.0")


def bios_vgacon(c: Capture, r: Report) -> None:
    # The driverless firmware framebuffer device is platform-framebuffer.0 on 6.1 and
    # vga-framebuffer.0 on 6.12 (both seen on Debian's kernels).
    kernel_console_facts(c, r, PRIMARY, framebuffer=None,
                         platform=("platform-framebuffer.0", "vga-framebuffer.0"),
                         platform_driver=None, whole_bar=False)
    cli_ran(c, r)
    scan_device(c, r, PRIMARY, pci_class="030000", boot_vga=True, iommu=True)
    scan_has_conflict(c, r, PRIMARY, "vgacon", None)
    prepared(c, r, PRIMARY, members=[PRIMARY])
    console_released(c, r, platform=None, framebuffer=None, fbcon=False, vgacon=True)
    restored(c, r, {PRIMARY: None}, console=VGACON)


def bios_vgacon_kernel(c: Capture, r: Report) -> None:
    vgacon_kernel_facts(c, r, PRIMARY)


def dual_gpu_secondary(c: Capture, r: Report) -> None:
    kernel_console_facts(c, r, PRIMARY, framebuffer="efifb", platform="efi-framebuffer.0",
                         platform_driver="efi-framebuffer", whole_bar=False)
    cli_ran(c, r)
    scan_device(c, r, PRIMARY, pci_class="030000", boot_vga=True, iommu=True)
    scan_device(c, r, SECONDARY, pci_class="038000", boot_vga=False, iommu=True)
    scan_has_conflict(c, r, PRIMARY, "framebuffer", "efi-framebuffer.0", iomem_name="efifb")
    scan_has_conflict(c, r, SECONDARY, None, None)
    prepared(c, r, SECONDARY, members=[SECONDARY], untouched=[PRIMARY])
    console_kept(c, r, platform="efi-framebuffer.0", platform_driver="efi-framebuffer",
                 framebuffer="efifb", fbcon=True)
    restored(c, r, {SECONDARY: None})


def gpu_audio_group(c: Capture, r: Report) -> None:
    r.section("kernel at boot")
    pci = c.pci("before")
    groups = {a: pci[a].iommu_group if a in pci else None for a in (BRIDGE, BRIDGED_GPU, BRIDGED_AUDIO)}
    r.check(None not in groups.values() and len(set(groups.values())) == 1,
            "bridge, GPU and audio share one IOMMU group", groups)
    r.check(BRIDGED_AUDIO in pci and pci[BRIDGED_AUDIO].driver == "snd_hda_intel",
            f"{BRIDGED_AUDIO} is bound to snd_hda_intel",
            pci[BRIDGED_AUDIO].driver if BRIDGED_AUDIO in pci else "absent")
    cli_ran(c, r)
    scan_device(c, r, BRIDGED_GPU, pci_class="038000", boot_vga=False, iommu=True,
                companions=[BRIDGED_AUDIO], not_companions=[BRIDGE])
    prepared(c, r, BRIDGED_GPU, members=[BRIDGED_GPU, BRIDGED_AUDIO], bridges=[BRIDGE],
             untouched=[PRIMARY])
    console_kept(c, r, platform=None, platform_driver=None, framebuffer=None, fbcon=False,
                 vgacon=True)
    restored(c, r, {BRIDGED_GPU: None, BRIDGED_AUDIO: "snd_hda_intel"})


def no_iommu(c: Capture, r: Report) -> None:
    kernel_console_facts(c, r, PRIMARY, framebuffer="efifb", platform="efi-framebuffer.0",
                         platform_driver="efi-framebuffer", whole_bar=False)
    cli_ran(c, r, prepare_must_succeed=False)
    scan_device(c, r, PRIMARY, pci_class="030000", boot_vga=True, iommu=False)
    no_iommu_facts(c, r, PRIMARY, platform="efi-framebuffer.0", platform_driver="efi-framebuffer")
    raw_bind_facts(c, r, PRIMARY, platform="efi-framebuffer.0")


STD_VGA = ("-vga", "std")
AUDIO_GROUP = ("-device", "pcie-root-port,id=rp1,bus=pcie.0,addr=0x6,chassis=1",
               "-device", "pcie-pci-bridge,id=br1,bus=rp1",
               "-device", "secondary-vga,bus=br1,addr=0x1",
               "-device", "ich9-intel-hda,id=hda,bus=br1,addr=0x2",
               "-device", "hda-duplex,bus=hda.0")

GUESTS = [
    Guest("uefi-efifb", "OVMF: efifb on the std VGA's BAR0, fbcon on vtcon1",
          Machine("uefi", True, STD_VGA), PRIMARY, uefi_efifb),
    Guest("bios-vesafb", "SeaBIOS + vga=0x317: vesafb over the whole BAR0, fbcon on vtcon1",
          Machine("bios", True, STD_VGA, append="vga=0x317"), PRIMARY, bios_vesafb),
    Guest("bios-vgacon", "SeaBIOS, no vga=: vgacon on the legacy VGA range, no framebuffer driver",
          Machine("bios", True, STD_VGA), PRIMARY, bios_vgacon),
    Guest("bios-vgacon-kernel", "SeaBIOS, no vga=, no CLI: what the kernel does with a vgacon "
          "unbind and a vfio-pci bind done by hand",
          Machine("bios", True, STD_VGA), PRIMARY, bios_vgacon_kernel, cli=False, raw_vt=True,
          raw_bind=True),
    Guest("dual-gpu-secondary", "OVMF, std VGA (efifb) + secondary-vga: prepare the secondary only",
          Machine("uefi", True, STD_VGA + ("-device", f"secondary-vga,bus=pcie.0,addr=0x5"))
          , SECONDARY, dual_gpu_secondary),
    Guest("gpu-audio-group", "SeaBIOS, std VGA + secondary-vga and HDA audio behind a "
          "pcie-pci-bridge: one IOMMU group with the bridge",
          Machine("bios", True, STD_VGA + AUDIO_GROUP), BRIDGED_GPU, gpu_audio_group),
    Guest("no-iommu", "OVMF without intel-iommu: prepare must fail with NoIommu",
          Machine("uefi", False, STD_VGA), PRIMARY, no_iommu, restore=False, raw_bind=True),
]
BY_NAME = {g.name: g for g in GUESTS}
