package io.gpupassthrough.node.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@link HostRoot} over a real directory tree: {@code /} on a node, a hostPath mount in a pod, a
 * temp directory in tests. Every read and write can be traced ({@code --verbose}).
 */
public class FileSystemHostRoot implements HostRoot {
  private final SysfsPaths paths;
  private final Path realRoot;
  private final boolean isSystemRoot;
  private final Consumer<String> trace;

  /** Opens a host root; fails when it does not look like a Linux root (no sys/bus/pci). */
  public static FileSystemHostRoot open(Path root, Consumer<String> trace) {
    Path pci = root.resolve("sys/bus/pci");
    if (!Files.isDirectory(root)) {
      throw new HostReadException(root, "host root does not exist or is not a directory");
    }
    if (!Files.isDirectory(pci)) {
      throw new HostReadException(
          root,
          "not a Linux host root: " + pci + " is missing; pass the directory that holds sys/, proc/"
              + " and dev/ (on a node: /, in a pod: the hostPath mount)");
    }
    return new FileSystemHostRoot(root, trace);
  }

  public static FileSystemHostRoot open(Path root) {
    return open(root, null);
  }

  protected FileSystemHostRoot(Path root, Consumer<String> trace) {
    this.paths = new SysfsPaths(root);
    try {
      this.realRoot = paths.root().toRealPath();
    } catch (IOException e) {
      throw new HostReadException(root, "cannot resolve host root: " + e.getMessage(), e);
    }
    this.isSystemRoot = realRoot.getParent() == null;
    this.trace = trace;
  }

  @Override
  public SysfsPaths paths() {
    return paths;
  }

  @Override
  public String read(Path file) {
    return readIfPresent(file)
        .orElseThrow(() -> new HostReadException(file, "file is missing"));
  }

  @Override
  public Optional<String> readIfPresent(Path file) {
    try (java.io.InputStream in = Files.newInputStream(file)) {
      // Attributes are small; one read() is one syscall (readAllBytes would fstat first).
      String s = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int end = s.length();
      while (end > 0 && (s.charAt(end - 1) == '\n' || s.charAt(end - 1) == '\r')) {
        end--;
      }
      String value = s.substring(0, end);
      trace("read", file, value);
      return Optional.of(value);
    } catch (NoSuchFileException e) {
      trace("read", file, "<missing>");
      return Optional.empty();
    } catch (AccessDeniedException e) {
      throw new HostReadException(file, "permission denied; run the node agent as root");
    } catch (IOException e) {
      throw new HostReadException(file, "cannot read: " + e, e);
    }
  }

  @Override
  public List<String> readLines(Path file) {
    String all = read(file);
    return all.isEmpty() ? List.of() : List.of(all.split("\n", -1));
  }

  @Override
  public Optional<String> linkTarget(Path link) {
    return link(link, true);
  }

  @Override
  public Optional<String> linkName(Path link) {
    return link(link, false);
  }

  private Optional<String> link(Path link, boolean checkTarget) {
    Path target;
    try {
      target = Files.readSymbolicLink(link);
    } catch (NoSuchFileException | NotLinkException e) {
      return Optional.empty();
    } catch (AccessDeniedException e) {
      throw new HostReadException(link, "permission denied; run the node agent as root");
    } catch (IOException e) {
      throw new HostReadException(link, "cannot read symlink: " + e, e);
    }
    if (target.isAbsolute() && !isSystemRoot) {
      throw new HostReadException(
          link, "absolute symlink to " + target + "; sysfs links are relative, expected ../...");
    }
    // A dangling link (device removed mid-run, or a broken fixture) is an error, not "no driver".
    if (checkTarget && !Files.exists(link)) {
      throw new HostReadException(link, "dangling symlink to " + target + " (target is missing)");
    }
    String name = target.getFileName() == null ? "" : target.getFileName().toString();
    if (name.isEmpty() || name.equals("..") || name.equals(".")) {
      try {
        name = link.toRealPath().getFileName().toString();
      } catch (IOException e) {
        throw new HostReadException(link, "cannot resolve symlink: " + e, e);
      }
    }
    trace("link", link, name);
    return Optional.of(name);
  }

  @Override
  public Optional<String> linkText(Path link) {
    try {
      String text = Files.readSymbolicLink(link).toString();
      trace("link", link, text);
      return Optional.of(text);
    } catch (NoSuchFileException | NotLinkException e) {
      return Optional.empty();
    } catch (AccessDeniedException e) {
      throw new HostReadException(link, "permission denied; run the node agent as root");
    } catch (IOException e) {
      throw new HostReadException(link, "cannot read symlink: " + e, e);
    }
  }

  @Override
  public Optional<String> resolvedLink(Path link) {
    if (!Files.isSymbolicLink(link)) {
      return Optional.empty();
    }
    try {
      Path real = link.toRealPath();
      if (!real.startsWith(realRoot)) {
        throw new HostReadException(link, "symlink leaves the host root (" + real + ")");
      }
      String rel = realRoot.relativize(real).toString();
      trace("link", link, rel);
      return Optional.of(rel);
    } catch (NoSuchFileException e) {
      throw new HostReadException(link, "dangling symlink (target is missing)");
    } catch (IOException e) {
      throw new HostReadException(link, "cannot resolve symlink: " + e, e);
    }
  }

  @Override
  public List<String> list(Path dir) {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        names.add(p.getFileName().toString());
      }
    } catch (NoSuchFileException | NotDirectoryException e) {
      return List.of();
    } catch (AccessDeniedException e) {
      throw new HostReadException(dir, "permission denied listing directory; run as root");
    } catch (IOException e) {
      throw new HostReadException(dir, "cannot list directory: " + e, e);
    }
    Collections.sort(names);
    return names;
  }

  @Override
  public boolean exists(Path path) {
    return Files.exists(path);
  }

  @Override
  public void write(Path attribute, String value) {
    trace("write", attribute, value);
    // sysfs attributes exist before they are written; creating one would hide a missing driver.
    if (!Files.exists(attribute)) {
      throw new HostWriteException(attribute, value, "no such attribute (driver or device missing)");
    }
    try {
      Files.write(
          attribute,
          value.getBytes(StandardCharsets.UTF_8),
          StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING);
    } catch (AccessDeniedException e) {
      throw new HostWriteException(attribute, value, "permission denied; run as root", e);
    } catch (IOException e) {
      // The kernel's errno comes back as the exception message (e.g. "No such device").
      throw new HostWriteException(attribute, value, String.valueOf(e.getMessage()), e);
    }
  }

  protected void trace(String op, Path file, String value) {
    if (trace != null) {
      trace.accept(op + " " + paths.hostView(file) + (value == null ? "" : " = " + value));
    }
  }
}
