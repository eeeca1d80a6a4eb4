package io.gpupassthrough.api.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code kubectl apply -k deploy/base} on a real API server: every object is accepted as shipped. */
class DeployBaseIT {
  static RealApiServer api;

  @BeforeAll
  static void start() {
    api = RealApiServer.start();
  }

  @AfterAll
  static void stop() {
    api.close();
  }

  @Test
  void realApiServerAcceptsEveryObjectOfDeployBase() {
    List<HasMetadata> applied = api.applyDeployBase();
    assertThat(applied).extracting(HasMetadata::getKind)
        .contains("CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "Role", "Deployment",
            "ResourceQuota");
  }
}
