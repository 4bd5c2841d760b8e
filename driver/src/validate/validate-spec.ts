/**
 * Cross-reference checks on a structurally decoded spec: names that must exist, be numeric,
 * be unique, or be writable to InfluxDB, and windows that Spark can run with bounded state.
 */
import { READING_COLUMNS, REJECTED_COLUMNS, RESERVED_COLUMNS } from "../spec/columns.js";
import type { Located } from "../spec/decoders.js";
import { allowedHint } from "../spec/did-you-mean.js";
import { diagnostic, type Diagnostic } from "../spec/diagnostics.js";
import { buildMessageSchema } from "../spec/message-schema.js";
import { influxNameProblem, type InfluxNameKind } from "../spec/influx-names.js";
import { NUMERIC_FIELD_TYPES, type FieldType, type PipelineSpec } from "../spec/pipeline-schema.js";

export interface ValidateOptions {
  /** False when decoding already reported problems, so some values may be missing. */
  readonly complete: boolean;
}

export function validateSpec(spec: PipelineSpec, options: ValidateOptions = { complete: true }): Diagnostic[] {
  const out: Diagnostic[] = [];
  // On a spec with decoding problems some values are missing. A check that trips over one is
  // skipped (that value already has its diagnostic) so the other checks still report.
  const guard = (check: () => void): void => {
    try {
      check();
    } catch (error) {
      if (options.complete || !(error instanceof TypeError)) throw error;
    }
  };
  const fields = spec.source?.fields?.value ?? [];
  const fieldTypes = new Map<string, FieldType>();
  for (const field of fields) guard(() => fieldTypes.set(field.name.value, field.value.type.value));
  const registryColumns = spec.registry?.columns?.value.map((c) => c.value) ?? [];
  /** Every column of a valid reading, for group-by and partition checks. */
  const readingColumns = [...fieldTypes.keys(), ...registryColumns, READING_COLUMNS.eventTime, READING_COLUMNS.eventDate, READING_COLUMNS.kafkaPartition, READING_COLUMNS.kafkaOffset, READING_COLUMNS.kafkaTimestamp];

  guard(() => checkColumns(out, spec));
  guard(() => {
    for (const conflict of buildMessageSchema(fields).conflicts) {
      const field = fields.find((f) => f.name.value === conflict.field)!;
      out.push(diagnostic("bad-json-path", field.value.path.pos, `field "${conflict.field}": ${conflict.problem}`, "make the paths agree on the message's shape"));
    }
  });
  guard(() => checkEventTime(out, spec, fieldTypes));
  guard(() => checkRegistry(out, spec, fieldTypes));
  guard(() => checkWindows(out, spec, readingColumns, guard));
  guard(() => checkMetrics(out, spec, fieldTypes, guard));
  guard(() => checkSinks(out, spec, readingColumns, fieldTypes));
  return out;
}

function checkColumns(out: Diagnostic[], spec: PipelineSpec): void {
  checkUnique(out, [...spec.source.fields.value.map((f) => f.name), ...spec.registry.columns.value], "column");
  for (const field of spec.source.fields.value) {
    if (RESERVED_COLUMNS.includes(field.name.value.toLowerCase())) {
      out.push(
        diagnostic("duplicate-name", field.name.pos, `"${field.name.value}" is a column the pipeline adds itself`, `choose another name; reserved: ${RESERVED_COLUMNS.join(", ")}`),
      );
    }
  }
  for (const column of spec.registry.columns.value) {
    if (RESERVED_COLUMNS.includes(column.value.toLowerCase())) {
      out.push(diagnostic("duplicate-name", column.pos, `registry column "${column.value}" clashes with a column the pipeline adds`, `reserved: ${RESERVED_COLUMNS.join(", ")}`));
    }
  }
}

