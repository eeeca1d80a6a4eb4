package io.gpupassthrough.node.vfio;

/** One thing {@code restore} (or a rollback) put back, or could not: a PCI function, fb or VT. */
public record RestoreItem(String name, boolean restored, String message) {}
