package io.sensorstreaming.runner;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.sql.streaming.StreamingQueryListener;

/**
 * One JSON line per event on stdout, behind a fixed prefix, so a monitor reading the driver log
 * (through Livy's /batches/{id}/log) can pick them out of Spark's own output.
 */
final class Events extends StreamingQueryListener {
  static final String PREFIX = "SENSOR_STREAMING_EVENT ";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Idle and termination events carry only the query's id. */
  private final Map<UUID, String> names = new ConcurrentHashMap<>();

  static synchronized void emit(String type, ObjectNode fields) {
    ObjectNode line = JSON.createObjectNode();
    line.put("event", type);
    line.put("at", Instant.now().toString());
    line.setAll(fields);
    System.out.println(PREFIX + line);
    System.out.flush();
  }

  static void emit(String type, String key, String value) {
    ObjectNode fields = JSON.createObjectNode();
    fields.put(key, value);
    emit(type, fields);
  }

  static ObjectNode fields() {
    return JSON.createObjectNode();
  }

  @Override
  public void onQueryStarted(QueryStartedEvent event) {
    names.put(event.id(), event.name());
    ObjectNode fields = fields();
    fields.put("query", event.name());
    fields.put("id", event.id().toString());
    fields.put("runId", event.runId().toString());
    emit("query-started", fields);
  }

  @Override
  public void onQueryProgress(QueryProgressEvent event) {
    ObjectNode fields = fields();
    fields.put("query", event.progress().name());
    try {
      fields.set("progress", JSON.readTree(event.progress().json()));
    } catch (java.io.IOException e) {
      fields.put("progress", event.progress().json());
    }
    emit("query-progress", fields);
  }

  /**
   * Spark 3.5 reports a query that has no new data as idle instead of with empty progress, so a
   * query that resumes with nothing to read is running although it never makes progress.
   * https://spark.apache.org/docs/3.5.1/api/java/org/apache/spark/sql/streaming/StreamingQueryListener.html
   */
  @Override
  public void onQueryIdle(QueryIdleEvent event) {
    ObjectNode fields = fields();
    fields.put("query", names.getOrDefault(event.id(), event.id().toString()));
    fields.put("timestamp", event.timestamp());
    emit("query-idle", fields);
  }

  @Override
  public void onQueryTerminated(QueryTerminatedEvent event) {
    ObjectNode fields = fields();
    fields.put("query", names.getOrDefault(event.id(), event.id().toString()));
    fields.put("id", event.id().toString());
    if (event.exception().isDefined()) fields.put("error", event.exception().get());
    emit("query-terminated", fields);
  }
}
