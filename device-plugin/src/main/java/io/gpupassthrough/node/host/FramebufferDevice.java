package io.gpupassthrough.node.host;

import java.util.Optional;

/**
 * {@code /sys/class/graphics/fbN}: {@code device} is the last path element of its {@code device}
 * link (a platform device name such as efi-framebuffer.0 or a PCI address), empty for fbcon itself.
 */
public record FramebufferDevice(String id, Optional<String> fbName, Optional<String> device) {}