function checkRegistry(out: Diagnostic[], spec: PipelineSpec, fieldTypes: ReadonlyMap<string, FieldType>): void {
  const joinOn = spec.registry.joinOn;
  if (!fieldTypes.has(joinOn.value)) {
    out.push(diagnostic("unknown-field", joinOn.pos, `registry.joinOn "${joinOn.value}" is not a message field`, allowedHint(joinOn.value, [...fieldTypes.keys()])));
  }
  if (spec.registry.columns.value.some((c) => c.value.toLowerCase() === spec.registry.key.value.toLowerCase())) {
    out.push(diagnostic("duplicate-name", spec.registry.key.pos, `registry.key "${spec.registry.key.value}" is also listed in registry.columns`, "the key is matched, not carried: the reading keeps it as its join field"));
  }
}

type Guard = (check: () => void) => void;

function checkUnique(out: Diagnostic[], names: readonly Located<string>[], what: string): void {
  const seen = new Map<string, Located<string>>();
  for (const name of names) {
    const key = name.value.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, name);
    else {
      out.push(
        diagnostic("duplicate-name", name.pos, `duplicate ${what} name "${name.value}" (first at line ${first.pos.line}; Spark compares names without case)`, `rename one of them`),
      );
    }
  }
}

function checkEventTime(out: Diagnostic[], spec: PipelineSpec, fieldTypes: ReadonlyMap<string, FieldType>): void {
  const { field, unit } = spec.source.eventTime;
  const type = fieldTypes.get(field.value);
  if (type === undefined) {
    out.push(diagnostic("unknown-field", field.pos, `source.eventTime.field "${field.value}" is not a message field`, allowedHint(field.value, [...fieldTypes.keys()])));
    return;
  }
  const wanted: readonly FieldType[] = unit.value === "iso8601" ? ["string"] : ["int", "long", "double"];
  if (!wanted.includes(type)) {
    out.push(diagnostic("bad-value", unit.pos, `event time unit "${unit.value}" needs a field of type ${wanted.join(" or ")}, but "${field.value}" is ${type}`, `change the field's type or the unit`));
  }
}

function checkWindows(out: Diagnostic[], spec: PipelineSpec, readingColumns: readonly string[], guard: Guard): void {
  const windows = spec.windows.value;
  checkUnique(out, windows.map((w) => w.name), "window");
  if (windows.length > 0 && spec.source.watermark === undefined) {
    out.push(
      diagnostic("missing-watermark", spec.windows.pos, "windows need a watermark: without one Spark keeps every window's state forever and never closes a window", 'add source.watermark, e.g. "2 minutes"'),
    );
  }
  for (const window of windows) guard(() => checkWindow(out, spec, window, readingColumns));
  if (windows.length === 0 && (spec.statistics !== undefined || spec.correlations !== undefined)) {
    const pos = (spec.statistics ?? spec.correlations)!.pos;
    out.push(diagnostic("bad-window", pos, "statistics and correlations are computed per window, but no window is declared", "add a windows: entry"));
  }
}

function checkWindow(out: Diagnostic[], spec: PipelineSpec, window: PipelineSpec["windows"]["value"][number], readingColumns: readonly string[]): void {
  {
    const size = window.size.value;
    const slide = window.slide?.value ?? size;
    const slidePos = window.slide?.pos ?? window.size.pos;
    if (slide.ms > size.ms) {
      out.push(diagnostic("bad-window", slidePos, `window "${window.name.value}": slide ${slide.text} is larger than size ${size.text}, so readings between windows would be lost`, "make slide at most size"));
    } else if (size.ms % slide.ms !== 0) {
      out.push(diagnostic("bad-window", slidePos, `window "${window.name.value}": size ${size.text} is not a multiple of slide ${slide.text}`, "choose a slide that divides size, so every reading falls in the same number of windows"));
    }
    checkUnique(out, window.groupBy.value, `groupBy column in window "${window.name.value}"`);
    for (const column of window.groupBy.value) {
      if (!readingColumns.includes(column.value) || column.value === READING_COLUMNS.eventTime) {
        out.push(diagnostic("unknown-field", column.pos, `window "${window.name.value}" groups by "${column.value}", which is not a field or registry column`, allowedHint(column.value, readingColumns.filter((c) => c !== READING_COLUMNS.eventTime))));
      }
      const problem = influxNameProblem(column.value, "tag key");
      if (spec.sinks?.influxdb !== undefined && problem !== undefined) {
        out.push(diagnostic("bad-influx-name", column.pos, `groupBy column "${column.value}" becomes an InfluxDB tag: ${problem}`, "rename the column"));
      }
    }
  }
}

