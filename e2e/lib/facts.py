"""Facts asserted about a guest run. Each check prints what the real kernel showed.

Phases are the guest's snapshots: before (boot state), after (prepare), restored
(restore), rawbind (a hand-made vfio bind, no-iommu guest only).
"""
from __future__ import annotations

from capture import Capture, IomemRange
from report import Report

FBCON = "(M) frame buffer device"
VGACON = "(S) VGA+"


def _hex(value) -> str | None:
    return None if value is None else str(value).lower().removeprefix("0x")


def _as_int(hex_text) -> int | None:
    try:
        return int(str(hex_text), 16)
    except ValueError:
        return None


def bar0(c: Capture, phase: str, gpu: str) -> IomemRange | None:
    """The GPU's largest memory range in /proc/iomem: BAR0, the VRAM of qemu's VGA devices."""
    ranges = [r for r in c.iomem(phase) if r.name == gpu]
    return max(ranges, key=lambda r: r.end - r.start, default=None)


def _fmt(r: IomemRange | None) -> str:
    return "none" if r is None else f"{r.start:x}-{r.end:x} {r.name}"


def _bound(c: Capture, phase: str, description: str) -> list[str]:
    return [v.name for v in c.vtconsoles(phase).values() if v.bound and v.description == description]


def kernel_console_facts(c: Capture, r: Report, gpu: str, framebuffer: str | None,
                         platform: str | tuple[str, ...], platform_driver: str | None,
                         whole_bar: bool) -> None:
    r.section("kernel at boot")
    bar = bar0(c, "before", gpu)
    r.check(bar is not None, f"{gpu} BAR0 is in /proc/iomem", _fmt(bar))
    if framebuffer:
        fb = next(iter(c.iomem_named("before", framebuffer)), None)
        r.check(fb is not None and fb.parent is not None and fb.parent.name == gpu,
                f"'{framebuffer}' is nested under {gpu}'s BAR0 in /proc/iomem", _fmt(fb))
        if whole_bar:
            r.check(fb is not None and bar is not None and (fb.start, fb.end) == (bar.start, bar.end),
                    f"{framebuffer} covers the whole BAR0", f"{_fmt(fb)} vs {_fmt(bar)}")
        r.check(FBCON in [v.description for v in c.vtconsoles("before").values() if v.bound],
                "fbcon is bound to a VT console", c.text("vtconsole.before").strip())
    else:
        r.check(not c.fbdevs("before"), "no framebuffer device (/sys/class/graphics/fb*)",
                c.fbdevs("before"))
        r.check(bool(_bound(c, "before", VGACON)), "vgacon ('(S) VGA+') is the bound VT console",
                c.text("vtconsole.before").strip())
    drivers = c.platform_framebuffers("before")
    names = (platform,) if isinstance(platform, str) else platform
    found = [n for n in names if n in drivers]
    r.check(bool(found) and drivers[found[0]] == platform_driver,
            f"platform device {' or '.join(names)} exists, driver {platform_driver or 'none'}",
            drivers)
    for name in found:
        path = c.platform_framebuffer_paths("before")[name]
        r.note(f"{name} lives at {path} (match framebuffers by /proc/iomem, not by sysfs parent)")


def cli_ran(c: Capture, r: Report, prepare_must_succeed: bool = True) -> None:
    r.section("node CLI in the guest")
    r.check(c.rc("scan") == 0, "scan --output json exits 0", c.rc("scan"))
    r.check(c.json("scan") is not None and isinstance(c.json("scan").get("devices"), list),
            "scan prints one JSON object with a devices array",
            None if c.json("scan") else (c.text("scan.err") or "").strip()[:300])
    rc = c.rc("prepare")
    if prepare_must_succeed:
        r.check(rc == 0, "prepare exits 0", rc)
    else:
        r.check(rc not in (0, None), "prepare exits non-zero", rc)
    prepare = c.json("prepare") or {}
    for device in prepare.get("devices", []) if isinstance(prepare, dict) else []:
        steps = "; ".join(f"{s.get('action')}: {s.get('status')}" for s in device.get("steps") or [])
        r.note(f"prepare {device.get('address')}: {device.get('result')} "
               f"{device.get('reason') or ''} [{steps}]".replace("  ", " "))
    if rc not in (0, None) and (c.text("prepare.err") or "").strip():
        r.note("prepare stderr: " + (c.text("prepare.err") or "").strip()[:400].replace("\n", " | "))


