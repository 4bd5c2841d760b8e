/**
 * Cross-reference checks on a decoded spec: names that must exist, be numeric, be unique, or be
 * writable to InfluxDB, and windows that Spark can run with bounded state.
 *
 * They also run on a spec whose decoding reported problems, so a user sees every problem in one
 * pass: they take a `PartialSpec`, in which any part that did not decode is absent. A check
 * that needs an absent part says nothing about it (that part already has its diagnostic) and
 * the other checks still report. A value that was written but did not decode is known
 * (`keyFailed`): checks treat it as present and say nothing more about it, rather than
 * reporting a follow-up problem.
 */
import { READING_COLUMNS, REJECTED_COLUMNS, RESERVED_COLUMNS } from "./columns.js";
import { keyFailed, type Located } from "./decoders.js";
import { allowedHint } from "./did-you-mean.js";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import { influxDatabaseProblem, influxNameProblem, type InfluxNameKind } from "./influx-names.js";
import { buildMessageSchema } from "./message-schema.js";
import {
  MAX_AHEAD_DAYS,
  NUMERIC_FIELD_TYPES,
  type FieldType,
  type PartialInfluxSinkSpec,
  type PartialSpec,
  type PartialWindowSpec,
} from "./pipeline-schema.js";

interface Checks {
  readonly out: Diagnostic[];
  readonly spec: PartialSpec;
  /** Every declared field name, whether or not its type decoded. */
  readonly fieldNames: ReadonlySet<string>;
  readonly fieldTypes: ReadonlyMap<string, FieldType>;
  /** Every column of a valid reading, for group-by, tag and partition checks. */
  readonly readingColumns: readonly string[];
  /** False when the fields or registry columns did not decode: unknown-column checks pause. */
  readonly columnsKnown: boolean;
}

export function validateSpec(spec: PartialSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const fields = spec.source?.fields?.value ?? [];
  const fieldTypes = new Map<string, FieldType>();
  for (const field of fields) {
    const type = field.value.type?.value;
    if (type !== undefined) fieldTypes.set(field.name.value, type);
  }
  const registryColumns = spec.registry?.columns?.value.map((c) => c.value) ?? [];
  const checks: Checks = {
    out,
    spec,
    fieldNames: new Set(fields.map((f) => f.name.value)),
    fieldTypes,
    readingColumns: [...fields.map((f) => f.name.value), ...registryColumns, ...Object.values(READING_COLUMNS)],
    columnsKnown: !keyFailed(spec.source, "fields") && !keyFailed(spec.registry, "columns") && spec.registry?.columns !== undefined,
  };

  checkColumns(checks);
  checkMessageShape(checks);
  checkEventTime(checks);
  checkEventTimeLimits(checks);
  checkRegistry(checks);
  checkWindows(checks);
  checkStatistics(checks);
  checkCorrelations(checks);
  checkPartitions(checks);
  checkInflux(checks);
  return out;
}

function checkUnique(out: Diagnostic[], names: readonly Located<string>[], what: string): void {
  const seen = new Map<string, Located<string>>();
  for (const name of names) {
    const key = name.value.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, name);
    else {
      out.push(
        diagnostic(
          "duplicate-name",
          name.pos,
          `duplicate ${what} name "${name.value}" (first at line ${first.pos.line}; Spark compares names without case)`,
          `rename one of them`,
        ),
      );
    }
  }
}

function checkColumns({ out, spec }: Checks): void {
  if (spec.source?.fields === undefined || spec.registry === undefined) return;
  checkUnique(out, [...spec.source.fields.value.map((f) => f.name), ...(spec.registry.columns?.value ?? [])], "column");
  const reserved = (name: Located<string>, what: string): void => {
    if (RESERVED_COLUMNS.includes(name.value.toLowerCase())) {
      out.push(
        diagnostic(
          "duplicate-name",
          name.pos,
          `${what} "${name.value}" is a column the pipeline adds itself`,
          `choose another name; reserved: ${RESERVED_COLUMNS.join(", ")}`,
        ),
      );
    }
  };
  for (const field of spec.source.fields.value) reserved(field.name, "field");
  for (const column of spec.registry.columns?.value ?? []) reserved(column, "registry column");
}

