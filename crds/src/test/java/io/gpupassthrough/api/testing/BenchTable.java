package io.gpupassthrough.api.testing;

/**
 * One row of the footprint and scale table (issue 11) as a benchmark prints it, for
 * {@code device-plugin/bench/footprint.sh}, which collects the rows of every benchmark of one run into
 * the README's table: {@code TABLE|measure|value|target|verdict}.
 */
public final class BenchTable {
  private BenchTable() {}

  /** Prints the row; {@code met} is ignored for a row without a target. A missed target is a row, not a failure. */
  public static void row(String measure, String value, String target, boolean met) {
    String verdict = target.isEmpty() ? "" : met ? "met" : "**MISS**";
    System.out.println(String.join("|", "TABLE", measure, value, target, verdict));
  }
}
