package io.gpupassthrough.operator.plan;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A {@code GpuPassthrough}'s {@code spec.nodeSelector}: matching node labels in memory, and turning
 * it into a node-affinity term for the agent DaemonSet. A union of label selectors cannot be one
 * {@code nodeSelector}, but node affinity ORs its {@code nodeSelectorTerms}, so each resource
 * contributes one term.
 */
public final class NodeSelection {
  static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

  private NodeSelection() {}

  /** True when the selector is absent or empty: it selects every node. */
  public static boolean selectsAll(LabelSelector selector) {
    return selector == null
        || (empty(selector.getMatchLabels()) && (selector.getMatchExpressions() == null
            || selector.getMatchExpressions().isEmpty()));
  }

  /** Kubernetes label-selector semantics; the selector must have passed {@link SpecValidator}. */
  public static boolean matches(LabelSelector selector, Map<String, String> labels) {
    if (selectsAll(selector)) {
      return true;
    }
    Map<String, String> l = labels == null ? Map.of() : labels;
    if (selector.getMatchLabels() != null) {
      for (Map.Entry<String, String> e : selector.getMatchLabels().entrySet()) {
        if (!e.getValue().equals(l.get(e.getKey()))) {
          return false;
        }
      }
    }
    if (selector.getMatchExpressions() != null) {
      for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
        String value = l.get(r.getKey());
        List<String> values = r.getValues() == null ? List.of() : r.getValues();
        boolean ok = switch (r.getOperator()) {
          case "In" -> value != null && values.contains(value);
          case "NotIn" -> value == null || !values.contains(value);
          case "Exists" -> value != null;
          case "DoesNotExist" -> value == null;
          default -> throw new IllegalArgumentException("unvalidated operator " + r.getOperator());
        };
        if (!ok) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * The same selector as a node-affinity term. Only for non-empty selectors: an empty
   * {@code nodeSelectorTerm} matches no node at all, the opposite of an empty label selector.
   */
  public static NodeSelectorTerm toAffinityTerm(LabelSelector selector) {
    if (selectsAll(selector)) {
      throw new IllegalArgumentException("an empty selector has no affinity term; it selects every node");
    }
    List<NodeSelectorRequirement> reqs = new ArrayList<>();
    if (selector.getMatchLabels() != null) {
      new TreeMap<>(selector.getMatchLabels())
          .forEach((k, v) -> reqs.add(new NodeSelectorRequirement(k, "In", List.of(v))));
    }
    if (selector.getMatchExpressions() != null) {
      for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
        List<String> values = r.getValues() == null || r.getValues().isEmpty() ? null : List.copyOf(r.getValues());
        reqs.add(new NodeSelectorRequirement(r.getKey(), r.getOperator(), values));
      }
    }
    NodeSelectorTerm term = new NodeSelectorTerm();
    term.setMatchExpressions(reqs);
    return term;
  }

  private static boolean empty(Map<String, String> m) {
    return m == null || m.isEmpty();
  }
}
