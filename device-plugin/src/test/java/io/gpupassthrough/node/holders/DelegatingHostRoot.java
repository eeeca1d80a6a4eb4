package io.gpupassthrough.node.holders;

import io.gpupassthrough.node.host.HostRoot;
import io.gpupassthrough.node.host.SysfsPaths;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** A host root that passes everything through, for tests that make one call fail like the kernel would. */
class DelegatingHostRoot implements HostRoot {
  private final HostRoot host;

  DelegatingHostRoot(HostRoot host) {
    this.host = host;
  }

  @Override
  public SysfsPaths paths() {
    return host.paths();
  }

  @Override
  public String read(Path file) {
    return host.read(file);
  }

  @Override
  public Optional<String> readIfPresent(Path file) {
    return host.readIfPresent(file);
  }

  @Override
  public List<String> readLines(Path file) {
    return host.readLines(file);
  }

  @Override
  public Optional<String> linkTarget(Path link) {
    return host.linkTarget(link);
  }

  @Override
  public Optional<String> linkName(Path link) {
    return host.linkName(link);
  }

  @Override
  public Optional<String> linkText(Path link) {
    return host.linkText(link);
  }

  @Override
  public Optional<String> resolvedLink(Path link) {
    return host.resolvedLink(link);
  }

  @Override
  public List<String> list(Path dir) {
    return host.list(dir);
  }

  @Override
  public boolean exists(Path path) {
    return host.exists(path);
  }

  @Override
  public void write(Path attribute, String value) {
    host.write(attribute, value);
  }
}