def _scan_device(c: Capture, address: str) -> dict | None:
    scan = c.json("scan") or {}
    return next((d for d in scan.get("devices", []) if d.get("address") == address), None)


def scan_device(c: Capture, r: Report, address: str, pci_class: str, boot_vga: bool,
                iommu: bool, companions: list[str] = (), not_companions: list[str] = ()) -> None:
    d = _scan_device(c, address)
    if not r.check(d is not None, f"scan lists {address}"):
        return
    row = c.pci("before")[address]
    r.check(_hex(d.get("class")) == pci_class, f"scan: {address} class {pci_class}", d.get("class"))
    r.check(d.get("bootVga") is boot_vga, f"scan: {address} bootVga {str(boot_vga).lower()}",
            d.get("bootVga"))
    if iommu:
        r.check(d.get("iommuGroup") is not None and str(d.get("iommuGroup")) == row.iommu_group,
                f"scan: {address} iommuGroup = kernel's group {row.iommu_group}", d.get("iommuGroup"))
    else:
        r.check(d.get("iommuGroup") is None, f"scan: {address} iommuGroup null", d.get("iommuGroup"))
    for companion in companions:
        r.check(companion in (d.get("companions") or []),
                f"scan: {companion} is a companion of {address}", d.get("companions"))
    # Companions are what goes to vfio-pci with the GPU (DESIGN §7): a bridge in the group is not.
    for other in not_companions:
        r.check(other not in (d.get("companions") or []) and other in (d.get("iommuGroupMembers") or []),
                f"scan: {other} is in {address}'s IOMMU group but not a companion",
                {"companions": d.get("companions"), "iommuGroupMembers": d.get("iommuGroupMembers")})


def scan_has_conflict(c: Capture, r: Report, address: str, kind: str | None, name: str | None,
                      iomem_name: str | None = None) -> None:
    d = _scan_device(c, address) or {}
    conflicts = d.get("conflicts") or []
    if kind is None:
        r.check(d != {} and conflicts == [], f"scan: {address} has no console conflicts", conflicts)
        return
    match = [x for x in conflicts if x.get("kind") == kind and (name is None or x.get("name") == name)]
    r.check(bool(match), f"scan: {address} conflict {kind} {name or ''}".rstrip(), conflicts)
    if match and iomem_name:
        fb = next(iter(c.iomem_named("before", iomem_name)), None)
        got = (match[0].get("start"), match[0].get("end"))
        r.check(fb is not None and _as_int(got[0]) == fb.start and _as_int(got[1]) == fb.end,
                f"scan: the {kind} conflict's range is the kernel's '{iomem_name}' iomem range",
                f"{got} vs {_fmt(fb)}")


def prepared(c: Capture, r: Report, gpu: str, members: list[str], bridges: list[str] = (),
             untouched: list[str] = ()) -> None:
    r.section("after prepare")
    before, after = c.pci("before"), c.pci("after")
    for m in members:
        r.check(m in after and after[m].driver == "vfio-pci", f"{m} driver link is vfio-pci",
                after[m].driver if m in after else "gone")
    group = before[gpu].iommu_group if gpu in before else None
    r.check(group is not None and group in c.dev_vfio("after"), f"/dev/vfio/{group} exists",
            c.dev_vfio("after"))
    for b in bridges:
        r.check(after[b].driver == before[b].driver and after[b].driver_override is None,
                f"bridge {b} (same IOMMU group) not bound, no driver_override",
                f"driver={after[b].driver} override={after[b].driver_override}")
    for u in untouched:
        r.check(after[u].driver == before[u].driver and after[u].driver_override is None,
                f"{u} untouched (driver {before[u].driver or 'none'})",
                f"driver={after[u].driver} override={after[u].driver_override}")
    for line in c.dmesg_lines(r"vgaarb: deactivate vga console", r"vfio-pci .*vgaarb", r"vfio.*fail"):
        r.note("dmesg: " + line)


