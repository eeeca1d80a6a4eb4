package io.gpupassthrough.node.host.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * File operations shared by the simulated host builder and kernel (sysfs-style relative links), and
 * the one tree delete that the demo, benchmarks and tests use on host roots full of link loops.
 */
public final class SimFiles {
  private SimFiles() {}

  static void write(Path file, String content) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, content, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Creates {@code link} pointing at {@code target} by a relative path, as sysfs does. */
  static void link(Path link, Path target) {
    try {
      Files.createDirectories(link.getParent());
      Files.deleteIfExists(link);
      Path rel = link.getParent().relativize(target);
      if (rel.getFileName() == null || rel.getFileName().toString().equals("..")) {
        // The kernel never links to an ancestor as "../..": it climbs one more and names it.
        rel = link.getParent().relativize(target.getParent()).resolve(target.getFileName());
      }
      Files.createSymbolicLink(link, rel);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A symlink with exactly this text (for /proc/<pid>/fd, whose targets are not under the root). */
  static void rawLink(Path link, String text) {
    try {
      Files.createDirectories(link.getParent());
      Files.deleteIfExists(link);
      Files.createSymbolicLink(link, Path.of(text));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void mkdirs(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void delete(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static boolean isLink(Path path) {
    return Files.isSymbolicLink(path);
  }

  static boolean existsNoFollow(Path path) {
    return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
  }

  /** Deletes a tree without following symlinks (links are removed, never their targets). */
  public static void deleteTree(Path root) {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.delete(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
          Files.delete(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