function checkMessageShape({ out, spec }: Checks): void {
  const declared = spec.source?.fields;
  if (declared === undefined) return;
  // Only the fields whose path and type both decoded have a shape.
  const fields = declared.value.flatMap(({ name, value: { path, type } }) =>
    path === undefined || type === undefined ? [] : [{ name, value: { path, type } }],
  );
  for (const conflict of buildMessageSchema(fields).conflicts) {
    const field = fields.find((f) => f.name.value === conflict.field);
    if (field === undefined) continue;
    out.push(
      diagnostic("bad-json-path", field.value.path.pos, `field "${conflict.field}": ${conflict.problem}`, "make the paths agree on the message's shape"),
    );
  }
}

function checkEventTime({ out, spec, fieldNames, fieldTypes }: Checks): void {
  const eventTime = spec.source?.eventTime;
  if (eventTime?.field === undefined) return;
  const { field, unit } = eventTime;
  if (!fieldNames.has(field.value)) {
    out.push(
      diagnostic("unknown-field", field.pos, `source.eventTime.field "${field.value}" is not a message field`, allowedHint(field.value, [...fieldNames])),
    );
    return;
  }
  const type = fieldTypes.get(field.value);
  if (type === undefined || unit === undefined) return;
  const wanted: readonly FieldType[] = unit.value === "iso8601" ? ["string"] : ["int", "long", "double"];
  if (!wanted.includes(type)) {
    out.push(
      diagnostic(
        "bad-value",
        unit.pos,
        `event time unit "${unit.value}" needs a field of type ${wanted.join(" or ")}, but "${field.value}" is ${type}`,
        `change the field's type or the unit`,
      ),
    );
  } else if (type === "int" && (unit.value === "milliseconds" || unit.value === "microseconds")) {
    out.push(
      diagnostic(
        "bad-value",
        unit.pos,
        `event time unit "${unit.value}" needs a long or double field: an int holds at most 2147483647 ${unit.value}, which is still January 1970`,
        `declare "${field.value}" with type: long`,
      ),
    );
  }
}

function checkEventTimeLimits({ out, spec }: Checks): void {
  if (spec.source?.eventTime === undefined) return;
  const maxAhead = spec.source.eventTime.maxAhead;
  if (maxAhead === undefined) return;
  const watermark = spec.source.watermark;
  if (maxAhead.value.ms > MAX_AHEAD_DAYS * 86_400_000) {
    out.push(
      diagnostic(
        "bad-value",
        maxAhead.pos,
        `source.eventTime.maxAhead ${maxAhead.value.text} is more than ${MAX_AHEAD_DAYS} days`,
        `write at most ${MAX_AHEAD_DAYS} days, e.g. "1 day"`,
      ),
    );
  } else if (spec.windows !== undefined && spec.windows.value.length > 0 && watermark !== undefined && maxAhead.value.ms > watermark.value.ms) {
    // The watermark is the newest event time of the whole stream minus its delay: a reading
    // accepted that far ahead would close the open windows of every classroom at once.
    out.push(
      diagnostic(
        "bad-value",
        maxAhead.pos,
        `source.eventTime.maxAhead ${maxAhead.value.text} is more than the watermark (${watermark.value.text}): ` +
          "one reading that far ahead would move the watermark past every classroom's open windows, " +
          "and their on-time readings would be dropped as late",
        `write at most ${watermark.value.text} (or leave it out: it defaults to the watermark), or raise source.watermark`,
      ),
    );
  }
}

function checkRegistry({ out, spec, fieldNames }: Checks): void {
  if (spec.registry === undefined) return;
  const joinOn = spec.registry.joinOn;
  if (joinOn !== undefined && !fieldNames.has(joinOn.value)) {
    out.push(diagnostic("unknown-field", joinOn.pos, `registry.joinOn "${joinOn.value}" is not a message field`, allowedHint(joinOn.value, [...fieldNames])));
  }
  const key = spec.registry.key;
  if (key !== undefined && (spec.registry.columns?.value ?? []).some((c) => c.value.toLowerCase() === key.value.toLowerCase())) {
    out.push(
      diagnostic(
        "duplicate-name",
        key.pos,
        `registry.key "${key.value}" is also listed in registry.columns`,
        "the key is matched, not carried: the reading keeps it as its join field",
      ),
    );
  }
}

