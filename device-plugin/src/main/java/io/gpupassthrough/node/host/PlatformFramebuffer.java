package io.gpupassthrough.node.host;

import java.util.Optional;

/**
 * A firmware framebuffer platform device under {@code /sys/bus/platform/devices} (efi-framebuffer.0,
 * vesa-framebuffer.0, simple-framebuffer.0, platform-framebuffer.0) and the driver bound to it.
 * {@code devicePath} is where its directory really lives, relative to the host root: under
 * {@code sys/devices/platform} on 6.1, under the GPU's PCI directory on 6.12 — so conflicts are
 * matched by /proc/iomem, never by this path.
 */
public record PlatformFramebuffer(String name, Optional<String> driver, String devicePath) {}
