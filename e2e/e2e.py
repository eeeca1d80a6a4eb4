#!/usr/bin/env python3
"""Real-kernel end-to-end test: boots Debian's kernel under qemu (TCG, no KVM) in each guest
configuration, runs the node CLI's scan / prepare / restore inside, and asserts what happened.

    e2e/run.sh                      # all guests, two at a time
    e2e/run.sh bios-vesafb          # one guest
    e2e/run.sh --list
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

import host  # noqa: E402
from capture import Capture  # noqa: E402
from guests import BY_NAME, GUESTS, Guest  # noqa: E402
from machine import BOOT_TIMEOUT_S, Boot, boot  # noqa: E402
from report import Report  # noqa: E402

CAPTURES = host.E2E_DIR / "captures"
# Copied to e2e/captures/<guest>/ by --save-captures: small text files showing real sysfs.
CAPTURE_FILES = re.compile(r"^(pci|pci-links|vtconsole|framebuffers|iomem|dev-vfio|sysfs)\.\w+$|"
                           r"^ioports\.before$|"
                           r"^(scan|prepare|restore|scan-held|restore-held|restore-blind)\.(out|err|rc)$|"
                           r"^(rawbind\.out|rawvt\.out|rawunbind\.(out|rc)|restore-blind\.(timing|tasks)|holder\.log|"
                           r"holder-\w+\.(ready|out)|dmesg\.(rawunbind|blind)|timings|uname|cmdline)$")
DMESG_KEEP = re.compile(r"Console|console|fb|vgaarb|vfio|VFIO|iommu|DMAR|snd_hda|Command line")


def run_guest(guest: Guest, kernel, initramfs, java, jar, timeout_s) -> Report:
    out_dir = kernel.work_dir / guest.name
    result = boot(guest.machine, Boot(kernel, initramfs, java, jar, guest.device, guest.restore,
                                      guest.raw_bind, guest.raw_vt, guest.cli, out_dir,
                                      holder=guest.holder, scan=guest.scan),
                  max(timeout_s, guest.timeout_s))
    report = Report(guest.name, dict(guest.known_failures))
    report.section(f"boot: {result.seconds:.0f} s, results in {out_dir}")
    if not report.check(result.completed, "guest booted, ran the CLI and powered off",
                        result.problem):
        return report
    timings = (out_dir / "timings").read_text().strip().replace("\n", "; ")
    report.note(f"guest timings: {timings}")
    guest.expect(Capture(out_dir), report)
    return report


def save_captures(guest: Guest, kernel, series: str | None) -> None:
    src = kernel.work_dir / guest.name
    dest = CAPTURES / guest.name / f"linux-{series}" if series else CAPTURES / guest.name
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        if CAPTURE_FILES.match(f.name):
            shutil.copyfile(f, dest / f.name)
    dmesg = src / "dmesg"
    if dmesg.exists():
        kept = [l for l in dmesg.read_text().splitlines() if DMESG_KEEP.search(l)]
        (dest / "dmesg.trimmed").write_text("".join(l + "\n" for l in kept))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("guests", nargs="*", help="guest names (default: all)")
    p.add_argument("--jobs", type=int, default=2, help="guests booted at once (default 2)")
    p.add_argument("--timeout", type=int, default=BOOT_TIMEOUT_S, help="seconds per guest")
    p.add_argument("--no-install", action="store_true", help="do not apt-get missing packages")
    p.add_argument("--no-build", action="store_true", help="do not build a missing jar")
    p.add_argument("--save-captures", action="store_true",
                   help=f"copy trimmed sysfs/iomem/dmesg captures to {CAPTURES}/<guest>/")
    p.add_argument("--kernel", metavar="SERIES",
                   help="boot the newest Debian 12 image of this series, e.g. 6.12 "
                        "(default: what linux-image-amd64 depends on, 6.1)")
    p.add_argument("--list", action="store_true", help="list the guests and exit")
    args = p.parse_args()
    if args.list:
        for g in GUESTS:
            print(f"{g.name:20} {g.description}")
        return 0
    unknown = [n for n in args.guests if n not in BY_NAME]
    if unknown:
        print(f"e2e: unknown guest(s) {unknown}; known: {', '.join(BY_NAME)}", file=sys.stderr)
        return 2
    selected = [BY_NAME[n] for n in args.guests] or GUESTS

    t0 = time.monotonic()
    try:
        host.ensure_packages(install=not args.no_install)
        kernel = host.fetch_kernel(args.kernel)
        initramfs = host.build_initramfs(kernel)
        java = host.java_binary()
        jar = host.ensure_jar(build=not args.no_build)
    except Exception as e:  # SetupError, or a failed apt-get / dpkg-deb / depmod: say which
        print(f"e2e: setup failed: {e}", file=sys.stderr)
        return 2
    host.log(f"kernel {kernel.package} ({kernel.release}), java {java}, jar {jar}; "
             f"{len(selected)} guest(s), {args.jobs} at a time, TCG (no KVM)")

    reports: list[Report] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [(g, pool.submit(run_guest, g, kernel, initramfs, java, jar, args.timeout))
                   for g in selected]
        for guest, future in futures:
            report = future.result()
            reports.append(report)
            print(f"\n== {guest.name}: {guest.description}")
            print("\n".join(report.lines), flush=True)
            if args.save_captures and (kernel.work_dir / guest.name / "timings").exists():
                save_captures(guest, kernel, args.kernel)

    total = time.monotonic() - t0
    print("\n== summary")
    failed = [r for r in reports if r.failed]
    for r in reports:
        known = f", {r.known} known failure(s) not counted" if r.known else ""
        print(f"  {'✗' if r.failed else '✓'} {r.guest:20} {r.passed} facts held, {r.failed} failed{known}")
    print(f"  total {total:.0f} s for {len(reports)} guest(s) (setup included)")
    print(f"e2e: {len(reports) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