function checkWindows(checks: Checks): void {
  const { out, spec } = checks;
  if (spec.windows === undefined) return;
  const windows = spec.windows.value;
  checkUnique(
    out,
    windows.flatMap((w) => (w.name === undefined ? [] : [w.name])),
    "window",
  );
  if (windows.length > 0 && spec.source?.watermark === undefined && !keyFailed(spec.source, "watermark")) {
    out.push(
      diagnostic(
        "missing-watermark",
        spec.windows.pos,
        "windows need a watermark: without one Spark keeps every window's state forever and never closes a window",
        'add source.watermark, e.g. "2 minutes"',
      ),
    );
  }
  for (const window of windows) {
    checkWindowSlide(checks, window);
    checkWindowGroups(checks, window);
  }
  const perWindow = spec.statistics ?? spec.correlations;
  if (windows.length === 0 && perWindow !== undefined) {
    out.push(diagnostic("bad-window", perWindow.pos, "statistics and correlations are computed per window, but no window is declared", "add a windows: entry"));
  }
}

function checkWindowSlide({ out }: Checks, window: PartialWindowSpec): void {
  // Both messages name the window.
  if (window.size === undefined || window.name === undefined) return;
  const size = window.size.value;
  if (window.slide === undefined && keyFailed(window, "slide")) return;
  const slide = window.slide?.value ?? size;
  const slidePos = window.slide?.pos ?? window.size.pos;
  if (slide.ms > size.ms) {
    out.push(
      diagnostic(
        "bad-window",
        slidePos,
        `window "${window.name.value}": slide ${slide.text} is larger than size ${size.text}, so readings between windows would be lost`,
        "make slide at most size",
      ),
    );
  } else if (size.ms % slide.ms !== 0) {
    out.push(
      diagnostic(
        "bad-window",
        slidePos,
        `window "${window.name.value}": size ${size.text} is not a multiple of slide ${slide.text}`,
        "choose a slide that divides size, so every reading falls in the same number of windows",
      ),
    );
  }
}

function checkWindowGroups({ out, spec, readingColumns, columnsKnown }: Checks, window: PartialWindowSpec): void {
  if (window.groupBy === undefined || window.name === undefined) return;
  checkUnique(out, window.groupBy.value, `groupBy column in window "${window.name.value}"`);
  const groupable = readingColumns.filter((c) => c !== READING_COLUMNS.eventTime);
  for (const column of window.groupBy.value) {
    if (columnsKnown && !groupable.includes(column.value)) {
      out.push(
        diagnostic(
          "unknown-field",
          column.pos,
          `window "${window.name.value}" groups by "${column.value}", which is not a field or registry column`,
          allowedHint(column.value, groupable),
        ),
      );
    }
    const problem = influxNameProblem(column.value, "tag key");
    if (spec.sinks?.influxdb !== undefined && problem !== undefined) {
      out.push(diagnostic("bad-influx-name", column.pos, `groupBy column "${column.value}" becomes an InfluxDB tag: ${problem}`, "rename the column"));
    }
  }
}

/** False (silently) for a field whose type did not decode: that field has its diagnostic. */
function checkMetric({ out, fieldNames, fieldTypes }: Checks, metric: Located<string>, where: string): boolean {
  if (!fieldNames.has(metric.value)) {
    const numeric = [...fieldTypes].filter(([, t]) => NUMERIC_FIELD_TYPES.includes(t)).map(([n]) => n);
    out.push(diagnostic("unknown-field", metric.pos, `${where} names "${metric.value}", which is not a message field`, allowedHint(metric.value, numeric)));
    return false;
  }
  const type = fieldTypes.get(metric.value);
  if (type === undefined) return false;
  if (!NUMERIC_FIELD_TYPES.includes(type)) {
    out.push(
      diagnostic(
        "non-numeric-field",
        metric.pos,
        `${where} names "${metric.value}", which is ${type}, not a number`,
        `use a field of type ${NUMERIC_FIELD_TYPES.join(", ")}`,
      ),
    );
    return false;
  }
  return true;
}

function checkStatistics(checks: Checks): void {
  const statistics = checks.spec.statistics;
  if (statistics?.metrics === undefined) return;
  checkUnique(checks.out, statistics.metrics.value, "statistics metric");
  for (const metric of statistics.metrics.value) checkMetric(checks, metric, "statistics.metrics");
  checkUnique(checks.out, statistics.functions?.value ?? [], "statistics function");
}

