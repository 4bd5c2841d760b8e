package io.sensorstreaming.runner;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The dead-letter output of an InfluxDB sink: the lines InfluxDB refused, with its status and
 * message, as Parquet under {@code <refusedPath>/sink=<sink>/batch_id=<n>/}. A replayed
 * micro-batch overwrites its own folder, so a replay neither loses nor duplicates a refusal.
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

  /** path: the folder, or null when the plan has none (the refusals are then only reported). */
  RefusedPoints(String sink, String path) {
    this.sink = sink;
    this.path = path == null ? null : path.replaceAll("/+$", "");
  }

  void record(SparkSession spark, long batchId, List<InfluxWriter.Refusal> refused) {
    if (refused.isEmpty()) return;
    if (path != null) {
      Timestamp now = new Timestamp(System.currentTimeMillis());
      List<Row> rows = new ArrayList<>(refused.size());
      for (InfluxWriter.Refusal r : refused) rows.add(RowFactory.create(sink, batchId, r.line(), r.status(), r.reason(), now));
      spark
          .createDataFrame(rows, SCHEMA)
          .coalesce(1)
          .write()
          .mode(SaveMode.Overwrite)
          .parquet(path + "/sink=" + sink + "/batch_id=" + batchId);
    }
    ObjectNode fields = Events.fields();
    fields.put("query", sink);
    fields.put("batchId", batchId);
    fields.put("lines", refused.size());
    fields.put("status", refused.get(0).status());
    fields.put("reason", refused.get(0).reason());
    fields.put("refusedTotal", total.addAndGet(refused.size()));
    if (path != null) fields.put("path", path);
    Events.emit("influx-refused", fields);
  }
}
