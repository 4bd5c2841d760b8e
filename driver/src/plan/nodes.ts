/**
 * The plan: an immutable, `kind`-tagged description of what runs, independent of YAML and of
 * SQL. The planner builds it from a validated spec; emitters turn it into SQL files, the
 * runner's plan.json and the `explain` summary.
 *
 * Values that depend on the deployment (endpoints, paths) are `Template`s: the text as written
 * in the spec, with `${VAR}` still in it, bound by the driver when it stages a plan.
 */
import type { CalendarDate } from "../spec/decoders.js";
import type { Duration } from "../spec/duration.js";
import type { JsonPathStep } from "../spec/json-path.js";
import type { SchemaNode } from "../spec/message-schema.js";
import type { FieldType, StatisticFunction, TimeUnit } from "../spec/pipeline-schema.js";

export type Template = string;
export type ColumnType = FieldType | "timestamp" | "date";

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

// ---- sources -------------------------------------------------------------------------------

export interface KafkaSourceNode {
  readonly kind: "kafka-source";
  readonly name: string;
  readonly bootstrapServers: Template;
  readonly topic: Template;
  readonly startingOffsets: "earliest" | "latest";
  readonly maxOffsetsPerTrigger: number | undefined;
}

export interface FileSourceNode {
  readonly kind: "file-source";
  readonly name: string;
  readonly format: "csv" | "json" | "parquet";
  readonly path: Template;
}

export type SourceNode = KafkaSourceNode | FileSourceNode;

// ---- view bodies ---------------------------------------------------------------------------

export interface MessageField {
  readonly name: string;
  readonly path: readonly JsonPathStep[];
  readonly type: FieldType;
  readonly required: boolean;
}

/**
 * Where the event time is and which values count as a time: from `notBefore` (UTC midnight) to
 * the end of year 9999, the last instant of Spark's timestamp range.
 */
export interface EventTimeNode {
  readonly field: string;
  readonly unit: TimeUnit;
  readonly notBefore: CalendarDate;
}

/** Kafka records -> one row per record: Kafka coordinates, the text, parsed fields, event time. */
export interface ParseMessagesNode {
  readonly kind: "parse-messages";
  readonly from: string;
  readonly schema: SchemaNode;
  readonly fields: readonly MessageField[];
  /** The event time is null when the field is null or not a time in range. */
  readonly eventTime: EventTimeNode;
}

/** The registry file -> one row per device (duplicates resolved deterministically). */
export interface RegistryDevicesNode {
  readonly kind: "registry-devices";
  readonly from: string;
  readonly key: string;
  readonly columns: readonly string[];
}

/** A check that rejects a reading, in the order they are tried; the first that fails wins. */
export type RejectRule =
  | { readonly kind: "malformed" }
  | { readonly kind: "missing-field"; readonly field: string; readonly path: readonly JsonPathStep[] }
  /** NaN or an infinity in a double field: JSON parsing accepts them, statistics cannot. */
  | { readonly kind: "not-finite"; readonly field: string; readonly path: readonly JsonPathStep[] }
  | { readonly kind: "missing-event-time"; readonly field: string; readonly path: readonly JsonPathStep[] }
  | { readonly kind: "event-time-out-of-range"; readonly path: readonly JsonPathStep[]; readonly eventTime: EventTimeNode }
  | { readonly kind: "event-time-ahead"; readonly field: string; readonly path: readonly JsonPathStep[]; readonly maxAhead: Duration }
  | { readonly kind: "unregistered" };

/** Parsed readings LEFT JOIN registry devices, with the reason a reading is rejected (or null). */
export interface JoinRegistryNode {
  readonly kind: "join-registry";
  readonly readings: string;
  readonly devices: string;
  readonly joinOn: string;
  readonly key: string;
  readonly fields: readonly string[];
  readonly registryColumns: readonly string[];
  readonly rejectRules: readonly RejectRule[];
}

