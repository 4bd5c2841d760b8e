/**
 * The runner's event lines read back from a batch's log, as typed events: the one place in the
 * driver that knows the line prefix and how a line decodes. The lines are specified by
 * infrastructure/spark/runner/events.schema.json and written only by the runner's Events.java;
 * driver/test/unit/runner-events-schema.test.ts fails until the schema, EVENT_FIELDS and
 * Events.java agree.
 *
 * Every line is JSON with `event` (the kind) and `at` (ISO time); EVENT_FIELDS names every field of
 * each kind with its JSON type. A line of an unknown kind (a newer runner may write others), one
 * missing a field the driver needs, or one with a field of the wrong type is not an event the
 * driver reads.
 */

export const EVENT_PREFIX = "SENSOR_STREAMING_EVENT ";

type JsonType = "string" | "number" | "boolean" | "object";

/**
 * A field's JSON type. With "?" the driver reads the event without the field: the runner leaves it
 * out at times, or the driver does not need it (so a runner that stops writing it is still read).
 */
export type FieldType = JsonType | `${JsonType}?`;

export const EVENT_FIELDS = {
  "runner-started": { pipeline: "string?", queries: "number?", stopFile: "string?" },
  "runner-stopping": { reason: "string?" },
  "runner-finished": { reason: "string?" },
  /** The exit code as a string. */
  "runner-exit": { code: "string?" },
  /** `--explain` checked every view and sink; nothing was started. */
  "explain-ok": { pipeline: "string?", views: "number?", sinks: "number" },
  "query-started": { query: "string", id: "string?", runId: "string?" },
  "query-progress": { query: "string", progress: "object" },
  "query-idle": { query: "string", timestamp: "string?" },
  "query-terminated": { query: "string", id: "string?", error: "string?" },
  "query-stopped": { query: "string" },
  /** A query failed; the runner restarts it alone, from its checkpoint, after inMs. */
  "query-restarting": { query: "string", attempt: "number", cause: "string", inMs: "number" },
  "query-restarted": { query: "string" },
  "influx-written": { query: "string", batchId: "number", lines: "number", refused: "number?" },
  /** One failed attempt of a transient InfluxDB write error; the query waits and retries forever. */
  "influx-waiting": { query: "string", since: "string", attempt: "number", cause: "string", retryInMs: "number", endpoint: "string?" },
  "influx-recovered": { query: "string", since: "string", waitedMs: "number", attempts: "number" },
  /** Lines InfluxDB refused (4xx other than 429): dead-lettered under path, the batch goes on. */
  "influx-refused": { query: "string", batchId: "number", lines: "number", status: "number", reason: "string", refusedTotal: "number", path: "string?" },
  /** The files of a static source (the registry) changed; the runner reads them again. One field per source. */
  "static-input-changed": {},
  /** Every query was restarted from its checkpoint with the new files. */
  "static-input-reloaded": { queries: "number" },
  /** The new files could not be used (e.g. a column is missing); the queries keep the old ones. */
  "static-input-refused": { cause: "string", retried: "boolean?" },
} as const satisfies Record<string, Record<string, FieldType>>;

export type EventKind = keyof typeof EVENT_FIELDS;

type Fields<K extends EventKind> = (typeof EVENT_FIELDS)[K];
type ValueOf<T> = T extends `${infer B}?` ? ValueOf<B> : T extends "string" ? string : T extends "number" ? number : T extends "boolean" ? boolean : unknown;
type NeededKeys<F> = { [P in keyof F]: F[P] extends `${string}?` ? never : P }[keyof F];

/** The event of kind K (of each kind, for a union). */
export type EventOf<K extends EventKind> = K extends EventKind
  ? { readonly event: K; readonly at: string } & { readonly [P in NeededKeys<Fields<K>>]: ValueOf<Fields<K>[P]> } & {
      readonly [P in Exclude<keyof Fields<K>, NeededKeys<Fields<K>>>]?: ValueOf<Fields<K>[P]>;
    }
  : never;

export type RunnerEvent = EventOf<EventKind>;

export type QueryEvent = Extract<RunnerEvent, { readonly query: string }>;

