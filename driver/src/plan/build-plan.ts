/** Spec -> plan. Runs only on a spec that validated without diagnostics. */
import { READING_COLUMNS, REJECTED_COLUMNS, WINDOW_COLUMNS } from "../spec/columns.js";
import type { Setting, Trigger } from "../spec/decoders.js";
import { fromMilliseconds, type Duration } from "../spec/duration.js";
import { buildMessageSchema } from "../spec/message-schema.js";
import { EVENT_TIME_LAST_DAY, type FieldType, type InfluxSinkSpec, type PipelineSpec, type StatisticFunction } from "../spec/pipeline-schema.js";
import {
  freezePlan,
  type Column,
  type ColumnType,
  type CorrelationColumn,
  type InfluxSinkNode,
  type LineProtocolNode,
  type MessageField,
  type PlanNode,
  type RejectRule,
  type SinkNode,
  type SourceNode,
  type StatisticColumn,
  type TriggerNode,
  type ViewNode,
} from "./nodes.js";

/** The default dead-letter folder of refused InfluxDB points, beside the rejected sink's. */
const INFLUX_REFUSED_FOLDER = "influx-refused";

export const SOURCE_NAMES = { kafka: "kafka_readings", registry: "registry_file" } as const;
export const VIEW_NAMES = {
  parsed: "parsed_readings",
  devices: "registry_devices",
  checked: "checked_readings",
  valid: "valid_readings",
  rejected: "rejected_readings",
  influxRaw: "influx_raw_lines",
  window: (name: string) => `window_${name}`,
  influxWindow: (name: string) => `influx_window_${name}_lines`,
} as const;

/**
 * Spark settings every pipeline runs with. UTC keeps dates and windows machine independent.
 *
 * The rest pin the SQL semantics the generated SQL is written for, so that a cluster default
 * (or Spark 4, where ANSI mode is the default) cannot change what a bad value does:
 * - ANSI mode off: a value that does not fit becomes null and ends in the dead letters with a
 *   reason, instead of throwing and stopping every query. The SQL does not rely on it where it
 *   can help it (it range-checks before converting, uses `get()` and `try_` functions), but
 *   implicit casts and arithmetic are checked on every row under ANSI mode.
 *   https://spark.apache.org/docs/3.5.1/sql-ref-ansi-compliance.html
 * - Backslash escapes in string literals are unescaped (the default), as `stringLiteral` and the
 *   line-protocol regexes assume.
 *   https://spark.apache.org/docs/3.5.1/sql-ref-literals.html#string-literal
 * - stddev and variance of one reading are null, not NaN (the default since Spark 3.1).
 *   https://spark.apache.org/docs/3.5.1/sql-migration-guide.html#upgrading-from-spark-sql-30-to-31
 */
const BASE_SPARK_CONF = {
  "spark.sql.session.timeZone": "UTC",
  "spark.sql.streaming.stateStore.stateSchemaCheck": "true",
  "spark.sql.ansi.enabled": "false",
  "spark.sql.parser.escapedStringLiterals": "false",
  "spark.sql.legacy.statisticalAggregate": "false",
} as const;

function trigger(value: Trigger): TriggerNode {
  return value.kind === "available-now" ? { kind: "available-now" } : { kind: "processing-time", interval: value.interval };
}

function statisticType(fn: StatisticFunction, metricType: FieldType): ColumnType {
  switch (fn) {
    case "mean":
    case "stddev":
    case "variance":
      return "double";
    case "count":
      return "long";
    case "sum":
      return metricType === "double" ? "double" : "long";
    case "min":
    case "max":
      return metricType;
  }
}

export function correlationPairs(spec: PipelineSpec): Array<readonly [string, string]> {
  const pairs: Array<readonly [string, string]> = [];
  const seen = new Set<string>();
  const add = (a: string, b: string): void => {
    const key = [a, b].sort().join("\u0000");
    if (!seen.has(key)) {
      seen.add(key);
      pairs.push([a, b]);
    }
  };
  for (const pair of spec.correlations?.pairs?.value ?? []) add(pair.value[0]!.value, pair.value[1]!.value);
  const all = spec.correlations?.allPairsOf?.value.map((m) => m.value) ?? [];
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) add(all[i]!, all[j]!);
  return pairs;
}