function checkCorrelations(checks: Checks): void {
  const { out, spec } = checks;
  const correlations = spec.correlations;
  if (correlations === undefined) return;
  if (
    correlations.pairs === undefined &&
    correlations.allPairsOf === undefined &&
    !keyFailed(correlations, "pairs") &&
    !keyFailed(correlations, "allPairsOf")
  ) {
    out.push(diagnostic("missing-key", correlations.pos, "correlations needs pairs or allPairsOf", "add pairs: [[a, b]] or allPairsOf: [a, b, c]"));
  }
  const seenPairs = new Map<string, number>();
  for (const pair of correlations.pairs?.value ?? []) {
    const [a, b, ...more] = pair.value;
    if (a === undefined || b === undefined || more.length > 0) {
      out.push(diagnostic("bad-value", pair.pos, `a correlation pair has two metrics, found ${pair.value.length}`, "write [metric_a, metric_b]"));
      continue;
    }
    const okA = checkMetric(checks, a, "correlations.pairs");
    const okB = checkMetric(checks, b, "correlations.pairs");
    if (a.value === b.value) {
      out.push(diagnostic("self-correlation", b.pos, `"${a.value}" is correlated with itself (always 1)`, "pair two different metrics"));
      continue;
    }
    if (!okA || !okB) continue;
    const key = [a.value, b.value].sort().join("\u0000");
    const first = seenPairs.get(key);
    if (first !== undefined) {
      out.push(diagnostic("duplicate-name", pair.pos, `the pair ${a.value}/${b.value} is listed twice (first at line ${first})`, "remove one"));
    } else seenPairs.set(key, pair.pos.line);
  }
  if (correlations.allPairsOf !== undefined) {
    const metrics = correlations.allPairsOf.value;
    checkUnique(out, metrics, "correlations.allPairsOf metric");
    for (const metric of metrics) checkMetric(checks, metric, "correlations.allPairsOf");
    if (metrics.length < 2) {
      out.push(diagnostic("bad-value", correlations.allPairsOf.pos, "allPairsOf needs at least two metrics", "list two or more numeric fields"));
    }
  }
}

function checkPartitions({ out, spec, readingColumns, columnsKnown }: Checks): void {
  if (spec.sinks === undefined) return;
  const rejectedColumns: readonly string[] = [
    READING_COLUMNS.kafkaPartition,
    READING_COLUMNS.kafkaOffset,
    READING_COLUMNS.kafkaTimestamp,
    REJECTED_COLUMNS.kafkaDate,
  ];
  const sinks = [
    ["sinks.raw", spec.sinks.raw, readingColumns, columnsKnown],
    ["sinks.rejected", spec.sinks.rejected, rejectedColumns, true],
  ] as const;
  for (const [where, sink, columns, known] of sinks) {
    if (!known || sink?.partitionBy === undefined) continue;
    for (const column of sink.partitionBy.value) {
      if (!columns.includes(column.value)) {
        out.push(
          diagnostic("unknown-field", column.pos, `${where}.partitionBy "${column.value}" is not a column of that sink`, allowedHint(column.value, columns)),
        );
      }
    }
  }
}

function checkInflux(checks: Checks): void {
  const influx = checks.spec.sinks?.influxdb;
  if (influx === undefined) return;
  checkInfluxTarget(checks, influx);
  checkInfluxUrl(checks, influx);
  checkRefusedPath(checks, influx);
  checkMeasurements(checks, influx);
  checkRawPoints(checks, influx);
  checkMetricKeys(checks);
}

function influxKey(out: Diagnostic[], name: Located<string>, kind: InfluxNameKind, role: string): void {
  const problem = influxNameProblem(name.value, kind);
  if (problem !== undefined)
    out.push(diagnostic("bad-influx-name", name.pos, `${role} "${name.value}" is written as an InfluxDB ${kind}: ${problem}`, "rename it"));
}

