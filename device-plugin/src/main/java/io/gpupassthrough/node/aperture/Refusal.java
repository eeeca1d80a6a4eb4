package io.gpupassthrough.node.aperture;

import io.gpupassthrough.api.v1alpha1.Reason;

/** Why a GPU will not be prepared: a machine-readable reason and a message saying what to do. */
public record Refusal(Reason reason, String message) {}
