package io.gpupassthrough.node.host;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The one seam between the node agent and a Linux host: reads of sysfs, procfs and /dev under a
 * host root, and the few sysfs writes the executor needs (DESIGN §4): driver {@code unbind} and
 * {@code bind}, {@code driver_override}, {@code drivers_probe}, {@code vtconsole/*}{@code /bind}.
 * Paths come from {@link #paths()}. The filesystem implementation is used on nodes; the simulated
 * kernel implements the writes with the kernel's semantics for tests and the demo.
 */
public interface HostRoot {
  /** Every path under this root. */
  SysfsPaths paths();

  /** Contents of an attribute file without the trailing newline. */
  String read(Path file);

  /** Like {@link #read} but empty when the file does not exist (not when it is unreadable). */
  Optional<String> readIfPresent(Path file);

  /** All lines of a file (for resource and /proc/iomem). */
  List<String> readLines(Path file);

  /**
   * The last path element of a symlink's target, e.g. {@code vfio-pci} for a {@code driver} link;
   * empty when there is no link. A link whose target does not exist inside the root is an error.
   */
  Optional<String> linkTarget(Path link);

  /**
   * Like {@link #linkTarget} without checking that the target exists (one readlink instead of
   * readlink + stat); for hot paths whose caller checks the name against a directory listing.
   */
  Optional<String> linkName(Path link);

  /**
   * A symlink's text exactly as readlink returns it, absolute or not, never resolved: for
   * {@code /proc/<pid>/fd/N}, whose text is a path in the holder's own mount namespace
   * ({@code /dev/vfio/12}, {@code anon_inode:[vfio-device]}), not a file under this root. Empty
   * when there is no such link (the process or the fd went away meanwhile).
   */
  Optional<String> linkText(Path link);

  /** Where a symlink really points, relative to the root ({@code sys/devices/pci0000:00/...}). */
  Optional<String> resolvedLink(Path link);

  /** Names in a directory, sorted; empty when the directory does not exist. */
  List<String> list(Path dir);

  /** True for files, directories and device nodes (a regular file stands in for a node). */
  boolean exists(Path path);

  /** One sysfs write, as {@code echo -n value > file} would do it. */
  void write(Path attribute, String value);

  /**
   * The write for {@code target} (a PCI address, platform device or VT console, see
   * {@link WriteTarget}) that is still blocked in the kernel, when writes run under a deadline
   * ({@link DeadlineHostRoot}); no other write for that target is started meanwhile.
   */
  default Optional<HungWrite> hungWrite(String target) {
    return Optional.empty();
  }

  /** Every write still blocked in the kernel, oldest first. */
  default List<HungWrite> hungWrites() {
    return List.of();
  }
}
