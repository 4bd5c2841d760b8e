/**
 * plan.json: the contract with the Spark runner (infrastructure/spark/runner). Its format is
 * specified by sql/plan.schema.json. Key order is fixed so output is byte-for-byte stable.
 */
import { WINDOW_COLUMNS } from "../spec/columns.js";
import type { PlanNode, SinkNode, SourceNode, TriggerNode, ViewNode } from "../plan/nodes.js";
import { sqlFileName } from "./sql/view-sql.js";

export const PLAN_FORMAT = "sensor-streaming-plan/1";

/** Lines per InfluxDB write request; about 5000 is InfluxData's advice for batch size. */
export const INFLUX_BATCH_LINES = 5000;

function triggerJson(trigger: TriggerNode): object {
  return trigger.kind === "available-now" ? { kind: "available-now" } : { kind: "processing-time", interval: trigger.interval.text };
}

function sourceJson(source: SourceNode): object {
  if (source.kind === "kafka-source") {
    const options: Record<string, string> = {
      "kafka.bootstrap.servers": source.bootstrapServers,
      subscribe: source.topic,
      startingOffsets: source.startingOffsets,
    };
    if (source.maxOffsetsPerTrigger !== undefined) options.maxOffsetsPerTrigger = String(source.maxOffsetsPerTrigger);
    return { name: source.name, kind: "kafka", options };
  }
  const options: Record<string, string> = source.format === "csv" ? { header: "true", ignoreLeadingWhiteSpace: "true", ignoreTrailingWhiteSpace: "true" } : {};
  return { name: source.name, kind: "file", format: source.format, path: source.path, options };
}

function viewJson(view: ViewNode, index: number): object {
  const json: Record<string, unknown> = { name: view.name, sqlFile: sqlFileName(index, view) };
  if (view.watermark !== undefined) json.watermark = { column: view.watermark.column, delay: view.watermark.delay.text };
  // The shape of the view's streaming state, for the driver's checkpoint compatibility check.
  if (view.body.kind === "window-aggregate") {
    const body = view.body;
    json.state = {
      kind: "window-aggregate",
      window: { size: body.window.size.text, slide: body.window.slide.text },
      groupBy: body.groupBy.map((c) => c.name),
      aggregates: [WINDOW_COLUMNS.readings, ...body.statistics.map((s) => s.column), ...body.correlations.flatMap((c) => [c.column, c.pairsColumn])],
    };
  }
  return json;
}

function sinkJson(sink: SinkNode): object {
  const common = { name: sink.name, query: sink.query, checkpoint: sink.checkpoint, outputMode: sink.outputMode, trigger: triggerJson(sink.trigger) };
  if (sink.kind === "parquet-sink") {
    return { ...common, kind: "parquet", path: sink.path, partitionBy: sink.partitionBy };
  }
  return {
    ...common,
    kind: "influx-lines",
    lineColumn: sink.lineColumn,
    influx: {
      version: sink.write.version,
      writeUrl: `${sink.write.url}${sink.write.endpoint}`,
      tokenEnv: sink.write.tokenEnv ?? null,
      batchLines: INFLUX_BATCH_LINES,
      gzip: true,
      refusedPath: sink.refusedPath,
    },
  };
}

export function planJson(plan: PlanNode): string {
  const json = {
    format: PLAN_FORMAT,
    pipeline: plan.pipeline,
    generatedFrom: plan.specFile,
    sparkConf: plan.sparkConf,
    sources: plan.sources.map(sourceJson),
    views: plan.views.map(viewJson),
    sinks: plan.sinks.map(sinkJson),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}