function checkMetric(out: Diagnostic[], metric: Located<string>, where: string, fieldTypes: ReadonlyMap<string, FieldType>): boolean {
  const type = fieldTypes.get(metric.value);
  if (type === undefined) {
    out.push(diagnostic("unknown-field", metric.pos, `${where} names "${metric.value}", which is not a message field`, allowedHint(metric.value, [...fieldTypes].filter(([, t]) => NUMERIC_FIELD_TYPES.includes(t)).map(([n]) => n))));
    return false;
  }
  if (!NUMERIC_FIELD_TYPES.includes(type)) {
    out.push(diagnostic("non-numeric-field", metric.pos, `${where} names "${metric.value}", which is ${type}, not a number`, `use a field of type ${NUMERIC_FIELD_TYPES.join(", ")}`));
    return false;
  }
  return true;
}

function checkMetrics(out: Diagnostic[], spec: PipelineSpec, fieldTypes: ReadonlyMap<string, FieldType>, guard: Guard): void {
  if (spec.statistics !== undefined) {
    checkUnique(out, spec.statistics.metrics.value, "statistics metric");
    for (const metric of spec.statistics.metrics.value) checkMetric(out, metric, "statistics.metrics", fieldTypes);
    checkUnique(out, spec.statistics.functions.value, "statistics function");
  }
  const correlations = spec.correlations;
  if (correlations === undefined) return;
  if (correlations.pairs === undefined && correlations.allPairsOf === undefined) {
    out.push(diagnostic("missing-key", correlations.pos, "correlations needs pairs or allPairsOf", "add pairs: [[a, b]] or allPairsOf: [a, b, c]"));
  }
  const seenPairs = new Map<string, number>();
  for (const pair of correlations.pairs?.value ?? []) guard(() => {
    if (pair.value.length !== 2) {
      out.push(diagnostic("bad-value", pair.pos, `a correlation pair has two metrics, found ${pair.value.length}`, "write [metric_a, metric_b]"));
      return;
    }
    const [a, b] = pair.value as [Located<string>, Located<string>];
    const okA = checkMetric(out, a, "correlations.pairs", fieldTypes);
    const okB = checkMetric(out, b, "correlations.pairs", fieldTypes);
    if (a.value === b.value) {
      out.push(diagnostic("self-correlation", b.pos, `"${a.value}" is correlated with itself (always 1)`, "pair two different metrics"));
      return;
    }
    if (!okA || !okB) return;
    const key = [a.value, b.value].sort().join("\u0000");
    const first = seenPairs.get(key);
    if (first !== undefined) {
      out.push(diagnostic("duplicate-name", pair.pos, `the pair ${a.value}/${b.value} is listed twice (first at line ${first})`, "remove one"));
    } else seenPairs.set(key, pair.pos.line);
  });
  if (correlations.allPairsOf !== undefined) {
    const metrics = correlations.allPairsOf.value;
    checkUnique(out, metrics, "correlations.allPairsOf metric");
    for (const metric of metrics) checkMetric(out, metric, "correlations.allPairsOf", fieldTypes);
    if (metrics.length < 2) {
      out.push(diagnostic("bad-value", correlations.allPairsOf.pos, "allPairsOf needs at least two metrics", "list two or more numeric fields"));
    }
  }
}

