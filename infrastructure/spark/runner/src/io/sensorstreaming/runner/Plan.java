package io.sensorstreaming.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * plan.json as the compiler writes it (format sensor-streaming-plan/1, specified by
 * sql/plan.schema.json). Only shapes are checked here; the compiler validated the pipeline.
 */
final class Plan {
  static final String FORMAT = "sensor-streaming-plan/1";

  final Path dir;
  final String pipeline;
  final Map<String, String> sparkConf;
  final List<JsonNode> sources;
  final List<JsonNode> views;
  final List<JsonNode> sinks;

  private Plan(Path file, JsonNode root) {
    this.dir = file.toAbsolutePath().getParent();
    this.pipeline = text(root, "pipeline");
    this.sparkConf = strings(root.path("sparkConf"));
    this.sources = list(root.path("sources"));
    this.views = list(root.path("views"));
    this.sinks = list(root.path("sinks"));
  }

  static Plan read(Path file) throws IOException {
    JsonNode root = new ObjectMapper().readTree(Files.readString(file));
    String format = root.path("format").asText("");
    if (!FORMAT.equals(format)) {
      throw new PlanException(file + " is not a " + FORMAT + " plan (format: \"" + format + "\")");
    }
    List<String> unbound = new ArrayList<>();
    findTemplates(root, "", unbound);
    if (!unbound.isEmpty()) {
      throw new PlanException(
          file
              + " still has ${...} placeholders at "
              + String.join(", ", unbound)
              + ": the driver binds them when it stages a plan; run the plan it staged");
    }
    return new Plan(file, root);
  }

  String sql(JsonNode view) throws IOException {
    return Files.readString(dir.resolve(text(view, "sqlFile")));
  }

  static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || !value.isTextual()) {
      throw new PlanException("plan: \"" + field + "\" is missing or not a string in " + node);
    }
    return value.asText();
  }

  static Map<String, String> strings(JsonNode node) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      out.put(entry.getKey(), entry.getValue().asText());
    }
    return out;
  }

  static List<String> textList(JsonNode node) {
    List<String> out = new ArrayList<>();
    node.forEach(item -> out.add(item.asText()));
    return out;
  }

  private static List<JsonNode> list(JsonNode node) {
    List<JsonNode> out = new ArrayList<>();
    node.forEach(out::add);
    return out;
  }

  private static void findTemplates(JsonNode node, String where, List<String> out) {
    if (node.isTextual() && node.asText().contains("${")) out.add(where);
    if (node.isObject())
      node.fields()
          .forEachRemaining(e -> findTemplates(e.getValue(), where + "/" + e.getKey(), out));
    if (node.isArray())
      for (int i = 0; i < node.size(); i++) findTemplates(node.get(i), where + "/" + i, out);
  }

  static final class PlanException extends RuntimeException {
    PlanException(String message) {
      super(message);
    }
  }
}
