"""Host-side preparation: Debian packages, the Debian kernel, the jar and the initramfs.

Everything comes from Debian packages (and the project's own Maven build), so a clean
Debian 12 CI machine can run the e2e test with no other network access.
"""
from __future__ import annotations

import gzip
import lzma
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = E2E_DIR.parent
WORK_DIR = Path(os.environ.get("E2E_WORK", E2E_DIR / "work"))

# Debian package -> a file that proves it is installed.
PACKAGES = {
    "qemu-system-x86": "/usr/bin/qemu-system-x86_64",
    "ovmf": "/usr/share/OVMF/OVMF_CODE_4M.fd",
    "seabios": "/usr/share/seabios/bios.bin",
    "busybox-static": "/bin/busybox",
    "cpio": "/usr/bin/cpio",
    "kmod": "/usr/bin/kmod",
}
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
SEABIOS = Path("/usr/share/seabios/bios.bin")
BUSYBOX = Path("/bin/busybox")
DEFAULT_JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
JAR = REPO_DIR / "device-plugin/target/gpupt-node.jar"

# Modules the guest loads at boot; their dependencies are resolved from the kernel's
# modules.dep. 9p + virtio share the host's root; vfio-pci is what prepare binds to;
# snd-hda-intel gives the GPU's audio companion a real original driver.
# vfio_iommu_type1 backs VFIO_SET_IOMMU for the vfio-holder guest's process (no modprobe in the guest).
GUEST_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "vfio-pci", "vfio_iommu_type1",
                 "snd-hda-intel", "snd-hda-codec-generic"]


class SetupError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"e2e: {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def sbin_tool(name: str) -> str:
    """depmod / modprobe live in /usr/sbin, which a non-login PATH may lack."""
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if not found:
        raise SetupError(f"{name} not found (Debian package kmod)")
    return found


def ensure_packages(install: bool) -> None:
    missing = [pkg for pkg, probe in PACKAGES.items() if not Path(probe).exists()]
    if not missing:
        return
    if not install or os.geteuid() != 0:
        raise SetupError(f"missing Debian packages {missing}: install them "
                         f"(apt-get install -y {' '.join(missing)}) or run as root without --no-install")
    log(f"installing {' '.join(missing)} (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env,
        stdout=subprocess.DEVNULL)


@dataclass(frozen=True)
class Kernel:
    package: str
    release: str      # uname -r, e.g. 6.1.0-56-amd64
    root: Path        # the unpacked package

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def work_dir(self) -> Path:
        """Per-kernel outputs: initramfs and guest results (e2e/work/<release>/)."""
        return WORK_DIR / self.release

    @property
    def modules_dir(self) -> Path:
        return self.root / "lib/modules" / self.release


def kernel_package(series: str | None = None) -> str:
    """The package Debian's linux-image-amd64 currently points at, or the newest image of a
    series such as 6.12 (Debian 12 carries linux-image-6.12.N+deb12-amd64-unsigned too).
    E2E_KERNEL_PACKAGE overrides both."""
    if os.environ.get("E2E_KERNEL_PACKAGE"):
        return os.environ["E2E_KERNEL_PACKAGE"]
    if series:
        out = subprocess.run(["apt-cache", "search", "--names-only",
                              rf"^linux-image-{re.escape(series)}\.[0-9]+\+deb[0-9]+-amd64-unsigned$"],
                             capture_output=True, text=True).stdout
        names = [line.split()[0] for line in out.splitlines() if line.strip()]
        if not names:
            raise SetupError(f"no Debian package linux-image-{series}.N+debNN-amd64-unsigned "
                             f"(apt-get update? known series here: 6.1 by default, 6.12)")
        return max(names, key=lambda n: [int(x) for x in re.findall(r"\d+", n)])
    for attempt in (1, 2):
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("Depends: linux-image-"):
                return line.split()[1]
        if attempt == 1 and os.geteuid() == 0:  # a clean machine has no package lists yet
            run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL)
    raise SetupError("apt-cache depends linux-image-amd64 names no kernel image "
                     "(run apt-get update, or set E2E_KERNEL_PACKAGE=linux-image-6.1.0-NN-amd64)")