function checkSinks(out: Diagnostic[], spec: PipelineSpec, readingColumns: readonly string[], fieldTypes: ReadonlyMap<string, FieldType>): void {
  const rejectedColumns = [READING_COLUMNS.kafkaPartition, READING_COLUMNS.kafkaOffset, READING_COLUMNS.kafkaTimestamp, REJECTED_COLUMNS.kafkaDate];
  const partitionChecks: Array<[string, typeof spec.sinks.raw, readonly string[]]> = [
    ["sinks.raw", spec.sinks.raw, readingColumns],
    ["sinks.rejected", spec.sinks.rejected, rejectedColumns],
  ];
  for (const [where, sink, columns] of partitionChecks) {
    for (const column of sink.partitionBy.value) {
      if (!columns.includes(column.value)) {
        out.push(diagnostic("unknown-field", column.pos, `${where}.partitionBy "${column.value}" is not a column of that sink`, allowedHint(column.value, columns)));
      }
    }
  }

  const influx = spec.sinks.influxdb;
  if (influx === undefined) return;
  const version = influx.version.value;
  const need = (value: unknown, key: string, why: string): void => {
    if (value === undefined) out.push(diagnostic("missing-key", influx.pos, `sinks.influxdb is missing "${key}", which InfluxDB ${version} needs`, why));
  };
  if (version === "1") need(influx.database, "database", "add database: sensors");
  if (version === "2") {
    need(influx.org, "org", "add org: <your organisation>");
    need(influx.bucket, "bucket", "add bucket: <your bucket>");
    need(influx.tokenEnv, "tokenEnv", "add tokenEnv: INFLUXDB_TOKEN and export the token in that variable");
  }
  if (!/^https?:\/\/[^\s/]+/.test(influx.url.value)) {
    out.push(diagnostic("bad-value", influx.url.pos, `sinks.influxdb.url "${influx.url.value}" is not an http(s) URL`, "write e.g. http://localhost:8086"));
  } else if (influx.url.value.endsWith("/")) {
    out.push(diagnostic("bad-value", influx.url.pos, `sinks.influxdb.url "${influx.url.value}" ends with "/"`, "write the base URL without the trailing slash; the write path is added to it"));
  }
  const measurementNames = influx.measurements;
  for (const key of ["raw", "statistics", "correlations"] as const) {
    const measurement = measurementNames[key];
    const problem = influxNameProblem(measurement.value, "measurement");
    if (problem !== undefined) out.push(diagnostic("bad-influx-name", measurement.pos, `measurement "${measurement.value}": ${problem}`, "choose another measurement name"));
  }
  const influxKey = (name: Located<string>, kind: InfluxNameKind, role: string): void => {
    const problem = influxNameProblem(name.value, kind);
    if (problem !== undefined) out.push(diagnostic("bad-influx-name", name.pos, `${role} "${name.value}" is written as an InfluxDB ${kind}: ${problem}`, "rename it"));
  };
  if (influx.raw.enabled.value) {
    const tagNames = influx.raw.tags.value.map((t) => t.value);
    for (const tag of influx.raw.tags.value) {
      if (!readingColumns.includes(tag.value) || tag.value === READING_COLUMNS.eventTime) {
        out.push(diagnostic("unknown-field", tag.pos, `sinks.influxdb.raw.tags "${tag.value}" is not a field or registry column`, allowedHint(tag.value, readingColumns)));
      } else influxKey(tag, "tag key", "raw tag");
    }
    for (const field of spec.source.fields.value) {
      if (!tagNames.includes(field.name.value) && field.name.value !== spec.source.eventTime.field.value) {
        influxKey(field.name, "field key", "field");
      }
    }
  }
  for (const metric of spec.statistics?.metrics.value ?? []) {
    if (fieldTypes.has(metric.value)) influxKey(metric, "field key", "metric");
  }
}
