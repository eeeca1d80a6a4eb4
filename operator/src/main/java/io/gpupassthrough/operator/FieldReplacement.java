package io.gpupassthrough.operator;

import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;

/**
 * A JSON Patch (RFC 6902) that replaces one top-level field wholesale: {@code add} on an existing
 * member replaces it, and creates it when absent. Used for {@code status} and {@code spec} instead
 * of a merge patch because the operator owns those fields entirely, and because the fabric8 mock
 * server appends to lists on a merge patch where a real API server replaces them.
 */
public final class FieldReplacement {
  private FieldReplacement() {}

  public static String of(String field, Object value) {
    return Serialization.asJson(List.of(Map.of("op", "add", "path", "/" + field, "value", value)));
  }
}
