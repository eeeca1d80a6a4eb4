package io.gpupassthrough.node.vfio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * One file replaced so that, after a crash or a power cut at any point, it holds either the old or
 * the new content in full, never a mix, a truncation or nothing: the content goes to a temp file
 * beside it, which is fsynced, renamed over the file (atomic on POSIX file systems), and then the
 * directory is fsynced so the rename itself is on disk. Without the first fsync, ext4 and xfs may
 * commit the rename before the data and leave a zero-length file after a power cut; without the
 * second, the rename may be lost and the old content come back.
 */
final class DurableFile {
  /** The steps of a replace, in order; a crash can stop it before any of them. */
  enum Step {
    WRITE_TEMP,
    FSYNC_TEMP,
    RENAME,
    FSYNC_DIRECTORY
  }

  /**
   * Called before each step (a test seam: tests record the order, or throw to stand for a crash
   * and then look at what a restarted agent would find).
   */
  interface Interruption {
    Interruption NONE = step -> {};

    void before(Step step) throws IOException;
  }

  private final Path file;
  private final Path temp;
  private final Interruption interruption;

  DurableFile(Path file) {
    this(file, Interruption.NONE);
  }

  DurableFile(Path file, Interruption interruption) {
    this.file = file;
    this.temp = file.resolveSibling(file.getFileName() + ".tmp");
    this.interruption = interruption;
  }

  Path path() {
    return file;
  }

  Path temp() {
    return temp;
  }

  /** Replaces the content; creates the parent directories first when missing. */
  void replace(byte[] content) throws IOException {
    Files.createDirectories(file.getParent());
    try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      interruption.before(Step.WRITE_TEMP);
      ByteBuffer buffer = ByteBuffer.wrap(content);
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      interruption.before(Step.FSYNC_TEMP);
      out.force(true);
    }
    // Same directory, so same file system: the rename is atomic; a failure here is an error, not
    // a reason to fall back to copying.
    interruption.before(Step.RENAME);
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    interruption.before(Step.FSYNC_DIRECTORY);
    syncDirectory();
  }

  /** Removes the file (and a temp file a crash left) and makes the removal durable. */
  void delete() throws IOException {
    boolean removed = Files.deleteIfExists(temp) | Files.deleteIfExists(file);
    if (removed) {
      syncDirectory();
    }
  }

  /** fsync of the directory: Linux allows it on a read-only descriptor of the directory. */
  private void syncDirectory() throws IOException {
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    }
  }
}