def console_released(c: Capture, r: Report, platform: str | None, framebuffer: str | None,
                     fbcon: bool, vgacon: bool = False) -> None:
    if platform:
        after = c.platform_framebuffers("after")
        r.check(after.get(platform) is None,
                f"{platform} released (unbound or removed)",
                after.get(platform, "device removed") or "unbound")
    if framebuffer:
        r.check(not c.iomem_named("after", framebuffer),
                f"'{framebuffer}' no longer in /proc/iomem", [_fmt(x) for x in c.iomem_named("after", framebuffer)])
    if fbcon:
        r.check(not _bound(c, "after", FBCON), "no VT console bound to fbcon",
                c.text("vtconsole.after").strip())
    if vgacon:
        r.check(not _bound(c, "after", VGACON), "vgacon no longer bound",
                c.text("vtconsole.after").strip())


def console_kept(c: Capture, r: Report, platform: str | None, platform_driver: str | None,
                 framebuffer: str | None, fbcon: bool, vgacon: bool = False) -> None:
    r.section("primary console after prepare")
    if platform:
        r.check(c.platform_framebuffers("after").get(platform) == platform_driver,
                f"{platform} still bound to {platform_driver}", c.platform_framebuffers("after"))
    if framebuffer:
        r.check(bool(c.iomem_named("after", framebuffer)), f"'{framebuffer}' still in /proc/iomem")
    if fbcon:
        r.check(bool(_bound(c, "after", FBCON)), "fbcon still bound to its VT console",
                c.text("vtconsole.after").strip())
    if vgacon:
        r.check(bool(_bound(c, "after", VGACON)), "vgacon still bound",
                c.text("vtconsole.after").strip())


def restored(c: Capture, r: Report, originals: dict[str, str | None],
             console: str | None = None, platform: str | None = None) -> None:
    """console / platform: what prepare detached (fbcon or vgacon description, platform
    framebuffer device). When the kernel cannot give it back, restore must say so."""
    r.section("after restore")
    missing = []
    if console and not _bound(c, "restored", console):
        missing.append("vtcon")
    if platform and not c.platform_framebuffers("restored").get(platform):
        missing.append(platform)
    rc = c.rc("restore")
    if not missing:
        r.check(rc == 0, "restore exits 0 (everything it detached is back)", rc)
    else:
        output = (c.text("restore.out") or "") + (c.text("restore.err") or "")
        r.note(f"kernel: the detached console did not come back ({', '.join(missing)}): "
               f"binding the boot VGA to vfio-pci unregistered the firmware framebuffer")
        r.check(rc not in (0, None) and all(m in output for m in missing),
                "restore exits non-zero and names what it could not bring back",
                f"exit {rc}: {output.strip()[:200]}")
    after = c.pci("restored")
    for address, driver in originals.items():
        got = after[address].driver if address in after else "gone"
        r.check(got == driver, f"{address} back on {driver or 'no driver'}", got)
        r.check(address in after and after[address].driver_override is None,
                f"{address} driver_override cleared",
                after[address].driver_override if address in after else "gone")
    groups = {c.pci("before")[a].iommu_group for a in originals}
    r.check(not groups & set(c.dev_vfio("restored")), f"/dev/vfio/{'/'.join(sorted(groups))} gone",
            c.dev_vfio("restored"))
    r.note("consoles after restore: " + (c.text("vtconsole.restored") or "").strip().replace("\n", "; ")
           + " | platform framebuffers: " + str(c.platform_framebuffers("restored")))


