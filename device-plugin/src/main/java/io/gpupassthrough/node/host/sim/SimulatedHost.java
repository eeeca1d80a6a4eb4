package io.gpupassthrough.node.host.sim;

import java.nio.file.Path;

/** A host root written by {@link SimulatedHostBuilder} and the simulated kernel that owns it. */
public record SimulatedHost(Path root, SimulatedKernel kernel) {}
