package io.sensorstreaming.runner;

import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The dead-letter output of an InfluxDB sink: the lines InfluxDB refused, with its status and
 * message, as Parquet under {@code <refusedPath>/sink=<sink>/checkpoint=<query id>/batch_id=<n>/}.
 * A replayed micro-batch overwrites its own folder (or removes it when nothing is refused any
 * more), so a replay neither loses nor duplicates a refusal. The query id (kept in the checkpoint)
 * keeps a query that starts over on a new checkpoint, whose batch numbers begin at 0 again, from
 * overwriting the refusals of the old one.
 */
final class RefusedPoints {
  static final StructType SCHEMA =
      new StructType()
          .add("sink", DataTypes.StringType, false)
          .add("batch_id", DataTypes.LongType, false)
          .add("line", DataTypes.StringType, false)
          .add("status", DataTypes.IntegerType, false)
          .add("reason", DataTypes.StringType, false)
          .add("refused_at", DataTypes.TimestampType, false);

  private final String sink;
  private final String path;
  private final AtomicLong total = new AtomicLong();

  /**
   * path: the folder, or null when the plan has none (the refusals are then only reported);
   * checkpoint: the query's checkpoint location.
   */
  RefusedPoints(String sink, String path) {
    this.sink = sink;
    this.path = path == null ? null : path.replaceAll("/+$", "") + "/sink=" + sink;
  }

  /**
   * The query's id, which Spark keeps in the checkpoint's metadata and sets as a local property of
   * the thread that runs the micro-batch (and so the foreachBatch function): a new checkpoint, even
   * at the same location, is a new id.
   */
  private String batchFolder(SparkSession spark, long batchId) {
    String queryId = spark.sparkContext().getLocalProperty("sql.streaming.queryId");
    return path + "/checkpoint=" + (queryId == null ? "unknown" : queryId) + "/batch_id=" + batchId;
  }

  void record(SparkSession spark, long batchId, List<InfluxWriter.Refusal> refused)
      throws java.io.IOException {
    if (refused.isEmpty()) {
      // A replay of a batch that had refusals the first time, which InfluxDB now takes.
      if (path != null) {
        Path folder = new Path(batchFolder(spark, batchId));
        try {
          FileSystem fs = folder.getFileSystem(spark.sparkContext().hadoopConfiguration());
          if (fs.exists(folder)) fs.delete(folder, true);
        } catch (java.io.IOException e) {
          // The points are written; a stale dead letter is better than failing the batch for it.
          System.err.println(
              "sensor-streaming runner: could not remove the stale refusals in "
                  + folder
                  + ": "
                  + e);
        }
      }
      return;
    }
    if (path != null) {
      Timestamp now = new Timestamp(System.currentTimeMillis());
      List<Row> rows = new ArrayList<>(refused.size());
      for (InfluxWriter.Refusal r : refused)
        rows.add(RowFactory.create(sink, batchId, r.line(), r.status(), r.reason(), now));
      spark
          .createDataFrame(rows, SCHEMA)
          .coalesce(1)
          .write()
          .mode(SaveMode.Overwrite)
          .parquet(batchFolder(spark, batchId));
    }
    Events.influxRefused(
        sink,
        batchId,
        refused.size(),
        refused.get(0).status(),
        refused.get(0).reason(),
        total.addAndGet(refused.size()),
        path);
  }
}