/** The keys each InfluxDB version needs, and a database name InfluxDB 1 accepts. */
function checkInfluxTarget({ out }: Checks, influx: PartialInfluxSinkSpec): void {
  if (influx.version === undefined) return;
  const version = influx.version.value;
  const need = (key: "database" | "org" | "bucket" | "tokenEnv", why: string): void => {
    if (influx[key] === undefined && !keyFailed(influx, key)) {
      out.push(diagnostic("missing-key", influx.pos, `sinks.influxdb is missing "${key}", which InfluxDB ${version} needs`, why));
    }
  };
  if (version === "1") need("database", "add database: sensors");
  const database = influx.database;
  const problem = database === undefined ? undefined : influxDatabaseProblem(database.value);
  if (database !== undefined && problem !== undefined) {
    out.push(
      diagnostic("bad-influx-name", database.pos, `sinks.influxdb.database "${database.value}": ${problem}`, "choose another database name, e.g. sensors"),
    );
  }
  if (version === "2") {
    need("org", "add org: <your organisation>");
    need("bucket", "add bucket: <your bucket>");
    need("tokenEnv", "add tokenEnv: INFLUXDB_TOKEN and export the token in that variable");
  }
}

function checkInfluxUrl({ out }: Checks, influx: PartialInfluxSinkSpec): void {
  if (influx.url === undefined) return;
  if (!/^https?:\/\/[^\s/]+/.test(influx.url.value)) {
    out.push(diagnostic("bad-value", influx.url.pos, `sinks.influxdb.url "${influx.url.value}" is not an http(s) URL`, "write e.g. http://localhost:8086"));
  } else if (influx.url.value.endsWith("/")) {
    out.push(
      diagnostic(
        "bad-value",
        influx.url.pos,
        `sinks.influxdb.url "${influx.url.value}" ends with "/"`,
        "write the base URL without the trailing slash; the write path is added to it",
      ),
    );
  }
}

function checkRefusedPath({ out, spec }: Checks, influx: PartialInfluxSinkSpec): void {
  // The refused points are Parquet of their own shape: inside a Parquet sink's folder they
  // would mix with that sink's files.
  const refused = influx.refusedPath;
  if (refused === undefined) return;
  const folder = (value: string): string => value.replace(/\/+$/, "");
  for (const name of ["raw", "rejected"] as const) {
    // Without the raw sink's path, the rejected sink is not compared either.
    const path = spec.sinks?.[name]?.path;
    if (path === undefined) return;
    const sink = folder(path.value);
    const mine = folder(refused.value);
    if (mine === sink || mine.startsWith(`${sink}/`) || sink.startsWith(`${mine}/`)) {
      out.push(
        diagnostic(
          "bad-value",
          refused.pos,
          `sinks.influxdb.refusedPath "${refused.value}" overlaps sinks.${name}.path "${path.value}"`,
          "give the refused points a folder of their own, e.g. beside the rejected readings",
        ),
      );
    }
  }
}

function checkMeasurements({ out }: Checks, influx: PartialInfluxSinkSpec): void {
  for (const key of ["raw", "statistics", "correlations"] as const) {
    const measurement = influx.measurements?.[key];
    if (measurement === undefined) continue;
    const problem = influxNameProblem(measurement.value, "measurement");
    if (problem !== undefined)
      out.push(diagnostic("bad-influx-name", measurement.pos, `measurement "${measurement.value}": ${problem}`, "choose another measurement name"));
  }
}

/** Raw points: their tags must be columns, and tags and fields valid InfluxDB keys. */
function checkRawPoints({ out, spec, readingColumns, columnsKnown }: Checks, influx: PartialInfluxSinkSpec): void {
  if (influx.raw?.enabled === undefined || !influx.raw.enabled.value || influx.raw.tags === undefined) return;
  const tagNames = influx.raw.tags.value.map((t) => t.value);
  for (const tag of influx.raw.tags.value) {
    if (!readingColumns.includes(tag.value) || tag.value === READING_COLUMNS.eventTime) {
      if (columnsKnown) {
        out.push(
          diagnostic(
            "unknown-field",
            tag.pos,
            `sinks.influxdb.raw.tags "${tag.value}" is not a field or registry column`,
            allowedHint(tag.value, readingColumns),
          ),
        );
      }
    } else influxKey(out, tag, "tag key", "raw tag");
  }
  if (spec.source?.fields === undefined) return;
  for (const field of spec.source.fields.value) {
    if (!tagNames.includes(field.name.value) && field.name.value !== spec.source.eventTime?.field?.value) {
      influxKey(out, field.name, "field key", "field");
    }
  }
}

function checkMetricKeys({ out, spec, fieldTypes }: Checks): void {
  for (const metric of spec.statistics?.metrics?.value ?? []) {
    if (fieldTypes.has(metric.value)) influxKey(out, metric, "field key", "metric");
  }
}
