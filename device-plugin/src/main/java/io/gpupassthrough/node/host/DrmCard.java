package io.gpupassthrough.node.host;

import java.util.Optional;

/** {@code /sys/class/drm/cardN} and the last path element of its {@code device} link. */
public record DrmCard(String id, Optional<String> device) {}
