package io.gpupassthrough.api.testing;

/**
 * One row of the footprint and scale table (issue 11) as a benchmark prints it, for
 * {@code device-plugin/bench/footprint.sh}, which collects the rows of every benchmark of one run into
 * the README's table: {@code TABLE|measure|value|target|verdict}.
 */
public final class BenchTable {
  private BenchTable() {}

  /** Prints the row; returns whether the target is met (a row without a target counts as met). */
  public static boolean row(String measure, String value, String target, boolean met) {
    String verdict = target.isEmpty() ? "" : met ? "met" : "**MISS**";
    System.out.println(String.join("|", "TABLE", measure, value, target, verdict));
    return met || target.isEmpty();
  }
}
