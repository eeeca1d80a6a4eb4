package io.gpupassthrough.operator.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirementBuilder;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class NodeSelectionTest {
  static LabelSelector expr(String key, String op, String... values) {
    return new LabelSelectorBuilder().withMatchExpressions(new LabelSelectorRequirementBuilder()
        .withKey(key).withOperator(op).withValues(values.length == 0 ? null : java.util.List.of(values)).build()).build();
  }

  static Stream<Arguments> cases() {
    Map<String, String> a10 = Map.of("gpu", "a10", "zone", "z1");
    return Stream.of(
        Arguments.of("absent selector selects all", null, Map.of(), true),
        Arguments.of("empty selector selects all", new LabelSelector(), a10, true),
        Arguments.of("matchLabels hit", new LabelSelectorBuilder().withMatchLabels(Map.of("gpu", "a10")).build(), a10, true),
        Arguments.of("matchLabels miss", new LabelSelectorBuilder().withMatchLabels(Map.of("gpu", "l4")).build(), a10, false),
        Arguments.of("In hit", expr("gpu", "In", "l4", "a10"), a10, true),
        Arguments.of("In on a missing label", expr("pool", "In", "x"), a10, false),
        Arguments.of("NotIn on a missing label", expr("pool", "NotIn", "x"), a10, true),
        Arguments.of("NotIn hit", expr("gpu", "NotIn", "a10"), a10, false),
        Arguments.of("Exists", expr("zone", "Exists"), a10, true),
        Arguments.of("DoesNotExist", expr("zone", "DoesNotExist"), a10, false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void matchesLikeKubernetesLabelSelectors(String name, LabelSelector selector, Map<String, String> labels, boolean match) {
    assertThat(NodeSelection.matches(selector, labels)).isEqualTo(match);
  }

  @Test
  void affinityTermCarriesLabelsAndExpressions() {
    LabelSelector s = new LabelSelectorBuilder().withMatchLabels(Map.of("gpu", "a10"))
        .withMatchExpressions(new LabelSelectorRequirementBuilder().withKey("zone").withOperator("Exists").build())
        .build();
    NodeSelectorTerm t = NodeSelection.toAffinityTerm(s);
    assertThat(t.getMatchExpressions()).extracting(r -> r.getKey() + " " + r.getOperator() + " " + r.getValues())
        .containsExactly("gpu In [a10]", "zone Exists null");
  }

  @Test
  void emptySelectorHasNoAffinityTermBecauseAnEmptyTermMatchesNothing() {
    assertThatThrownBy(() -> NodeSelection.toAffinityTerm(new LabelSelector()))
        .hasMessageContaining("selects every node");
  }
}
