package io.sensorstreaming.runner;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;

/**
 * Keeps every sink's query running until the stop marker appears. A query that fails is restarted
 * alone, from its own checkpoint (so nothing is lost or written twice), after a capped exponential
 * backoff; the other queries are not touched. One sink's trouble never stops another sink, least of
 * all the Parquet archive. A query that ends without an error (an available-now trigger that has
 * caught up) is not restarted; the runner ends when every query has ended. When the files of a
 * static source (the registry) change, every query is rebuilt and restarted from its checkpoint
 * ({@link StaticInputs}).
 */
final class QuerySupervisor {
  static final long FIRST_RESTART_MS = 5_000;
  static final long MAX_RESTART_MS = TimeUnit.MINUTES.toMillis(5);

  /** A query that ran this long before failing starts its backoff from the beginning again. */
  static final long STABLE_MS = TimeUnit.MINUTES.toMillis(10);

  /** How often the runner says it is alive (StopMarker.heartbeat). */
  static final long HEARTBEAT_MS = TimeUnit.SECONDS.toMillis(5);

  private final SparkSession spark;
  private final Map<String, Runner.SinkStarter> starters = new LinkedHashMap<>();
  private final StaticInputs inputs;
  private final Rebuild rebuild;
  private final Map<String, StreamingQuery> running = new LinkedHashMap<>();
  private final Map<String, Long> startedAt = new HashMap<>();
  private final Map<String, Integer> attempts = new HashMap<>();
  private final Map<String, Long> restartAt = new LinkedHashMap<>();

  /**
   * Reads the sources and views again and returns new starters (the old ones keep the old data).
   */
  interface Rebuild {
    Map<String, Runner.SinkStarter> starters() throws Exception;
  }

  QuerySupervisor(
      SparkSession spark,
      Map<String, Runner.SinkStarter> starters,
      StaticInputs inputs,
      Rebuild rebuild) {
    this.spark = spark;
    this.starters.putAll(starters);
    this.inputs = inputs;
    this.rebuild = rebuild;
  }

  /** Starts every query; a query that cannot start now is retried like a failed one. */
  int startAll() {
    for (String name : starters.keySet()) start(name);
    return running.size() + restartAt.size();
  }

  private void start(String name) {
    // Counted from the attempt, so that a start that throws does not look like a long, stable run.
    startedAt.put(name, System.currentTimeMillis());
    try {
      running.put(name, starters.get(name).start());
    } catch (Exception e) {
      scheduleRestart(name, e);
    }
  }

  /**
   * A stopped SparkContext (the cluster removed the application, or the driver ran out of memory)
   * cannot run any query again: the runner ends non-zero so that Livy reports the job dead and the
   * driver's supervisor submits a new one, instead of restarting queries that cannot start.
   */
  static final class ContextLost extends RuntimeException {
    ContextLost() {
      super("the SparkContext has stopped; no query can run in this driver any more");
    }
  }