export interface QueryProgress {
  readonly query: string;
  readonly batchId: number;
  readonly timestamp: string;
  readonly inputRowsPerSecond: number;
  readonly processedRowsPerSecond: number;
  readonly numInputRows: number;
  readonly batchDurationMs: number;
  readonly watermark: string | undefined;
  /** The earliest event time in the batch (Spark reports it when the batch had readings). */
  readonly eventTimeMin: string | undefined;
  readonly stateRows: number;
  readonly sink: string;
}

function isKind(name: unknown): name is EventKind {
  return typeof name === "string" && Object.hasOwn(EVENT_FIELDS, name);
}

function hasType(value: unknown, type: FieldType): boolean {
  if (type.endsWith("?") && value === undefined) return true;
  const base = type.replace("?", "");
  return base === "object" ? value !== null && typeof value === "object" : typeof value === base;
}

/** The typed event of one decoded JSON line, or undefined when it is not one the driver reads. */
export function toEvent(json: unknown): RunnerEvent | undefined {
  if (json === null || typeof json !== "object") return undefined;
  const line = json as Record<string, unknown>;
  if (!isKind(line.event) || typeof line.at !== "string") return undefined;
  const fields: Readonly<Record<string, FieldType>> = EVENT_FIELDS[line.event];
  return Object.entries(fields).every(([name, type]) => hasType(line[name], type)) ? (line as unknown as RunnerEvent) : undefined;
}

/** The event in one line of output or of Livy's log (the prefix may come after Livy's own), if any. */
export function parseEvent(line: string): RunnerEvent | undefined {
  const at = line.indexOf(EVENT_PREFIX);
  if (at < 0) return undefined;
  try {
    return toEvent(JSON.parse(line.slice(at + EVENT_PREFIX.length)));
  } catch {
    // A line cut by Livy's log buffer is not an event.
    return undefined;
  }
}

export function parseEvents(lines: readonly string[]): RunnerEvent[] {
  const events: RunnerEvent[] = [];
  for (const line of lines) {
    const event = parseEvent(line);
    if (event !== undefined) events.push(event);
  }
  return events;
}

export function isQueryEvent(event: RunnerEvent): event is QueryEvent {
  return "query" in event && typeof event.query === "string";
}

interface RawProgress {
  batchId: number;
  timestamp: string;
  numInputRows: number;
  inputRowsPerSecond?: number;
  processedRowsPerSecond?: number;
  durationMs?: { triggerExecution?: number };
  eventTime?: { watermark?: string; min?: string };
  stateOperators?: Array<{ numRowsTotal?: number }>;
  sink?: { description?: string };
}

export function toProgress(event: EventOf<"query-progress">): QueryProgress {
  const p = event.progress as RawProgress;
  return {
    query: event.query,
    batchId: p.batchId,
    timestamp: p.timestamp,
    numInputRows: p.numInputRows,
    inputRowsPerSecond: p.inputRowsPerSecond ?? 0,
    processedRowsPerSecond: p.processedRowsPerSecond ?? 0,
    batchDurationMs: p.durationMs?.triggerExecution ?? 0,
    watermark: p.eventTime?.watermark,
    eventTimeMin: p.eventTime?.min,
    stateRows: (p.stateOperators ?? []).reduce((sum, s) => sum + (s.numRowsTotal ?? 0), 0),
    sink: p.sink?.description ?? "",
  };
}

/** The newest progress of every query, by query name. */
export function latestProgress(events: readonly RunnerEvent[]): Map<string, QueryProgress> {
  const out = new Map<string, QueryProgress>();
  for (const event of events) if (event.event === "query-progress") out.set(event.query, toProgress(event));
  return out;
}

/** Warnings Spark and the Kafka client print on every start of every query; they mean nothing. */
const ROUTINE_WARNINGS = [
  /ResolveWriteToStream: spark\.sql\.adaptive\.enabled is not supported in streaming/,
  /AdminClientConfig: These configurations .* were supplied but are not used yet/,
  /SparkStringUtils: Truncated the string representation of a plan/,
  /NativeCodeLoader: Unable to load native-hadoop library/,
  /Utils: (Your hostname|Set SPARK_LOCAL_IP)/,
];

/** Log lines a person should see: warnings, errors and exceptions, not Spark's chatter. */
export function isNotable(line: string): boolean {
  if (line.includes(EVENT_PREFIX) || ROUTINE_WARNINGS.some((pattern) => pattern.test(line))) return false;
  return /\b(WARN|ERROR|Exception|sensor-streaming runner:)\b/.test(line);
}
