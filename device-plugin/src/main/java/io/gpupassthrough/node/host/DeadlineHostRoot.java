package io.gpupassthrough.node.host;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A {@link HostRoot} whose writes run under a {@link WriteDeadline}. Reads go straight through,
 * except the few attributes whose show method takes the device lock, for a device with a blocked
 * write: those would block the reader too, so they fail at once with a
 * {@link DeviceBusyException} (the snapshot then treats the value as unknown).
 */
public final class DeadlineHostRoot implements HostRoot {
  /**
   * PCI attributes read by the agent whose show may take device_lock(): reading driver_override
   * of a device whose vfio-pci unbind is blocked blocks on Debian's 6.1 and returns on 6.12 (e2e
   * guest vfio-holder); the other attributes read return on both.
   */
  private static final Set<String> LOCKED_ATTRIBUTES = Set.of("driver_override");

  private final HostRoot host;
  private final WriteDeadline deadline;

  public DeadlineHostRoot(HostRoot host, WriteDeadline deadline) {
    this.host = host;
    this.deadline = deadline;
  }

  /** The host root underneath (the simulated kernel in tests). */
  public HostRoot delegate() {
    return host;
  }

  @Override
  public SysfsPaths paths() {
    return host.paths();
  }

  @Override
  public String read(Path file) {
    guard(file);
    return host.read(file);
  }

  @Override
  public Optional<String> readIfPresent(Path file) {
    guard(file);
    return host.readIfPresent(file);
  }

  @Override
  public List<String> readLines(Path file) {
    guard(file);
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
    deadline.run(host.paths(), attribute, value, () -> host.write(attribute, value));
  }

  @Override
  public Optional<HungWrite> hungWrite(String target) {
    return deadline.hung(target);
  }

  @Override
  public List<HungWrite> hungWrites() {
    return deadline.hung();
  }

  private void guard(Path file) {
    if (deadline.hung().isEmpty() || file.getFileName() == null
        || !LOCKED_ATTRIBUTES.contains(file.getFileName().toString())) {
      return;
    }
    String view = host.paths().hostView(file);
    for (HungWrite h : deadline.hung()) {
      if (view.equals("/sys/bus/pci/devices/" + h.target() + "/" + file.getFileName())) {
        throw new DeviceBusyException(file, h);
      }
    }
  }
}
