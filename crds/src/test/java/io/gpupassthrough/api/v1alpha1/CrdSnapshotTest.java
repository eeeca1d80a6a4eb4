package io.gpupassthrough.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The committed CRD YAML (what kustomize applies) must be exactly what the generator produced. */
class CrdSnapshotTest {
  private static final String REFRESH =
      "./mvnw -B -q -pl crds -am process-classes && cp crds/target/classes/META-INF/fabric8/*.yml deploy/base/crds/";

  static Stream<String> crdFiles() {
    return Stream.of("gpupassthroughs.gpupassthrough.io-v1.yml", "gpupassthroughnodes.gpupassthrough.io-v1.yml");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("crdFiles")
  void committedCrdMatchesGeneratedOne(String file) throws IOException {
    Path generated = Path.of(System.getProperty("gpupt.generatedCrdDir"), file);
    Path committed = Path.of(System.getProperty("gpupt.committedCrdDir"), file);
    assertThat(generated).as("generator output").exists();
    assertThat(committed)
        .as("committed CRD %s is missing; refresh it with: %s", committed, REFRESH)
        .exists();
    assertThat(Files.readString(committed))
        .as("committed CRD %s differs from what the generator produces from the model classes (never edit it by hand); refresh it with: %s", committed.normalize(), REFRESH)
        .isEqualTo(Files.readString(generated));
  }
}
