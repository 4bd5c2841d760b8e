package io.sensorstreaming.runner;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Prints one line of every event kind through {@link Events}, each optional field once present and
 * once absent, for driver/test/unit/runner-events-schema.test.ts to check against
 * infrastructure/spark/runner/events.schema.json and the driver's reader. Not part of the runner
 * jar (build.sh compiles src/ only).
 */
final class EveryEvent {
  private EveryEvent() {}

  public static void main(String[] args) {
    Instant since = Instant.parse("2026-03-01T10:00:00Z");
    UUID id = UUID.fromString("bcc80c64-92ff-4c6b-8120-87a0ba5a77ad");
    UUID runId = UUID.fromString("9f79f799-eb2b-4786-a107-1164d5824f28");
    Events.runnerStarted("schools", 5, "hdfs://localhost:9000/checkpoints/schools/_control/STOP");
    Events.runnerStopping("stop marker file:/tmp/STOP");
    Events.runnerFinished("every query has finished");
    Events.runnerExit(0);
    Events.explainOk("schools", 10, 5);
    Events.queryStarted("influx_raw", id, runId);
    Events.queryProgress(
        "influx_raw",
        "{\"id\":\"" + id + "\",\"name\":\"influx_raw\",\"batchId\":0,\"numInputRows\":2000}");
    Events.queryIdle("influx_raw", "2026-03-01T10:00:30.001Z");
    Events.queryTerminated("influx_raw", id, null);
    Events.queryTerminated("influx_raw", id, "org.apache.spark.SparkException: Job aborted");
    Events.queryStopped("influx_raw");
    Events.queryRestarting("influx_raw", 2, "SparkException: Job aborted", 10_000L);
    Events.queryRestarted("influx_raw");
    Events.influxWritten("influx_raw", 3L, 1953L, 0);
    Events.influxWaiting(
        "influx_raw", since, 1, "HTTP 404: database not found", 379L, "localhost:8086");
    Events.influxRecovered("influx_raw", since, 25_277L, 7);
    Events.influxRefused("influx_raw", 3L, 2, 400, "partial write", 7L, null);
    Events.influxRefused(
        "influx_raw", 4L, 1, 400, "field type conflict", 8L, "file:/data/refused/sink=influx_raw");
    Map<String, String> changed = new LinkedHashMap<>();
    changed.put("registry", "file:/data/registry.csv");
    Events.staticInputChanged(changed);
    Events.staticInputReloaded(5);
    Events.staticInputRefused("AnalysisException: column device_id is missing", false);
  }
}
