package io.gpupassthrough.node.vfio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gpupassthrough.api.v1alpha1.ConsoleConflictPolicy;
import io.gpupassthrough.node.aperture.DeviceSelection;
import io.gpupassthrough.node.host.HostReadException;
import io.gpupassthrough.node.host.sim.SimulatedHost;
import io.gpupassthrough.node.host.sim.SimulatedHostBuilder;
import io.gpupassthrough.node.vfio.DurableFile.Step;
import io.gpupassthrough.node.vfio.OriginalDrivers.PciOriginal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The record of original drivers on a temp-dir host root: what a crash at each step of a save
 * leaves for the next agent, and what a record that cannot be parsed does (nothing is lost).
 */
class OriginalDriverStoreIT {
  private static final OriginalDrivers GPU = record("0000:01:00.0", "nouveau");
  private static final OriginalDrivers AUDIO = record("0000:01:00.1", "snd_hda_intel");

  @TempDir Path dir;

  private Path file() {
    return dir.resolve("var/lib/gpupassthrough/original-drivers.json");
  }

  private OriginalDriverStore store(DurableFile.Interruption interruption) {
    return new OriginalDriverStore(new DurableFile(file(), interruption));
  }

  private static OriginalDrivers record(String address, String driver) {
    return new OriginalDrivers(Map.of(address, new PciOriginal(driver, null, "0000:01:00.0")), Map.of(), Map.of());
  }

  /** Stands for the process dying at that step: nothing after it runs. */
  private static final class Crash extends IOException {
    private static final long serialVersionUID = 1L;

    Crash(Step step) {
      super("crash before " + step);
    }
  }

  @Test
  void saveWritesTheTempFileFsyncsItRenamesItThenFsyncsTheDirectory() {
    List<Step> steps = new CopyOnWriteArrayList<>();
    OriginalDriverStore store = store(steps::add);

    store.record(GPU);

    assertThat(steps).containsExactly(Step.WRITE_TEMP, Step.FSYNC_TEMP, Step.RENAME, Step.FSYNC_DIRECTORY);
    assertThat(Files.exists(file())).isTrue();
    assertThat(Files.exists(file().resolveSibling("original-drivers.json.tmp"))).isFalse();
    assertThat(store(DurableFile.Interruption.NONE).load()).isEqualTo(GPU);
  }

  /**
   * Whatever step a crash hits, the agent that starts next reads a whole record: the previous one
   * while the rename has not happened, the new one once it has. A temp file left behind is never
   * read, and the next save replaces it.
   */
  @ParameterizedTest
  @EnumSource(Step.class)
  void aCrashAtAnyStepLeavesThePreviousOrTheNewRecordWhole(Step crashAt) {
    store(DurableFile.Interruption.NONE).record(GPU);
    OriginalDriverStore crashing = store(step -> {
      if (step == crashAt) {
        throw new Crash(step);
      }
    });

    assertThatThrownBy(() -> crashing.record(AUDIO)).hasRootCauseInstanceOf(Crash.class);

    OriginalDriverStore restarted = store(DurableFile.Interruption.NONE);
    OriginalDrivers both = GPU.mergeKeepingExisting(AUDIO);
    assertThat(restarted.load()).isEqualTo(crashAt == Step.FSYNC_DIRECTORY ? both : GPU);
    restarted.record(AUDIO);
    assertThat(restarted.load()).isEqualTo(both);
    assertThat(Files.exists(file().resolveSibling("original-drivers.json.tmp"))).isFalse();
  }

  @Test
  void forgettingEverythingRemovesTheFileAndAnyLeftoverTempFile() throws IOException {
    OriginalDriverStore store = store(DurableFile.Interruption.NONE);
    store.record(GPU);
    Files.writeString(file().resolveSibling("original-drivers.json.tmp"), "{\"devi");

    store.forget(GPU);

    assertThat(Files.list(file().getParent())).isEmpty();
    assertThat(store.load().isEmpty()).isTrue();
  }

  @Test
  void malformedRecordFailsNamingTheFileAndIsNeverOverwritten() throws IOException {
    Files.createDirectories(file().getParent());
    String malformed = "{\"devices\": {\"0000:01:00.0\": {\"driver\": \"nouveau\"";
    Files.writeString(file(), malformed);
    OriginalDriverStore store = store(DurableFile.Interruption.NONE);

    assertThatThrownBy(store::load).isInstanceOf(HostReadException.class)
        .hasMessageStartingWith(file() + ": cannot read the record of original drivers")
        .hasMessageContaining("left as it is", "fix the JSON or move the file aside");
    assertThatThrownBy(() -> store.record(AUDIO)).isInstanceOf(HostReadException.class);
    assertThatThrownBy(() -> store.forget(GPU)).isInstanceOf(HostReadException.class);
    assertThat(Files.readString(file())).isEqualTo(malformed);
  }

  /** prepare with an unreadable record stops before the first sysfs write: no original is lost. */
  @Test
  void prepareWithAMalformedRecordWritesNothingToTheHost() throws IOException {
    SimulatedHost host = SimulatedHostBuilder.create()
        .gpu("0000:01:00.0", g -> g.bootVga().driver("nouveau").iommuGroup(1))
        .hdmiAudio("0000:01:00.1", a -> a.iommuGroup(1))
        .build(dir);
    List<String> writes = new ArrayList<>();
    host.kernel().beforeWrite((path, value) -> writes.add(path));
    Files.createDirectories(file().getParent());
    Files.writeString(file(), "not json");

    assertThatThrownBy(() -> new Preparation(host.kernel(), e -> {})
            .prepare(DeviceSelection.allGpus(), ConsoleConflictPolicy.DETACH, true, false))
        .isInstanceOf(HostReadException.class).hasMessageContaining(file().toString());
    assertThat(writes).isEmpty();
    assertThat(Files.readString(file())).isEqualTo("not json");
  }
}
