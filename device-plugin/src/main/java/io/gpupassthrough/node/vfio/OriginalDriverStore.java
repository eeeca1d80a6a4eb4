package io.gpupassthrough.node.vfio;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.HostRoot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Keeps {@link OriginalDrivers} in {@code ROOT/var/lib/gpupassthrough/original-drivers.json}, on
 * the host rather than in the pod (the DaemonSet mounts that directory from the host), so
 * {@code restore} works after the agent is gone. Each save is a {@link DurableFile} replace: a
 * crash or power cut leaves the previous record or the new one, whole. A record that cannot be
 * parsed is never overwritten: loading it fails naming the file, and so does every save that would
 * have merged into it.
 */
public final class OriginalDriverStore {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final DurableFile file;

  public OriginalDriverStore(HostRoot host) {
    this(new DurableFile(host.paths().originalDrivers()));
  }

  OriginalDriverStore(DurableFile file) {
    this.file = file;
  }

  public Path file() {
    return file.path();
  }

  public synchronized OriginalDrivers load() {
    try {
      return JSON.readValue(Files.readAllBytes(file.path()), OriginalDrivers.class);
    } catch (NoSuchFileException e) {
      return OriginalDrivers.empty();
    } catch (IOException e) {
      throw new HostReadException(file.path(), "cannot read the record of original drivers ("
          + e.getMessage() + "); it was left as it is and nothing was changed on the host: fix the"
          + " JSON or move the file aside (devices it lists must then be rebound by hand)", e);
    }
  }

  /** Only after a load: a record that cannot be parsed must never be replaced. */
  private void save(OriginalDrivers drivers) {
    try {
      if (drivers.isEmpty()) {
        file.delete();
      } else {
        file.replace(JSON.writeValueAsBytes(drivers));
      }
    } catch (IOException e) {
      throw new HostReadException(file.path(), "cannot write the record of original drivers: " + e, e);
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
