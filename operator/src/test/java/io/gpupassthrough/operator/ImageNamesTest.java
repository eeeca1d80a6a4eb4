package io.gpupassthrough.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.gpupassthrough.api.testing.RealApiServer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The images `kubectl apply -k deploy/base` runs are the ones this build makes (ImageNames: the registry in pom.xml
 * and the project version), so a version bump that forgets the manifests fails here, naming the value to write.
 */
class ImageNamesTest {
  private static final String PROJECT_VERSION = System.getProperty("gpupt.project.version");

  @Test
  void imagesAreTaggedWithTheProjectVersion() {
    assertThat(PROJECT_VERSION).as("surefire passes gpupt.project.version").isNotBlank();
    assertThat(ImageNames.AGENT).endsWith("/gpupt-node:" + PROJECT_VERSION);
    assertThat(ImageNames.OPERATOR).endsWith("/gpupt-operator:" + PROJECT_VERSION);
    assertThat(OperatorConfig.defaults().agentImage()).isEqualTo(ImageNames.AGENT);
  }

  @Test
  void deployBaseRunsTheImagesOfThisBuild() {
    Container operator = operatorContainer();
    assertThat(operator.getImage())
        .as("image of the gpupt-operator Deployment in deploy/base/operator/deployment.yaml")
        .isEqualTo(ImageNames.OPERATOR);
    assertThat(operator.getEnv()).filteredOn(e -> e.getName().equals("GPUPT_AGENT_IMAGE")).map(EnvVar::getValue)
        .as("GPUPT_AGENT_IMAGE in deploy/base/operator/deployment.yaml")
        .containsExactly(ImageNames.AGENT);
  }

  private static Container operatorContainer() {
    String rendered = RealApiServer.kustomize(RealApiServer.repoRoot().resolve("deploy/base"));
    Deployment d = Arrays.stream(rendered.split("(?m)^---$"))
        .filter(doc -> doc.contains("kind: Deployment"))
        .map(doc -> Serialization.unmarshal(doc, Deployment.class))
        .filter(x -> x.getMetadata().getName().equals("gpupt-operator"))
        .findFirst().orElseThrow(() -> new AssertionError("deploy/base renders no Deployment gpupt-operator"));
    return d.getSpec().getTemplate().getSpec().getContainers().get(0);
  }
}
