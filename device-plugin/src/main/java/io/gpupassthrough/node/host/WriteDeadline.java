package io.gpupassthrough.node.host;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs each sysfs write on a thread of its own and waits for it at most the deadline. A Java
 * thread blocked in {@code write(2)} cannot be interrupted, and the kernel can block one for as
 * long as a device is held (vfio-pci's unbind waits in {@code vfio_unregister_group_dev()} until
 * every user has closed the device; seen on Debian 6.1 and 6.12): such a write is left to finish
 * on its thread, recorded as a {@link HungWrite}, and no other write for the same target is
 * started until it returns. The caller goes on (the agent keeps serving, health-checking and
 * reporting) with a {@link WriteHungException}.
 */
public final class WriteDeadline {
  /** Long enough for real unbinds (a GPU driver's remove, a bus reset), short enough to report. */
  public static final Duration DEFAULT = Duration.ofSeconds(30);

  private final Duration deadline;
  private final Clock clock;
  private final Consumer<String> events;
  private final Map<String, HungWrite> hung = new ConcurrentHashMap<>();
  private final ExecutorService writers = Executors.newCachedThreadPool(new java.util.concurrent.ThreadFactory() {
    private final AtomicInteger n = new AtomicInteger();

    @Override
    public Thread newThread(Runnable r) {
      Thread t = new Thread(r, "gpupt-sysfs-write-" + n.incrementAndGet());
      t.setDaemon(true); // a hung write must not keep the JVM from exiting
      return t;
    }
  });

  /**
   * @param events told when an abandoned write finally returns (one line, for the log)
   */
  public WriteDeadline(Duration deadline, Clock clock, Consumer<String> events) {
    if (deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("the write deadline must be positive, got " + deadline);
    }
    this.deadline = deadline;
    this.clock = clock;
    this.events = events;
  }

  public Duration deadline() {
    return deadline;
  }

  /** Writes still blocked, oldest first. */
  public List<HungWrite> hung() {
    return hung.values().stream().sorted(Comparator.comparing(HungWrite::since)).toList();
  }

  public Optional<HungWrite> hung(String target) {
    return Optional.ofNullable(hung.get(target));
  }

  /**
   * Runs {@code write} (which writes {@code value} to {@code attribute}) within the deadline.
   *
   * @throws WriteHungException when it is still blocked at the deadline, or an earlier write for
   *     the same target is (then {@code write} is not run)
   * @throws HostWriteException what the write itself threw
   */
  public void run(SysfsPaths paths, Path attribute, String value, Runnable write) {
    String target = WriteTarget.of(paths, attribute, value);
    HungWrite earlier = hung.get(target);
    if (earlier != null) {
      throw new WriteHungException(paths.hostView(attribute), value, earlier, true, clock.instant());
    }
    Instant start = clock.instant();
    CompletableFuture<Void> running = CompletableFuture.runAsync(write, writers);
    try {
      running.get(deadline.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new HostWriteException(attribute, value, String.valueOf(e.getCause()), e.getCause());
    } catch (TimeoutException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      HungWrite h = HungWrite.of(target, paths, attribute, value, start);
      hung.put(target, h);
      running.whenComplete((ok, failed) -> {
        hung.remove(target, h);
        events.accept(h.describe(clock.instant()).replace("has been blocked in the kernel for", "returned after")
            + (failed == null ? "" : "; it failed: " + rootMessage(failed)));
      });
      throw new WriteHungException(h.attribute(), value, h, false, clock.instant());
    }
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c instanceof java.util.concurrent.CompletionException) {
      c = c.getCause();
    }
    return String.valueOf(c.getMessage());
  }
}
