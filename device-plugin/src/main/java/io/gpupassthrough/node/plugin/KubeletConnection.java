package io.gpupassthrough.node.plugin;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every plugin server registered with the kubelet. It watches the device-plugin directory
 * (Java's WatchService watches directories, not files) for two kubelet-restart signs: our own
 * socket deleted (the kubelet clears the directory on start) and {@code kubelet.sock} created
 * again. Either leads to serve-again-then-register within one event. While the kubelet is absent
 * or refuses, it retries with exponential backoff and logs once per state change.
 */
public final class KubeletConnection implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeletConnection.class);
  private static final Duration FIRST_RETRY = Duration.ofMillis(100);
  private static final Duration MAX_RETRY = Duration.ofSeconds(5);
  /** Re-checks without events too: inotify can overflow, and a missed event must not strand us. */
  private static final Duration RECHECK = Duration.ofSeconds(1);

  /** Where a plugin stands with the kubelet; logged on every change. */
  public enum State {
    WAITING_FOR_KUBELET,
    REGISTERED,
    REJECTED
  }

  /** A state change, for logs, tests and the demo's narration. */
  public record Transition(ResourceName resource, State state, String detail) {}

  /**
   * Where one plugin server stands now: whether it serves on its socket, its registration state
   * and why, when the kubelet accepted its current registration (empty unless registered), and
   * whether it has made its first attempt yet (a server just added is still on its way).
   */
  public record Registration(
      ResourceName resource, Path socket, State state, boolean serving, String detail,
      Optional<Instant> registeredAt, boolean attempted) {}

  private final Path pluginDir;
  private final KubeletClient kubelet;
  private final PluginMetrics metrics;
  private final List<Tracked> servers = new CopyOnWriteArrayList<>();
  private final List<Consumer<Transition>> listeners = new CopyOnWriteArrayList<>();
  private final BlockingQueue<Boolean> wakeups = new LinkedBlockingQueue<>();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private WatchService watch;
  private Thread watcher;
  private Thread loop;
  private volatile boolean running;
  private volatile boolean kubeletRecreated;

  public KubeletConnection(Path pluginDir, KubeletClient kubelet, PluginMetrics metrics) {
    this.pluginDir = pluginDir;
    this.kubelet = kubelet;
    this.metrics = metrics;
  }

  /** Called on every registration state change of any server. */
  public void onTransition(Consumer<Transition> listener) {
    listeners.add(listener);
  }

  /** Starts watching the directory and the registration loop. */
  public synchronized void start() {
    if (running) {
      return;
    }
    try {
      watch = pluginDir.getFileSystem().newWatchService();
      pluginDir.register(watch, ENTRY_CREATE, ENTRY_DELETE);
    } catch (IOException e) {
      throw new UncheckedIOException(
          pluginDir + ": cannot watch the device-plugin directory (" + e.getMessage() + ")", e);
    }
    running = true;
    watcher = new Thread(this::watchDirectory, "gpupt-kubelet-watch");
    watcher.setDaemon(true);
    watcher.start();
    loop = new Thread(this::registrationLoop, "gpupt-kubelet-register");
    loop.setDaemon(true);
    loop.start();
  }

  /** Starts {@code server} (serve first) and hands it to the loop, which registers it. */
  public void add(PluginServer server) {
    server.start();
    servers.add(new Tracked(server));
    wakeups.offer(Boolean.TRUE);
  }

  public List<PluginServer> servers() {
    return servers.stream().map(t -> t.server).toList();
  }

  /** The state of the server for {@code resource}. */
  public State state(ResourceName resource) {
    return servers.stream()
        .filter(t -> t.server.resource().equals(resource))
        .map(t -> t.state)
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no plugin server for " + resource));
  }

  /** Every server's registration now, in the order they were added. */
  public List<Registration> registrations() {
    return servers.stream()
        .map(t -> new Registration(t.server.resource(), t.server.socket(), t.state,
            t.server.serving() && t.server.socketPresent(),
            t.detail, Optional.ofNullable(t.registeredAt), t.attempted))
        .toList();
  }

  /** Stops the loop, then every server (grace period each), which removes their sockets. */
  public void stop(Duration grace) {
    running = false;
    wakeups.offer(Boolean.TRUE);
    try {
      if (watch != null) {
        watch.close();
      }
    } catch (IOException e) {
      log.debug("closing the directory watch: {}", e.getMessage());
    }
    if (loop != null) {
      try {
        stopped.await(grace.toMillis() + 1000, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (Tracked t : servers) {
      t.server.stop(grace);
    }
  }

  @Override
  public void close() {
    stop(Duration.ofSeconds(2));
  }

  private void watchDirectory() {
    try {
      while (running) {
        WatchKey key = watch.take();
        for (WatchEvent<?> event : key.pollEvents()) {
          if (event.kind() == OVERFLOW
              || (event.kind() == ENTRY_CREATE
                  && KubeletClient.KUBELET_SOCKET.equals(String.valueOf(event.context())))) {
            kubeletRecreated = true;
          }
        }
        key.reset();
        wakeups.offer(Boolean.TRUE);
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // stop() closed the watch.
    }
  }

  private void registrationLoop() {
    try {
      while (running) {
        long waitMillis = reconcile();
        wakeups.poll(waitMillis, TimeUnit.MILLISECONDS);
        wakeups.clear();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      stopped.countDown();
    }
  }

  /** One pass over all servers; returns how long to wait before the next unprompted pass. */
  private long reconcile() {
    Object kubeletIdentity = identity(kubelet.socket());
    boolean recreated = kubeletRecreated;
    kubeletRecreated = false;
    long now = System.nanoTime();
    long wait = RECHECK.toMillis();
    for (Tracked t : servers) {
      if (!running) {
        break;
      }
      if (!t.server.socketPresent()) {
        // The kubelet removes every plugin socket when it starts.
        log.info("{}: socket {} was removed; serving again", t.server.resource(), t.server.socket());
        t.registeredWith = null;
        try {
          t.server.restart();
        } catch (RuntimeException e) {
          // E.g. the directory itself is gone for a moment; keep the loop alive and retry.
          t.transition(State.WAITING_FOR_KUBELET, "cannot serve again: " + e.getMessage());
          wait = Math.min(wait, t.backoff.toMillis());
          continue;
        }
      }
      if (t.registeredWith != null
          && (recreated || !Objects.equals(t.registeredWith, kubeletIdentity))) {
        t.registeredWith = null;
      }
      if (t.registeredWith != null) {
        continue;
      }
      if (kubeletIdentity == null) {
        t.transition(State.WAITING_FOR_KUBELET, kubelet.socket() + " does not exist yet");
        t.retryAt = now;
        t.backoff = FIRST_RETRY;
        continue;
      }
      if (now - t.retryAt < 0) {
        wait = Math.min(wait, TimeUnit.NANOSECONDS.toMillis(t.retryAt - now) + 1);
        continue;
      }
      try {
        kubelet.register(t.server);
        t.registeredWith = kubeletIdentity;
        t.backoff = FIRST_RETRY;
        metrics.registration(t.server.resource(), "ok");
        t.transition(State.REGISTERED, "endpoint " + t.server.socket().getFileName());
      } catch (StatusRuntimeException e) {
        metrics.registration(t.server.resource(), "failed");
        t.retryAt = now + t.backoff.toNanos();
        wait = Math.min(wait, t.backoff.toMillis());
        t.backoff = t.backoff.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : t.backoff.multipliedBy(2);
        State state =
            e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
                ? State.WAITING_FOR_KUBELET
                : State.REJECTED;
        t.transition(state, describe(e));
      }
    }
    return wait;
  }

  private static String describe(StatusRuntimeException e) {
    String description = e.getStatus().getDescription();
    return "kubelet answered " + e.getStatus().getCode() + (description == null ? "" : ": " + description);
  }

  /** Identity of kubelet.sock (inode and ctime): changes when the kubelet re-creates it. */
  private static Object identity(Path socket) {
    try {
      BasicFileAttributes a =
          Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      return List.of(String.valueOf(a.fileKey()), a.lastModifiedTime(), a.creationTime());
    } catch (IOException absent) {
      return null;
    }
  }

  private final class Tracked {
    final PluginServer server;
    volatile State state = State.WAITING_FOR_KUBELET;
    volatile String detail = "not registered yet";
    volatile Instant registeredAt;
    volatile boolean attempted;
    Object registeredWith;
    long retryAt = System.nanoTime();
    Duration backoff = FIRST_RETRY;

    Tracked(PluginServer server) {
      this.server = server;
    }

    /** Logs and notifies each registration and each change of a waiting/refused reason. */
    void transition(State next, String why) {
      attempted = true;
      if (next != State.REGISTERED && next == state && why.equals(detail)) {
        return;
      }
      // Seconds: the time goes into the node status, where sub-second churn would only cost writes.
      registeredAt = next == State.REGISTERED ? Instant.now().truncatedTo(ChronoUnit.SECONDS) : null;
      detail = why;
      state = next;
      switch (next) {
        case REGISTERED -> log.info("{}: registered with the kubelet ({})", server.resource(), why);
        case WAITING_FOR_KUBELET ->
            log.info("{}: waiting for the kubelet: {}", server.resource(), why);
        case REJECTED -> log.warn("{}: registration refused: {}", server.resource(), why);
      }
      notifyListeners(next, why);
    }

    private void notifyListeners(State next, String why) {
      for (Consumer<Transition> l : listeners) {
        l.accept(new Transition(server.resource(), next, why));
      }
    }
  }
}