export function buildPlan(spec: PipelineSpec, specFile: string): PlanNode {
  const fields: MessageField[] = spec.source.fields.value.map((f) => ({
    name: f.name.value,
    path: f.value.path.value,
    type: f.value.type.value,
    required: f.value.required.value,
  }));
  const fieldType = new Map(fields.map((f) => [f.name, f.type] as const));
  const registryColumns = spec.registry.columns.value.map((c) => c.value);
  const columnType = (name: string): ColumnType => fieldType.get(name) ?? (name === READING_COLUMNS.eventDate ? "date" : "string");
  const eventTimeField = spec.source.eventTime.field.value;
  // Checkpoints are per pipeline, so two pipelines sharing a CHECKPOINT_DIR never share state.
  const checkpoints = `${spec.storage.checkpoints.template}/${spec.name.value}`;

  const sources: SourceNode[] = [
    {
      kind: "kafka-source",
      name: SOURCE_NAMES.kafka,
      bootstrapServers: spec.source.kafka.bootstrapServers.template,
      topic: spec.source.kafka.topic.template,
      startingOffsets: spec.source.kafka.startingOffsets.value,
      maxOffsetsPerTrigger: spec.source.kafka.maxOffsetsPerTrigger?.value,
    },
    { kind: "file-source", name: SOURCE_NAMES.registry, format: spec.registry.format.value, path: spec.registry.path.template },
  ];

  const rejectRules: RejectRule[] = [{ kind: "malformed" }];
  const eventTimePath = fields.find((f) => f.name === eventTimeField)!.path;
  for (const field of fields) {
    const isKey = field.name === spec.registry.joinOn.value;
    if ((field.required || isKey) && field.name !== eventTimeField) {
      rejectRules.push({ kind: "missing-field", field: field.name, path: field.path });
    }
  }
  for (const field of fields) {
    if (field.type === "double" && field.name !== eventTimeField) rejectRules.push({ kind: "not-finite", field: field.name, path: field.path });
  }
  const eventTime = { field: eventTimeField, unit: spec.source.eventTime.unit.value, notBefore: spec.source.eventTime.notBefore.value };
  rejectRules.push({ kind: "missing-event-time", field: eventTimeField, path: eventTimePath });
  rejectRules.push({ kind: "event-time-out-of-range", path: eventTimePath, eventTime });
  rejectRules.push({ kind: "event-time-ahead", field: eventTimeField, path: eventTimePath, maxAhead: maxAhead(spec) });
  if (spec.registry.unregistered.value === "reject") rejectRules.push({ kind: "unregistered" });

  const validColumns = [...fields.map((f) => f.name), ...registryColumns, ...Object.values(READING_COLUMNS)];
  const rejectedColumns = [
    READING_COLUMNS.kafkaPartition,
    READING_COLUMNS.kafkaOffset,
    READING_COLUMNS.kafkaTimestamp,
    REJECTED_COLUMNS.kafkaDate,
    spec.registry.joinOn.value,
    REJECTED_COLUMNS.message,
    REJECTED_COLUMNS.reason,
  ];

  const watermark = spec.source.watermark?.value;
  const views: ViewNode[] = [
    {
      kind: "view",
      name: VIEW_NAMES.parsed,
      purpose:
        "Parse each Kafka record once with the declared JSON schema; " +
        `extract fields, and the event time when it is from ${eventTime.notBefore.text} to ${EVENT_TIME_LAST_DAY}.`,
      body: {
        kind: "parse-messages",
        from: SOURCE_NAMES.kafka,
        schema: buildMessageSchema(spec.source.fields.value).schema,
        fields,
        eventTime,
      },
      watermark: undefined,
    },
    {
      kind: "view",
      name: VIEW_NAMES.devices,
      purpose: "One registry row per device; duplicates resolve to the smallest row, deterministically.",
      body: { kind: "registry-devices", from: SOURCE_NAMES.registry, key: spec.registry.key.value, columns: registryColumns },
      watermark: undefined,
    },
    {
      kind: "view",
      name: VIEW_NAMES.checked,
      purpose: "Join readings with the registry and name the reason a reading is rejected (null when valid).",
      body: {
        kind: "join-registry",
        readings: VIEW_NAMES.parsed,
        devices: VIEW_NAMES.devices,
        joinOn: spec.registry.joinOn.value,
        key: spec.registry.key.value,
        fields: fields.map((f) => f.name),
        registryColumns,
        rejectRules,
      },
      watermark: undefined,
    },
    {
      kind: "view",
      name: VIEW_NAMES.valid,
      purpose: "Valid readings: the raw output and the input of every window.",
      body: { kind: "select-checked", from: VIEW_NAMES.checked, outcome: "valid", columns: validColumns },
      watermark: watermark === undefined ? undefined : { column: READING_COLUMNS.eventTime, delay: watermark },
    },
    {
      kind: "view",
      name: VIEW_NAMES.rejected,
      purpose: "Rejected readings for the dead-letter sink: the message as received and the reason.",
      body: { kind: "select-checked", from: VIEW_NAMES.checked, outcome: "rejected", columns: rejectedColumns },
      watermark: undefined,
    },
  ];

  const sinks: SinkNode[] = [
    parquetSink("raw_parquet", VIEW_NAMES.valid, spec.sinks.raw, checkpoints),
    parquetSink("rejected_parquet", VIEW_NAMES.rejected, spec.sinks.rejected, checkpoints),
  ];

  const influx = spec.sinks.influxdb;
  const pairs = correlationPairs(spec);
  if (influx !== undefined && influx.raw.enabled.value) {
    const tagNames = influx.raw.tags.value.map((t) => t.value);
    const lines: LineProtocolNode = {
      kind: "line-protocol",
      from: VIEW_NAMES.valid,
      tags: [...tagNames].sort().map((name) => ({ key: name, column: name, type: columnType(name) })),
      constantTags: [],
      points: [
        {
          measurement: influx.measurements.raw.value,
          fields: fields.filter((f) => !tagNames.includes(f.name) && f.name !== eventTimeField).map((f) => ({ key: f.name, column: f.name, type: f.type })),
        },
      ],
      timestampColumn: READING_COLUMNS.eventTime,
    };
    views.push({
      kind: "view",
      name: VIEW_NAMES.influxRaw,
      purpose: "Raw readings as InfluxDB line protocol, timestamped at event time.",
      body: lines,
      watermark: undefined,
    });
    sinks.push(influxSink("influx_raw", VIEW_NAMES.influxRaw, influx, checkpoints, "raw", refusedPath(influx, spec.sinks.rejected.path)));
  }

  for (const window of spec.windows.value) {
    const name = window.name.value;
    const groupBy: Column[] = window.groupBy.value.map((c) => ({ name: c.value, type: columnType(c.value) }));
    const statistics: StatisticColumn[] = [];
    for (const metric of spec.statistics?.metrics.value ?? []) {
      for (const fn of spec.statistics!.functions.value) {
        const type = fieldType.get(metric.value)!;
        statistics.push({ metric: metric.value, fn: fn.value, column: `${metric.value}_${fn.value}`, type: statisticType(fn.value, type) });
      }
    }
    const correlations: CorrelationColumn[] = pairs.map(([a, b]) => ({ a, b, column: `${a}__${b}`, pairsColumn: `${a}__${b}__n` }));
    const size = window.size.value;
    views.push({
      kind: "view",
      name: VIEW_NAMES.window(name),
      purpose:
        `${
          [statistics.length > 0 ? "Statistics" : "", correlations.length > 0 ? (statistics.length > 0 ? "correlations" : "Correlations") : ""]
            .filter((x) => x !== "")
            .join(" and ") || "Readings counted"
        } per ${groupBy.map((c) => c.name).join(", ")} over ${size.text} windows` +
        `${window.slide === undefined || window.slide.value.ms === size.ms ? "" : ` sliding every ${window.slide.value.text}`}.`,
      body: { kind: "window-aggregate", from: VIEW_NAMES.valid, window: { name, size, slide: window.slide?.value ?? size }, groupBy, statistics, correlations },
      watermark: undefined,
    });
    if (influx === undefined) continue;
    const tags = groupBy.map((c) => ({ key: c.name, column: c.name, type: c.type }));
    views.push({
      kind: "view",
      name: VIEW_NAMES.influxWindow(name),
      purpose:
        `Window ${name} as InfluxDB line protocol: ` +
        `${correlations.length > 0 ? "a statistics and a correlation point" : "a statistics point"} per group, at the window end.`,
      body: {
        kind: "line-protocol",
        from: VIEW_NAMES.window(name),
        tags: [...tags].sort((x, y) => x.key.localeCompare(y.key)),
        constantTags: [{ key: WINDOW_COLUMNS.windowTag, value: name }],
        points: [
          {
            measurement: influx.measurements.statistics.value,
            fields: [
              { key: WINDOW_COLUMNS.readings, column: WINDOW_COLUMNS.readings, type: "long" as const },
              ...statistics.map((s) => ({ key: s.column, column: s.column, type: s.type })),
            ],
          },
          {
            measurement: influx.measurements.correlations.value,
            fields: correlations.map((c) => ({
              key: c.column,
              column: c.column,
              type: "double" as const,
              companion: { key: c.pairsColumn, column: c.pairsColumn },
            })),
          },
        ].filter((p) => p.fields.length > 0),
        timestampColumn: WINDOW_COLUMNS.end,
      },
      watermark: undefined,
    });
    sinks.push(
      influxSink(`influx_window_${name}`, VIEW_NAMES.influxWindow(name), influx, checkpoints, "window", refusedPath(influx, spec.sinks.rejected.path)),
    );
  }

  return freezePlan({
    kind: "plan",
    pipeline: spec.name.value,
    description: spec.description?.value,
    specFile,
    sparkConf: { ...BASE_SPARK_CONF, "spark.sql.shuffle.partitions": String(spec.shufflePartitions.value) },
    sources,
    views,
    sinks,
  });
}

