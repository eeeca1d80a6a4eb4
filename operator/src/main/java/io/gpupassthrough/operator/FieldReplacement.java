package io.gpupassthrough.operator;

import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;

/**
 * A JSON Patch (RFC 6902) that replaces one top-level field wholesale: {@code add} on an existing
 * member replaces it, and creates it when absent. Used for the {@code status} of GpuPassthrough and
 * the {@code spec} of GpuPassthroughNode, which the operator owns entirely. On a real API server a
 * JSON merge patch would also replace lists, but it keeps every member the new value leaves out (our
 * serializer drops nulls), so a field the operator stops writing, e.g. a RestoreRequest's addresses,
 * would linger; replacement says exactly "this is the whole field now". It carries no
 * resourceVersion, so it never conflicts with the agent's status writes. (It was first chosen because
 * the fabric8 mock server appends to lists on a merge patch; on the real server the reason above
 * is the one that holds.)
 */
public final class FieldReplacement {
  private FieldReplacement() {}

  public static String of(String field, Object value) {
    return Serialization.asJson(List.of(Map.of("op", "add", "path", "/" + field, "value", value)));
  }
}
