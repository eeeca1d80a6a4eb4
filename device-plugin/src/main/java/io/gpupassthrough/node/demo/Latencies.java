package io.gpupassthrough.node.demo;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.IntConsumer;

/** Latency percentiles of one call made many times in a row, in milliseconds. */
public record Latencies(int calls, double p50, double p99, double p999, double max) {

  /** Calls {@code call} {@code warmup} times unmeasured (JIT, connection), then {@code calls} times timed. */
  public static Latencies time(int warmup, int calls, IntConsumer call) {
    for (int i = 0; i < warmup; i++) {
      call.accept(i);
    }
    long[] nanos = new long[calls];
    for (int i = 0; i < calls; i++) {
      long t = System.nanoTime();
      call.accept(i);
      nanos[i] = System.nanoTime() - t;
    }
    Arrays.sort(nanos);
    return new Latencies(calls, ms(nanos[calls / 2]), ms(nanos[(int) (calls * 0.99)]),
        ms(nanos[(int) (calls * 0.999)]), ms(nanos[calls - 1]));
  }

  public String describe() {
    return String.format(Locale.ROOT, "p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms (%d calls)",
        p50, p99, p999, max, calls);
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }
}