def no_iommu_facts(c: Capture, r: Report, gpu: str, platform: str, platform_driver: str) -> None:
    r.check(c.pci("before")[gpu].iommu_group is None, f"kernel: {gpu} has no iommu_group link")
    d = _scan_device(c, gpu) or {}
    r.check(d.get("advertisable") is False, f"scan: {gpu} advertisable false", d.get("advertisable"))
    r.check(d.get("reason") == "NoIommu", f"scan: {gpu} reason NoIommu", d.get("reason"))
    output = (c.text("prepare.out") or "") + (c.text("prepare.err") or "")
    r.check("NoIommu" in output, "prepare reports NoIommu", output.strip()[:300])
    after = c.pci("after")[gpu]
    r.check(after.driver is None, f"{gpu} not bound to any driver", after.driver)
    r.check(not [n for n in c.dev_vfio("after") if n.isdigit()], "no /dev/vfio group node",
            c.dev_vfio("after"))
    r.section("host left as it was")
    r.check(after.driver_override is None, f"{gpu} driver_override not left set", after.driver_override)
    r.check(c.platform_framebuffers("after").get(platform) == platform_driver,
            f"{platform} still bound to {platform_driver}", c.platform_framebuffers("after"))
    r.check(bool(_bound(c, "after", FBCON)), "fbcon still bound to its VT console",
            c.text("vtconsole.after").strip())


def raw_bind_facts(c: Capture, r: Report, gpu: str, platform: str) -> None:
    r.section("kernel, bound by hand without an IOMMU (driver_override + drivers_probe)")
    out = c.text("rawbind.out") or ""
    r.check("write drivers_probe exit 0" in out, "the kernel accepts the drivers_probe write",
            out.strip().replace("\n", "; "))
    # 6.1: "vfio-pci: probe of ADDR failed ..."; 6.12: "vfio-pci ADDR: probe with driver vfio-pci failed ..."
    probe = c.dmesg_lines(rf"(probe of {gpu}|{gpu}: probe with driver vfio-pci) failed with error -22")
    r.check(bool(probe), "dmesg: vfio-pci probe failed with error -22", probe[:1])
    r.check(c.pci("rawbind")[gpu].driver is None, f"{gpu} has no driver afterwards",
            c.pci("rawbind")[gpu].driver)
    r.check(c.platform_framebuffers("rawbind").get(platform) is None and not _bound(c, "rawbind", FBCON),
            f"the console is gone anyway ({platform} released, fbcon unbound)",
            f"{c.platform_framebuffers('rawbind')}; {(c.text('vtconsole.rawbind') or '').strip()}")


def vgacon_kernel_facts(c: Capture, r: Report, gpu: str) -> None:
    r.section("kernel, by hand: unbind vgacon, then bind the boot VGA to vfio-pci")
    r.check(bool(_bound(c, "before", VGACON)), "vgacon ('(S) VGA+') is bound at boot",
            (c.text("vtconsole.before") or "").strip())
    out = (c.text("rawvt.out") or "").strip()
    r.check("VGA+) exit 0" in out, "the kernel accepts 'echo 0 > vtconN/bind' for vgacon", out)
    r.check(bool(_bound(c, "rawvt", VGACON)),
            "…but vgacon stays bound (it is the only console driver; the write is a silent no-op)",
            (c.text("vtconsole.rawvt") or "").strip())
    r.check(c.pci("rawbind")[gpu].driver == "vfio-pci", f"{gpu} binds to vfio-pci",
            c.pci("rawbind")[gpu].driver)
    deactivate = c.dmesg_lines(rf"{gpu}: vgaarb: deactivate vga console")
    r.check(bool(deactivate), "dmesg: vgaarb: deactivate vga console", deactivate[:1])
    r.check(not _bound(c, "rawbind", VGACON), "vfio-pci's bind itself released vgacon",
            (c.text("vtconsole.rawbind") or "").strip())
    r.note("platform framebuffers after the bind: " + str(c.platform_framebuffers("rawbind")))
