#!/usr/bin/env python3
"""Holds a PCI device through VFIO the way QEMU does, until told to let go.

    vfio_holder.py GROUP ADDRESS READY_FILE RELEASE_FILE

Opens the container (/dev/vfio/vfio) and the group (/dev/vfio/GROUP), attaches the group to
the container (VFIO_GROUP_SET_CONTAINER), picks the type-1 IOMMU (VFIO_SET_IOMMU) and takes
the device fd (VFIO_GROUP_GET_DEVICE_FD): from then on the kernel counts the device as in
use. Like QEMU it registers an eventfd on the device's request IRQ (VFIO_PCI_REQ_IRQ_INDEX),
through which vfio-pci asks the user to give the device back when its driver is unbound.
Writes its pid, its fds and the device fd's fdinfo to READY_FILE, then waits until
RELEASE_FILE exists (counting the kernel's requests), prints "requests N", closes everything
and exits 0. Runs with the guest's python3 (the host's, over 9p); the ioctl numbers are
_IO(';', 100 + n) from <linux/vfio.h>.
"""
import fcntl
import os
import struct
import sys
import time

VFIO_TYPE = ord(";")
VFIO_GET_API_VERSION = (VFIO_TYPE << 8) | 100
VFIO_CHECK_EXTENSION = (VFIO_TYPE << 8) | 101
VFIO_SET_IOMMU = (VFIO_TYPE << 8) | 102
VFIO_GROUP_GET_STATUS = (VFIO_TYPE << 8) | 103
VFIO_GROUP_SET_CONTAINER = (VFIO_TYPE << 8) | 104
VFIO_GROUP_GET_DEVICE_FD = (VFIO_TYPE << 8) | 106
VFIO_DEVICE_SET_IRQS = (VFIO_TYPE << 8) | 110
VFIO_PCI_REQ_IRQ_INDEX = 4
VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2
VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5
VFIO_TYPE1_IOMMU = 1
VFIO_TYPE1v2_IOMMU = 3
VFIO_GROUP_FLAGS_VIABLE = 1


def main() -> int:
    group_no, address, ready, release = sys.argv[1:5]
    container = os.open("/dev/vfio/vfio", os.O_RDWR)
    api = fcntl.ioctl(container, VFIO_GET_API_VERSION)
    group = os.open(f"/dev/vfio/{group_no}", os.O_RDWR)
    status = bytearray(struct.pack("II", 8, 0))
    fcntl.ioctl(group, VFIO_GROUP_GET_STATUS, status, True)
    flags = struct.unpack("II", status)[1]
    if not flags & VFIO_GROUP_FLAGS_VIABLE:
        print(f"group {group_no} is not viable (flags {flags:#x}): a member is not on vfio-pci",
              file=sys.stderr)
        return 2
    fcntl.ioctl(group, VFIO_GROUP_SET_CONTAINER, bytearray(struct.pack("i", container)), True)
    iommu = VFIO_TYPE1v2_IOMMU if fcntl.ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) \
        else VFIO_TYPE1_IOMMU
    fcntl.ioctl(container, VFIO_SET_IOMMU, iommu)
    # A mutable buffer makes fcntl.ioctl return the syscall's result: here, the new fd.
    device = fcntl.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bytearray(address.encode() + b"\0"), True)
    request = os.eventfd(0, os.EFD_NONBLOCK)
    irq = struct.pack("IIIIIi", 24, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                      VFIO_PCI_REQ_IRQ_INDEX, 0, 1, request)
    try:
        fcntl.ioctl(device, VFIO_DEVICE_SET_IRQS, bytearray(irq), True)
        channel = f"request eventfd {request}"
    except OSError as e:
        channel = f"no request channel: VFIO_DEVICE_SET_IRQS failed: {e}"
    lines = [f"pid {os.getpid()}",
             f"api {api} iommu {iommu} container {container} group {group} device {device} {channel}"]
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            lines.append(f"fd {fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            pass
    with open(f"/proc/self/fdinfo/{device}") as info:
        lines += ["fdinfo " + line.rstrip("\n") for line in info]
    with open(ready + ".tmp", "w") as out:
        out.write("\n".join(lines) + "\n")
    os.rename(ready + ".tmp", ready)
    requests = 0
    while not os.path.exists(release):
        try:
            requests += os.eventfd_read(request)
        except BlockingIOError:
            pass
        time.sleep(0.2)
    print(f"requests {requests}", flush=True)
    os.close(device)
    os.close(group)
    os.close(container)
    return 0


if __name__ == "__main__":
    sys.exit(main())
