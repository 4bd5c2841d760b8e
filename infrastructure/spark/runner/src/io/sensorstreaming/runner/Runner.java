package io.sensorstreaming.runner;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.UnsupportedOperationChecker;
import org.apache.spark.sql.streaming.DataStreamWriter;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;

/**
 * The generic runner: executes a compiled plan.json and nothing else. It registers the sources,
 * runs each view's SQL, applies the declared watermark, starts every sink, reports progress and
 * stops gracefully when the stop marker appears. All pipeline logic is in the plan's SQL.
 *
 * <pre>
 * Usage: Runner PLAN_JSON [--explain] [--stop-file PATH]
 *   --explain    analyse every view and check every sink query against Spark's streaming rules,
 *                print their schemas, start nothing, and exit (0 when Spark accepts all of it)
 *   --stop-file  marker whose appearance stops the job gracefully (default: STOP beside the plan)
 * </pre>
 *
 * <p>A query that fails is restarted alone from its checkpoint (QuerySupervisor); the job runs on.
 *
 * <p>Exit codes: 0 stopped or finished, 1 the runner itself failed, 2 bad usage or plan, 3 Spark
 * rejected SQL.
 */
public final class Runner {
  private Runner() {}

  /** Spark refused a view's SQL; the message names the view and its file. */
  static final class SqlRejected extends RuntimeException {
    SqlRejected(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public static void main(String[] args) {
    int code;
    try {
      code = run(args);
    } catch (Plan.PlanException e) {
      System.err.println("sensor-streaming runner: " + e.getMessage());
      code = 2;
    } catch (SqlRejected | org.apache.spark.sql.AnalysisException e) {
      System.err.println("sensor-streaming runner: Spark rejected the plan: " + e.getMessage());
      code = 3;
    } catch (Exception e) {
      System.err.println("sensor-streaming runner: " + e);
      e.printStackTrace();
      code = 1;
    }
    Events.runnerExit(code);
    System.exit(code);
  }

  static int run(String[] args) throws Exception {
    String planFile = null;
    boolean explain = false;
    String stopFile = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--explain":
          explain = true;
          break;
        case "--stop-file":
          if (i + 1 >= args.length) throw new Plan.PlanException("--stop-file needs a path");
          stopFile = args[++i];
          break;
        default:
          if (planFile != null)
            throw new Plan.PlanException(
                "unexpected argument "
                    + args[i]
                    + "; usage: Runner PLAN_JSON [--explain] [--stop-file PATH]");
          planFile = args[i];
      }
    }
    if (planFile == null)
      throw new Plan.PlanException("usage: Runner PLAN_JSON [--explain] [--stop-file PATH]");
    Plan plan = Plan.read(Path.of(planFile));

    SparkSession.Builder builder =
        SparkSession.builder().appName("sensor-streaming " + plan.pipeline);
    for (Map.Entry<String, String> entry : plan.sparkConf.entrySet())
      builder.config(entry.getKey(), entry.getValue());
    SparkSession spark = builder.getOrCreate();
    // Spark's INFO lines would bury the runner's events and crowd them out of the few thousand
    // log lines Livy keeps per batch; warnings and errors still reach the log.
    spark.sparkContext().setLogLevel("WARN");

    // The files are looked at before they are read, so a change in between counts as a change.
    StaticInputs inputs = new StaticInputs(plan, spark.sparkContext().hadoopConfiguration());
    registerSources(spark, plan);
    registerViews(spark, plan);
    if (explain) return explain(spark, plan);

    // The marker is not cleared here: a stop asked for while the job was starting must count.
    // Whoever starts the runner removes a stale marker first; the runner removes it after a stop.
    // Hadoop's Path takes the text after "file://" literally: a percent-encoded URI (Path.toUri)
    // would name a folder "a%20b" for "a b".
    String defaultStop = "file://" + plan.dir.resolve("STOP").toAbsolutePath();
    StopMarker stop =
        new StopMarker(
            stopFile != null ? stopFile : defaultStop, spark.sparkContext().hadoopConfiguration());
    spark.streams().addListener(new Events());
    QuerySupervisor queries =
        new QuerySupervisor(
            spark,
            sinkStarters(spark, plan),
            inputs,
            () -> {
              registerSources(spark, plan);
              registerViews(spark, plan);
              return sinkStarters(spark, plan);
            });
    Events.runnerStarted(plan.pipeline, queries.startAll(), stop.toString());
    return queries.superviseUntilStopped(stop);
  }

  private static void registerSources(SparkSession spark, Plan plan) {
    for (JsonNode source : plan.sources) {
      String name = Plan.text(source, "name");
      Map<String, String> options = Plan.strings(source.path("options"));
      Dataset<Row> df;
      switch (Plan.text(source, "kind")) {
        case "kafka":
          df = spark.readStream().format("kafka").options(options).load();
          break;
        case "file":
          {
            // Read once into the driver and kept in the plan (a local relation): every micro-batch
            // and every executor sees this snapshot, whatever happens to the file later; a changed
            // file is read again by StaticInputs' reload. Static sources are small (the registry).
            Dataset<Row> read =
                spark
                    .read()
                    .format(Plan.text(source, "format"))
                    .options(options)
                    .load(Plan.text(source, "path"));
            df = spark.createDataFrame(read.collectAsList(), read.schema());
            break;
          }
        default:
          throw new Plan.PlanException(
              "source " + name + " has an unknown kind " + source.path("kind"));
      }
      df.createOrReplaceTempView(name);
    }
  }

