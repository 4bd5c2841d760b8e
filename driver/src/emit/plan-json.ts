/**
 * plan.json: the contract with the Spark runner (infrastructure/spark/runner). Its format is
 * specified by sql/plan.schema.json; `PlanJson` is that format as a type, the one the driver uses
 * from emit to stage (driver/test/plan-schema/plan-contract.test.ts keeps the two, and the
 * runner's Plan.java, in step). Emit builds the object; a deployment binds it
 * (deploy/bind-plan.ts); its text is made once, when the files are written or staged
 * (`planJsonText`). Key order is fixed so the text is byte-for-byte stable.
 */
import { WINDOW_COLUMNS } from "../spec/columns.js";
import type { PlanNode, SinkNode, SourceNode, TriggerNode, ViewNode } from "../plan/nodes.js";
import { viewInputs } from "../plan/view-inputs.js";
import { sqlFileName } from "./sql/view-sql.js";

export const PLAN_FORMAT = "sensor-streaming-plan/1";

/** Lines per InfluxDB write request; about 5000 is InfluxData's advice for batch size. */
export const INFLUX_BATCH_LINES = 5000;

/** A string the schema marks "Template": `${VAR}` as written in the spec until the plan is bound. */
type Template = string;

export interface KafkaSourceJson {
  readonly name: string;
  readonly kind: "kafka";
  readonly options: {
    readonly "kafka.bootstrap.servers": Template;
    readonly subscribe: Template;
    readonly startingOffsets: "earliest" | "latest";
    readonly maxOffsetsPerTrigger?: string;
  };
}

export interface FileSourceJson {
  readonly name: string;
  readonly kind: "file";
  readonly format: "csv" | "json" | "parquet";
  readonly path: Template;
  readonly options: { readonly header?: "true"; readonly ignoreLeadingWhiteSpace?: "true"; readonly ignoreTrailingWhiteSpace?: "true" };
}

export type SourceJson = KafkaSourceJson | FileSourceJson;

/** The shape of a windowed view's streaming state, for the driver's checkpoint compatibility check. */
export interface WindowStateJson {
  readonly kind: "window-aggregate";
  readonly window: { readonly size: string; readonly slide: string };
  readonly groupBy: readonly string[];
  readonly aggregates: readonly string[];
}

export interface ViewJson {
  readonly name: string;
  readonly sqlFile: string;
  /** The sources and earlier views the SQL reads, from the plan (for the checkpoint check's lineage). */
  readonly inputs: readonly string[];
  readonly watermark?: { readonly column: string; readonly delay: string };
  readonly state?: WindowStateJson;
}

export type TriggerJson = { readonly kind: "processing-time"; readonly interval: string } | { readonly kind: "available-now" };

export interface ParquetSinkJson {
  readonly name: string;
  readonly query: string;
  readonly checkpoint: Template;
  readonly outputMode: "append";
  readonly trigger: TriggerJson;
  readonly kind: "parquet";
  readonly path: Template;
  readonly partitionBy: readonly string[];
}

export interface InfluxWriteJson {
  readonly version: 1 | 2;
  readonly writeUrl: Template;
  readonly tokenEnv: string | null;
  readonly batchLines: number;
  readonly gzip: boolean;
  readonly refusedPath: Template;
}

export interface InfluxLinesSinkJson {
  readonly name: string;
  readonly query: string;
  readonly checkpoint: Template;
  readonly outputMode: "append";
  readonly trigger: TriggerJson;
  readonly kind: "influx-lines";
  readonly lineColumn: string;
  readonly influx: InfluxWriteJson;
}

export type SinkJson = ParquetSinkJson | InfluxLinesSinkJson;

export interface PlanJson {
  readonly format: typeof PLAN_FORMAT;
  readonly pipeline: string;
  readonly generatedFrom: string;
  readonly sparkConf: Readonly<Record<string, string>>;
  readonly sources: readonly SourceJson[];
  readonly views: readonly ViewJson[];
  readonly sinks: readonly SinkJson[];
}

function triggerJson(trigger: TriggerNode): TriggerJson {
  return trigger.kind === "available-now" ? { kind: "available-now" } : { kind: "processing-time", interval: trigger.interval.text };
}

function sourceJson(source: SourceNode): SourceJson {
  if (source.kind === "kafka-source") {
    const options = { "kafka.bootstrap.servers": source.bootstrapServers, subscribe: source.topic, startingOffsets: source.startingOffsets };
    return {
      name: source.name,
      kind: "kafka",
      options: source.maxOffsetsPerTrigger === undefined ? options : { ...options, maxOffsetsPerTrigger: String(source.maxOffsetsPerTrigger) },
    };
  }
  const options = source.format === "csv" ? ({ header: "true", ignoreLeadingWhiteSpace: "true", ignoreTrailingWhiteSpace: "true" } as const) : {};
  return { name: source.name, kind: "file", format: source.format, path: source.path, options };
}

function viewJson(view: ViewNode, index: number): ViewJson {
  const body = view.body;
  return {
    name: view.name,
    sqlFile: sqlFileName(index, view),
    inputs: viewInputs(body),
    ...(view.watermark === undefined ? {} : { watermark: { column: view.watermark.column, delay: view.watermark.delay.text } }),
    ...(body.kind !== "window-aggregate"
      ? {}
      : {
          state: {
            kind: "window-aggregate",
            window: { size: body.window.size.text, slide: body.window.slide.text },
            groupBy: body.groupBy.map((c) => c.name),
            aggregates: [WINDOW_COLUMNS.readings, ...body.statistics.map((s) => s.column), ...body.correlations.flatMap((c) => [c.column, c.pairsColumn])],
          },
        }),
  };
}

function sinkJson(sink: SinkNode): SinkJson {
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

export function planJson(plan: PlanNode): PlanJson {
  return {
    format: PLAN_FORMAT,
    pipeline: plan.pipeline,
    generatedFrom: plan.specFile,
    sparkConf: plan.sparkConf,
    sources: plan.sources.map(sourceJson),
    views: plan.views.map(viewJson),
    sinks: plan.sinks.map(sinkJson),
  };
}

/** The text of plan.json, as `compile` writes it and staging copies it. */
export function planJsonText(plan: PlanJson): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