  /** Returns the exit code: 0 after a graceful stop or when every query has finished. */
  int superviseUntilStopped(StopMarker stop) throws Exception {
    // From a thread of its own, so that the beat goes on while queries start or stop slowly.
    java.util.concurrent.ScheduledExecutorService beats =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "sensor-streaming-heartbeat");
              thread.setDaemon(true);
              return thread;
            });
    beats.scheduleAtFixedRate(stop::heartbeat, 0, HEARTBEAT_MS, TimeUnit.MILLISECONDS);
    try {
      return supervise(stop);
    } finally {
      beats.shutdownNow();
      beats.awaitTermination(5, TimeUnit.SECONDS);
      stop.clearHeartbeat();
    }
  }

  private int supervise(StopMarker stop) throws Exception {
    while (true) {
      try {
        spark.streams().awaitAnyTermination(TimeUnit.SECONDS.toMillis(1));
      } catch (StreamingQueryException e) {
        // A failed query: found and restarted below.
      }
      for (Map.Entry<String, StreamingQuery> entry : new ArrayList<>(running.entrySet())) {
        StreamingQuery query = entry.getValue();
        if (query.isActive()) continue;
        running.remove(entry.getKey());
        if (query.exception().isDefined()) scheduleRestart(entry.getKey(), query.exception().get());
      }
      spark.streams().resetTerminated();
      if (spark.sparkContext().isStopped()) throw new ContextLost();
      if (stop.present()) {
        Events.runnerStopping("stop marker " + stop);
        InfluxWriter.stopWaiting();
        stopAll(new ArrayList<>(running.values()));
        stop.clear();
        return 0;
      }
      long now = System.currentTimeMillis();
      for (Map.Entry<String, Long> due : new ArrayList<>(restartAt.entrySet())) {
        if (due.getValue() > now) continue;
        restartAt.remove(due.getKey());
        start(due.getKey());
        if (running.containsKey(due.getKey())) Events.queryRestarted(due.getKey());
      }
      Map<String, String> changed = inputs.changed();
      if (!changed.isEmpty()) reload(changed);
      if (running.isEmpty() && restartAt.isEmpty()) {
        Events.runnerFinished("every query has finished");
        return 0;
      }
    }
  }

  /**
   * The files of a static source changed: new starters read them; each running query is stopped
   * after its micro-batch and started again from its checkpoint. If the new files cannot be read
   * (say, a registry without the join key), the queries go on with what they read before.
   */
  private void reload(Map<String, String> changed) throws Exception {
    Events.staticInputChanged(changed);
    Map<String, Runner.SinkStarter> fresh;
    try {
      fresh = rebuild.starters();
    } catch (Exception e) {
      String cause = summary(e);
      // Files that do not fit the SQL wait for the next upload; anything else (HDFS away for a
      // moment) is tried again at the next looks.
      boolean refusedByAnalysis =
          e instanceof Runner.SqlRejected || e instanceof org.apache.spark.sql.AnalysisException;
      if (refusedByAnalysis) inputs.reloadRefused();
      System.err.println(
          "sensor-streaming runner: the changed static input cannot be used"
              + (refusedByAnalysis ? "" : " now")
              + ", the queries keep the old one: "
              + cause);
      Events.staticInputRefused(cause, !refusedByAnalysis);
      return;
    }
    starters.putAll(fresh);
    // One query at a time, each after its running micro-batch: every other sink keeps running
    // meanwhile, and no sink waits on another's (an InfluxDB sink waiting out an outage, say).
    List<String> names = new ArrayList<>(running.keySet());
    for (String name : names) {
      StreamingQuery query = running.remove(name);
      stopAll(List.of(query));
      spark.streams().resetTerminated();
      start(name);
    }
    inputs.reloaded();
    Events.staticInputReloaded(names.size());
  }

  private void scheduleRestart(String name, Throwable error) {
    long ranFor =
        System.currentTimeMillis() - startedAt.getOrDefault(name, System.currentTimeMillis());
    int attempt = ranFor >= STABLE_MS ? 1 : attempts.getOrDefault(name, 0) + 1;
    attempts.put(name, attempt);
    long delay = Math.min(FIRST_RESTART_MS << Math.min(attempt - 1, 16), MAX_RESTART_MS);
    restartAt.put(name, System.currentTimeMillis() + delay);
    String cause = summary(error);
    System.err.println(
        "sensor-streaming runner: query "
            + name
            + " failed (attempt "
            + attempt
            + "), restarting it in "
            + delay / 1000
            + " s: "
            + cause);
    Events.queryRestarting(name, attempt, cause, delay);
  }

  /** The first line of the error and of its root cause; Spark's messages embed whole plans. */
  static String summary(Throwable error) {
    Throwable root = error;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    String first = firstLine(error);
    String last = firstLine(root);
    String text = root == error || first.contains(last) ? first : first + " <- " + last;
    return text.length() > 600 ? text.substring(0, 600) + "..." : text;
  }

  private static String firstLine(Throwable t) {
    String message = t.getMessage() == null ? "" : t.getMessage().strip();
    int newline = message.indexOf('\n');
    return t.getClass().getSimpleName()
        + (message.isEmpty() ? "" : ": " + (newline < 0 ? message : message.substring(0, newline)));
  }

  /** Lets a running micro-batch finish (up to a minute) before stopping each query. */
  static void stopAll(List<StreamingQuery> queries) throws Exception {
    for (StreamingQuery query : queries) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (query.isActive() && query.status().isTriggerActive() && System.nanoTime() < deadline)
        Thread.sleep(200);
      query.stop();
      Events.queryStopped(query.name());
    }
  }
}