  private static void registerViews(SparkSession spark, Plan plan) throws java.io.IOException {
    for (JsonNode view : plan.views) {
      String name = Plan.text(view, "name");
      Dataset<Row> df;
      try {
        df = spark.sql(plan.sql(view));
      } catch (Exception e) {
        // Scala declares no checked exceptions, so Spark's AnalysisException is caught here.
        if (!(e instanceof org.apache.spark.sql.AnalysisException)) throw e;
        throw new SqlRejected(
            "view " + name + " (" + Plan.text(view, "sqlFile") + "): " + e.getMessage(), e);
      }
      JsonNode watermark = view.get("watermark");
      if (watermark != null)
        df = df.withWatermark(Plan.text(watermark, "column"), Plan.text(watermark, "delay"));
      df.createOrReplaceTempView(name);
    }
  }

  /** Spark checks streaming rules (e.g. append mode needs a watermark) only when a query starts. */
  private static int explain(SparkSession spark, Plan plan) {
    for (JsonNode sink : plan.sinks) {
      String query = Plan.text(sink, "query");
      Dataset<Row> df = spark.table(query);
      OutputMode mode = outputMode(Plan.text(sink, "outputMode"));
      if (df.isStreaming())
        UnsupportedOperationChecker.checkForStreaming(df.queryExecution().analyzed(), mode);
      System.out.println(
          "sink "
              + Plan.text(sink, "name")
              + " <- "
              + query
              + " ("
              + Plan.text(sink, "kind")
              + ", "
              + Plan.text(sink, "outputMode")
              + ")");
      System.out.print(df.schema().treeString());
    }
    Events.explainOk(plan.pipeline, plan.views.size(), plan.sinks.size());
    return 0;
  }

  private static OutputMode outputMode(String mode) {
    switch (mode) {
      case "append":
        return OutputMode.Append();
      case "update":
        return OutputMode.Update();
      case "complete":
        return OutputMode.Complete();
      default:
        throw new Plan.PlanException("unknown output mode " + mode);
    }
  }

  private static Trigger trigger(JsonNode trigger) {
    switch (Plan.text(trigger, "kind")) {
      case "processing-time":
        return Trigger.ProcessingTime(Plan.text(trigger, "interval"));
      case "available-now":
        return Trigger.AvailableNow();
      default:
        throw new Plan.PlanException("unknown trigger " + trigger);
    }
  }

  /**
   * Starts one sink's query; called again, with the same checkpoint, when the runner restarts it.
   */
  interface SinkStarter {
    StreamingQuery start() throws java.util.concurrent.TimeoutException;
  }

  private static Map<String, SinkStarter> sinkStarters(SparkSession spark, Plan plan) {
    // Every token is checked before any query starts, so a missing one fails fast and clearly.
    for (JsonNode sink : plan.sinks) {
      JsonNode tokenEnv = sink.path("influx").path("tokenEnv");
      if (tokenEnv.isTextual()
          && (System.getenv(tokenEnv.asText()) == null
              || System.getenv(tokenEnv.asText()).isEmpty())) {
        throw new Plan.PlanException(
            "sink "
                + Plan.text(sink, "name")
                + " needs the InfluxDB token in the environment variable "
                + tokenEnv.asText()
                + ", which is not set for the Spark driver");
      }
    }
    Map<String, SinkStarter> starters = new LinkedHashMap<>();
    for (JsonNode sink : plan.sinks) {
      String name = Plan.text(sink, "name");
      DataStreamWriter<Row> writer = writer(spark, sink, name);
      starters.put(
          name,
          () ->
              writer
                  .queryName(name)
                  .option("checkpointLocation", Plan.text(sink, "checkpoint"))
                  .outputMode(outputMode(Plan.text(sink, "outputMode")))
                  .trigger(trigger(sink.path("trigger")))
                  .start());
    }
    return starters;
  }

  private static DataStreamWriter<Row> writer(SparkSession spark, JsonNode sink, String name) {
    Dataset<Row> df = spark.table(Plan.text(sink, "query"));
    switch (Plan.text(sink, "kind")) {
      case "parquet":
        {
          List<String> partitionBy = Plan.textList(sink.path("partitionBy"));
          DataStreamWriter<Row> writer =
              df.writeStream().format("parquet").option("path", Plan.text(sink, "path"));
          return partitionBy.isEmpty()
              ? writer
              : writer.partitionBy(partitionBy.toArray(new String[0]));
        }
      case "noop":
        // Reads and computes everything, writes nothing: the ceiling of the benchmark (bench/).
        // The compiler never writes this kind.
        return df.writeStream().format("noop");
      case "influx-lines":
        {
          JsonNode influx = sink.path("influx");
          JsonNode tokenEnv = influx.path("tokenEnv");
          InfluxWriter influxWriter =
              new InfluxWriter(
                  name,
                  Plan.text(influx, "writeUrl"),
                  tokenEnv.isTextual() ? System.getenv(tokenEnv.asText()) : null,
                  influx.path("batchLines").asInt(5000),
                  influx.path("gzip").asBoolean(true));
          RefusedPoints refused =
              new RefusedPoints(
                  name,
                  influx.path("refusedPath").isTextual()
                      ? influx.path("refusedPath").asText()
                      : null);
          String column = Plan.text(sink, "lineColumn");
          VoidFunction2<Dataset<Row>, Long> post =
              (batch, batchId) -> {
                InfluxWriter.Outcome outcome =
                    influxWriter.write(
                        batch.select(column).as(Encoders.STRING()).toLocalIterator());
                refused.record(batch.sparkSession(), batchId, outcome.refused());
                Events.influxWritten(name, batchId, outcome.written(), outcome.refused().size());
              };
          return df.writeStream().foreachBatch(post);
        }
      default:
        throw new Plan.PlanException("sink " + name + " has an unknown kind " + sink.path("kind"));
    }
  }
}
