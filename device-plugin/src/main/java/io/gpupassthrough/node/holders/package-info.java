/**
 * Who holds a device: the kubelet's PodResources API (which container each device ID is
 * allocated to) and the host's {@code /proc/<pid>/fd} (which processes have the device's files
 * open). Parsing is pure ({@link io.gpupassthrough.node.holders.ProcFormats},
 * {@link io.gpupassthrough.node.holders.DeviceNodes}, {@link io.gpupassthrough.node.holders.PodAllocations});
 * the I/O classes read through the host root or the kubelet's socket. Never used on the
 * {@code Allocate} path: a scan reads every process's open files.
 */
package io.gpupassthrough.node.holders;
