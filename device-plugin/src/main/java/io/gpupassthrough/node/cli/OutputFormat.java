package io.gpupassthrough.node.cli;

/** {@code --output}: a table for people, JSON for scripts and the e2e test. */
public enum OutputFormat {
  table,
  json
}