/** The rows of a checked view that passed (columns listed) or failed (dead-letter columns). */
export interface SelectCheckedNode {
  readonly kind: "select-checked";
  readonly from: string;
  readonly outcome: "valid" | "rejected";
  readonly columns: readonly string[];
}

export interface StatisticColumn {
  readonly metric: string;
  readonly fn: StatisticFunction;
  readonly column: string;
  readonly type: ColumnType;
}

export interface CorrelationColumn {
  readonly a: string;
  readonly b: string;
  /** Pearson coefficient. */
  readonly column: string;
  /** Number of readings where both metrics are present. */
  readonly pairsColumn: string;
}

export interface WindowAggregateNode {
  readonly kind: "window-aggregate";
  readonly from: string;
  readonly window: { readonly name: string; readonly size: Duration; readonly slide: Duration };
  readonly groupBy: readonly Column[];
  readonly statistics: readonly StatisticColumn[];
  readonly correlations: readonly CorrelationColumn[];
}

export interface LineField {
  readonly key: string;
  readonly column: string;
  readonly type: ColumnType;
  /** Written in the same piece, only when this field is (a correlation's pair count). */
  readonly companion?: { readonly key: string; readonly column: string };
}

export interface LinePoint {
  readonly measurement: string;
  readonly fields: readonly LineField[];
}

/** Rows -> InfluxDB line protocol text, one `line` per point; points without fields vanish. */
export interface LineProtocolNode {
  readonly kind: "line-protocol";
  readonly from: string;
  readonly tags: readonly { readonly key: string; readonly column: string; readonly type: ColumnType }[];
  readonly constantTags: readonly { readonly key: string; readonly value: string }[];
  readonly points: readonly LinePoint[];
  readonly timestampColumn: string;
}

export type ViewBody = ParseMessagesNode | RegistryDevicesNode | JoinRegistryNode | SelectCheckedNode | WindowAggregateNode | LineProtocolNode;

export interface ViewNode {
  readonly kind: "view";
  readonly name: string;
  /** One line for the SQL header and `explain`. */
  readonly purpose: string;
  readonly body: ViewBody;
  readonly watermark: { readonly column: string; readonly delay: Duration } | undefined;
}

// ---- sinks ---------------------------------------------------------------------------------

export type TriggerNode = { readonly kind: "processing-time"; readonly interval: Duration } | { readonly kind: "available-now" };

export interface ParquetSinkNode {
  readonly kind: "parquet-sink";
  readonly name: string;
  readonly query: string;
  readonly path: Template;
  readonly checkpoint: Template;
  readonly partitionBy: readonly string[];
  readonly trigger: TriggerNode;
  readonly outputMode: "append";
}

export interface InfluxWriteNode {
  readonly version: 1 | 2;
  /** Base URL; may be a template. */
  readonly url: Template;
  /** Path and query of the write endpoint, with the database (v1) or org and bucket (v2). */
  readonly endpoint: string;
  readonly precision: "ms";
  readonly tokenEnv: string | undefined;
}

export interface InfluxSinkNode {
  readonly kind: "influx-sink";
  readonly name: string;
  readonly query: string;
  readonly lineColumn: string;
  readonly checkpoint: Template;
  readonly trigger: TriggerNode;
  readonly outputMode: "append";
  readonly write: InfluxWriteNode;
  /** Dead-letter folder of the points InfluxDB refuses. */
  readonly refusedPath: Template;
  /** What the sink writes, for `explain`. */
  readonly writes: "raw" | "window";
}

export type SinkNode = ParquetSinkNode | InfluxSinkNode;

export interface PlanNode {
  readonly kind: "plan";
  readonly pipeline: string;
  readonly description: string | undefined;
  readonly specFile: string;
  readonly sparkConf: Readonly<Record<string, string>>;
  readonly sources: readonly SourceNode[];
  readonly views: readonly ViewNode[];
  readonly sinks: readonly SinkNode[];
}

/** Deep-freezes a plan so later phases cannot change what the planner decided. */
export function freezePlan<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) freezePlan(child);
  }
  return value;
}