def fetch_kernel(series: str | None = None) -> Kernel:
    package = kernel_package(series)
    release = package.removeprefix("linux-image-").removesuffix("-unsigned")
    root = WORK_DIR / "kernel" / package
    kernel = Kernel(package, release, root)
    if kernel.vmlinuz.exists() and (kernel.modules_dir / "modules.dep").exists():
        return kernel
    log(f"fetching {package} (apt-get download + dpkg-deb -x)")
    download = WORK_DIR / "kernel" / "deb"
    shutil.rmtree(download, ignore_errors=True)
    download.mkdir(parents=True)
    run(["apt-get", "download", package], cwd=download, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    debs = list(download.glob("*.deb"))
    if len(debs) != 1:
        raise SetupError(f"apt-get download {package} left {debs} in {download}")
    shutil.rmtree(root, ignore_errors=True)
    run(["dpkg-deb", "-x", str(debs[0]), str(root)])
    # The package ships no modules.dep (its postinst runs depmod); make it here.
    run([sbin_tool("depmod"), "-b", str(root), release])
    shutil.rmtree(download)
    return kernel


def module_load_order(kernel: Kernel) -> list[Path]:
    """Module files (relative to the modules dir) in load order, each once."""
    order: list[Path] = []
    for module in GUEST_MODULES:
        out = subprocess.run([sbin_tool("modprobe"), "-d", str(kernel.root), "-S", kernel.release,
                              "--show-depends", module], check=True, capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            if not line.startswith("insmod "):
                continue  # "builtin ..." lines
            path = Path(line.split()[1]).relative_to(kernel.modules_dir)
            if path not in order:
                order.append(path)
    return order


def ensure_jar(build: bool) -> Path:
    if JAR.exists():
        return JAR
    if not build:
        raise SetupError(f"{JAR} is missing: build it with ./mvnw -B -pl device-plugin -am package -DskipTests")
    log("building the node CLI jar (./mvnw package -DskipTests)")
    run(["./mvnw", "-B", "-q", "-pl", "device-plugin", "-am", "package", "-DskipTests"], cwd=REPO_DIR)
    if not JAR.exists():
        raise SetupError(f"the Maven build did not produce {JAR}")
    return JAR


def build_initramfs(kernel: Kernel) -> Path:
    """busybox + the modules + /init, as a gzip'd newc cpio (the kernel unpacks it itself)."""
    tree = kernel.work_dir / "initramfs"
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("bin", "proc", "sys", "dev", "host", "out", "lib/modules"):
        (tree / d).mkdir(parents=True)
    shutil.copy2(BUSYBOX, tree / "bin/busybox")
    (tree / "bin/sh").symlink_to("busybox")
    shutil.copy2(E2E_DIR / "guest/init", tree / "init")
    shutil.copy2(E2E_DIR / "guest/vfio_holder.py", tree / "vfio_holder.py")
    names = []
    for rel in module_load_order(kernel):
        # Newer Debian kernels ship .ko.xz; busybox insmod wants plain .ko.
        name = rel.with_suffix("") if rel.suffix == ".xz" else rel
        dest = tree / "lib/modules" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        data = (kernel.modules_dir / rel).read_bytes()
        dest.write_bytes(lzma.decompress(data) if rel.suffix == ".xz" else data)
        names.append(name)
    (tree / "modules.order").write_text("".join(f"{n}\n" for n in names))
    files = subprocess.run(["find", ".", "-mindepth", "1"], cwd=tree, check=True,
                           capture_output=True, text=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=tree,
                          input=files.encode(), check=True, capture_output=True).stdout
    image = kernel.work_dir / "initramfs.cpio.gz"
    image.write_bytes(gzip.compress(cpio, compresslevel=6))
    return image


def java_binary() -> str:
    home = os.environ.get("E2E_JAVA_HOME", DEFAULT_JAVA_HOME)
    java = Path(home) / "bin/java"
    if not java.exists():
        raise SetupError(f"{java} not found: the guest runs the host's JDK 17 over 9p "
                         f"(set E2E_JAVA_HOME to a JDK 17+ home)")
    return str(java.resolve())


if __name__ == "__main__":
    ensure_packages(install=True)
    k = fetch_kernel()
    print(k, build_initramfs(k), java_binary(), file=sys.stderr)
