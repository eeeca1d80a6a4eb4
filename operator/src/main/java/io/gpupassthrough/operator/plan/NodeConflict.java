package io.gpupassthrough.operator.plan;

/** On {@code node}, an older resource ({@code winner}) already claims devices this one selects. */
public record NodeConflict(String node, String winner) {}