function parquetSink(name: string, query: string, sink: PipelineSpec["sinks"]["raw"], checkpoints: string): SinkNode {
  return {
    kind: "parquet-sink",
    name,
    query,
    path: sink.path.template,
    checkpoint: sink.checkpoint?.template ?? `${checkpoints}/${name}`,
    partitionBy: sink.partitionBy.value.map((c) => c.value),
    trigger: trigger(sink.trigger.value),
    outputMode: "append",
  };
}

/**
 * The spec's `refusedPath`, or the folder `influx-refused` beside the rejected sink's folder.
 * When the rejected path's last segment is plain text its parent is cut off here; otherwise
 * (`${REJECTED_PATH}`, a bare `rejected`) the result goes through `..`, which both Hadoop's
 * Path and the driver's binding normalise.
 */
function refusedPath(influx: InfluxSinkSpec, rejectedPath: Setting): string {
  if (influx.refusedPath !== undefined) return influx.refusedPath.template;
  const folder = rejectedPath.template.replace(/(.)\/+$/, "$1");
  const cut = folder.lastIndexOf("/");
  const parent = folder.slice(0, cut);
  // A "/" inside `${VAR:-default}` is followed by the closing "}".
  const plainLastSegment = cut >= 0 && !/[$}]/.test(folder.slice(cut)) && !/^[A-Za-z][A-Za-z0-9+.-]*:\/?$/.test(parent);
  return plainLastSegment ? `${parent}/${INFLUX_REFUSED_FOLDER}` : `${folder}/../${INFLUX_REFUSED_FOLDER}`;
}

function influxSink(name: string, query: string, influx: InfluxSinkSpec, checkpoints: string, writes: "raw" | "window", refused: string): InfluxSinkNode {
  const version = influx.version.value === "1" ? 1 : 2;
  const params =
    version === 1
      ? new URLSearchParams({ db: influx.database!.value, precision: "ms" })
      : new URLSearchParams({ org: influx.org!.value, bucket: influx.bucket!.value, precision: "ms" });
  return {
    kind: "influx-sink",
    name,
    query,
    lineColumn: "line",
    checkpoint: `${influx.checkpoint?.template ?? checkpoints}/${name}`,
    trigger: trigger(influx.trigger.value),
    outputMode: "append",
    write: {
      version,
      url: influx.url.template,
      endpoint: `${version === 1 ? "/write" : "/api/v2/write"}?${params.toString()}`,
      precision: "ms",
      tokenEnv: influx.tokenEnv?.value,
    },
    refusedPath: refused,
    writes,
  };
}

/** The spec's maxAhead; by default the watermark delay (which validation makes its upper bound), or a day. */
function maxAhead(spec: PipelineSpec): Duration {
  return spec.source.eventTime.maxAhead?.value ?? spec.source.watermark?.value ?? fromMilliseconds(86_400_000);
}
