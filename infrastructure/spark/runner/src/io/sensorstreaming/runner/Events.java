package io.sensorstreaming.runner;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.sql.streaming.StreamingQueryListener;

/**
 * The runner's events: one JSON line per event on stdout, behind a fixed prefix, so a monitor
 * reading the driver log (through Livy's /batches/{id}/log) can pick them out of Spark's own
 * output. This class is the only writer of these lines, with one method per event kind; the lines
 * are specified by infrastructure/spark/runner/events.schema.json, driver/src/livy/runner-events.ts
 * reads them back, and driver/test/unit/runner-events-schema.test.ts keeps the three in agreement.
 *
 * <p>As a listener it turns Spark's query events into the query-* events.
 */
final class Events extends StreamingQueryListener {
  static final String PREFIX = "SENSOR_STREAMING_EVENT ";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Idle and termination events carry only the query's id. */
  private final Map<UUID, String> names = new ConcurrentHashMap<>();

  /** One line: the kind and the time first, then the kind's fields in the order they were put. */
  private static synchronized void emit(String event, ObjectNode fields) {
    ObjectNode line = JSON.createObjectNode();
    line.put("event", event);
    line.put("at", Instant.now().toString());
    line.setAll(fields);
    System.out.println(PREFIX + line);
    System.out.flush();
  }

  private static ObjectNode fields() {
    return JSON.createObjectNode();
  }

  // ---- the runner ----------------------------------------------------------------------------

  static void runnerStarted(String pipeline, int queries, String stopFile) {
    ObjectNode fields = fields();
    fields.put("pipeline", pipeline);
    fields.put("queries", queries);
    fields.put("stopFile", stopFile);
    emit("runner-started", fields);
  }

  static void runnerStopping(String reason) {
    ObjectNode fields = fields();
    fields.put("reason", reason);
    emit("runner-stopping", fields);
  }

  static void runnerFinished(String reason) {
    ObjectNode fields = fields();
    fields.put("reason", reason);
    emit("runner-finished", fields);
  }

  /** The exit code is written as a string, as it always was. */
  static void runnerExit(int code) {
    ObjectNode fields = fields();
    fields.put("code", Integer.toString(code));
    emit("runner-exit", fields);
  }

  static void explainOk(String pipeline, int views, int sinks) {
    ObjectNode fields = fields();
    fields.put("pipeline", pipeline);
    fields.put("views", views);
    fields.put("sinks", sinks);
    emit("explain-ok", fields);
  }

  // ---- queries -------------------------------------------------------------------------------

  static void queryStarted(String query, UUID id, UUID runId) {
    ObjectNode fields = fields();
    fields.put("query", query);
    fields.put("id", id.toString());
    fields.put("runId", runId.toString());
    emit("query-started", fields);
  }

  /**
   * progressJson: Spark's StreamingQueryProgress.json(), written as JSON (as text should it not
   * parse).
   */
  static void queryProgress(String query, String progressJson) {
    ObjectNode fields = fields();
    fields.put("query", query);
    try {
      fields.set("progress", JSON.readTree(progressJson));
    } catch (IOException e) {
      fields.put("progress", progressJson);
    }
    emit("query-progress", fields);
  }

  static void queryIdle(String query, String timestamp) {
    ObjectNode fields = fields();
    fields.put("query", query);
    fields.put("timestamp", timestamp);
    emit("query-idle", fields);
  }

  /** error: null when the query ended without one. */
  static void queryTerminated(String query, UUID id, String error) {
    ObjectNode fields = fields();
    fields.put("query", query);
    fields.put("id", id.toString());
    if (error != null) fields.put("error", error);
    emit("query-terminated", fields);
  }

  static void queryStopped(String query) {
    ObjectNode fields = fields();
    fields.put("query", query);
    emit("query-stopped", fields);
  }

  static void queryRestarting(String query, int attempt, String cause, long inMs) {
    ObjectNode fields = fields();
    fields.put("query", query);
    fields.put("attempt", attempt);
    fields.put("cause", cause);
    fields.put("inMs", inMs);
    emit("query-restarting", fields);
  }

  static void queryRestarted(String query) {
    ObjectNode fields = fields();
    fields.put("query", query);
    emit("query-restarted", fields);
  }

  // ---- InfluxDB sinks ------------------------------------------------------------------------

  static void influxWritten(String query, long batchId, long lines, int refused) {
    ObjectNode fields = fields();
    fields.put("query", query);
    fields.put("batchId", batchId);
    fields.put("lines", lines);
    fields.put("refused", refused);
    emit("influx-written", fields);
  }

  static void influxWaiting(
      String query, Instant since, int attempt, String cause, long retryInMs, String endpoint) {
    ObjectNode fields = fields();
    fields.put("query", query);
    fields.put("since", since.toString());
    fields.put("attempt", attempt);
    fields.put("cause", cause);
    fields.put("retryInMs", retryInMs);
    fields.put("endpoint", endpoint);
    emit("influx-waiting", fields);
  }

  static void influxRecovered(String query, Instant since, long waitedMs, int attempts) {
    ObjectNode fields = fields();
    fields.put("query", query);
    fields.put("since", since.toString());
    fields.put("waitedMs", waitedMs);
    fields.put("attempts", attempts);
    emit("influx-recovered", fields);
  }

  /** path: the dead-letter folder, or null when the sink has none. */
  static void influxRefused(
      String query,
      long batchId,
      int lines,
      int status,
      String reason,
      long refusedTotal,
      String path) {
    ObjectNode fields = fields();
    fields.put("query", query);
    fields.put("batchId", batchId);
    fields.put("lines", lines);
    fields.put("status", status);
    fields.put("reason", reason);
    fields.put("refusedTotal", refusedTotal);
    if (path != null) fields.put("path", path);
    emit("influx-refused", fields);
  }

  // ---- static inputs -------------------------------------------------------------------------

  /** changed: the path of each changed source, by the source's name (each one a field). */
  static void staticInputChanged(Map<String, String> changed) {
    ObjectNode fields = fields();
    changed.forEach(fields::put);
    emit("static-input-changed", fields);
  }

  static void staticInputReloaded(int queries) {
    ObjectNode fields = fields();
    fields.put("queries", queries);
    emit("static-input-reloaded", fields);
  }

  static void staticInputRefused(String cause, boolean retried) {
    ObjectNode fields = fields();
    fields.put("cause", cause);
    fields.put("retried", retried);
    emit("static-input-refused", fields);
  }

  // ---- Spark's query events ------------------------------------------------------------------

  @Override
  public void onQueryStarted(QueryStartedEvent event) {
    names.put(event.id(), event.name());
    queryStarted(event.name(), event.id(), event.runId());
  }

  @Override
  public void onQueryProgress(QueryProgressEvent event) {
    queryProgress(event.progress().name(), event.progress().json());
  }

  /**
   * Spark 3.5 reports a query that has no new data as idle instead of with empty progress, so a
   * query that resumes with nothing to read is running although it never makes progress.
   * https://spark.apache.org/docs/3.5.1/api/java/org/apache/spark/sql/streaming/StreamingQueryListener.html
   */
  @Override
  public void onQueryIdle(QueryIdleEvent event) {
    queryIdle(names.getOrDefault(event.id(), event.id().toString()), event.timestamp());
  }

  @Override
  public void onQueryTerminated(QueryTerminatedEvent event) {
    String error = event.exception().isDefined() ? event.exception().get() : null;
    queryTerminated(names.getOrDefault(event.id(), event.id().toString()), event.id(), error);
  }
}
