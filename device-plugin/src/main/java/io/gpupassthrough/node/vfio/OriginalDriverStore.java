package io.gpupassthrough.node.vfio;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Keeps {@link OriginalDrivers} in {@code ROOT/var/lib/gpupassthrough/original-drivers.json}, on
 * the host rather than in the pod, so {@code restore} works after the agent is gone. Written
 * atomically (temp file + rename) so a crash never leaves half a record.
 */
public final class OriginalDriverStore {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final Path file;

  public OriginalDriverStore(HostRoot host) {
    this.file = host.paths().originalDrivers();
  }

  public Path file() {
    return file;
  }

  public synchronized OriginalDrivers load() {
    try {
      return JSON.readValue(Files.readAllBytes(file), OriginalDrivers.class);
    } catch (NoSuchFileException e) {
      return OriginalDrivers.empty();
    } catch (IOException e) {
      throw new HostReadException(file, "cannot read the record of original drivers ("
          + e.getMessage() + "); fix or remove the file, then rebind devices by hand", e);
    }
  }

  public synchronized void save(OriginalDrivers drivers) {
    try {
      if (drivers.isEmpty()) {
        Files.deleteIfExists(file);
        return;
      }
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.write(tmp, JSON.writeValueAsBytes(drivers));
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new HostReadException(file, "cannot write the record of original drivers: " + e, e);
    }
  }

  /** Adds entries not recorded yet and saves. */
  public synchronized void record(OriginalDrivers additions) {
    save(load().mergeKeepingExisting(additions));
  }

  /** Drops entries that are back to their original state and saves. */
  public synchronized void forget(OriginalDrivers done) {
    save(load().without(done));
  }
}
