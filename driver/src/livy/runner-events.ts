/**
 * The runner's event lines (prefix `SENSOR_STREAMING_EVENT `) read back from a batch's log, as
 * typed events. Every line is JSON with `event` (the kind) and `at` (ISO time); EVENT_FIELDS says
 * which fields each kind carries. A line of an unknown kind, or one missing a field its kind
 * needs, is not an event the driver reads (an older or newer runner may write others).
 */

export const EVENT_PREFIX = "SENSOR_STREAMING_EVENT ";

type FieldType = "string" | "number" | "object" | "string?" | "number?";

const EVENT_FIELDS = {
  // Fields the driver does not read stay untyped, so a runner that changes them is still understood.
  "runner-started": {},
  "runner-stopping": {},
  "runner-finished": {},
  "runner-exit": {},
  "query-started": { query: "string" },
  "query-progress": { query: "string", progress: "object" },
  "query-idle": { query: "string" },
  "query-terminated": { query: "string", error: "string?" },
  "query-stopped": { query: "string" },
  /** A query failed; the runner restarts it alone, from its checkpoint, after inMs. */
  "query-restarting": { query: "string", attempt: "number", cause: "string", inMs: "number" },
  "query-restarted": { query: "string" },
  "influx-written": { query: "string", batchId: "number", lines: "number", refused: "number?" },
  /** One failed attempt of a transient InfluxDB write error; the query waits and retries forever. */
  "influx-waiting": { query: "string", since: "string", attempt: "number", cause: "string", retryInMs: "number" },
  "influx-recovered": { query: "string", since: "string", waitedMs: "number", attempts: "number" },
  /** The files of a static source (the registry) changed; the runner reads them again. */
  "static-input-changed": {},
  /** Every query was restarted from its checkpoint with the new files. */
  "static-input-reloaded": { queries: "number" },
  /** The new files could not be used (e.g. a column is missing); the queries keep the old ones. */
  "static-input-refused": { cause: "string" },
  /** Lines InfluxDB refused (4xx other than 429): dead-lettered under path, the batch goes on. */
  "influx-refused": { query: "string", batchId: "number", lines: "number", status: "number", reason: "string", refusedTotal: "number", path: "string?" },
} as const satisfies Record<string, Record<string, FieldType>>;

export type EventKind = keyof typeof EVENT_FIELDS;

type Value<T> = T extends "string"
  ? string
  : T extends "number"
    ? number
    : T extends "string?"
      ? string | undefined
      : T extends "number?"
        ? number | undefined
        : unknown;

/** The event of kind K (of each kind, for a union). */
export type EventOf<K extends EventKind> = K extends EventKind
  ? { readonly event: K; readonly at: string } & { readonly [F in keyof (typeof EVENT_FIELDS)[K]]: Value<(typeof EVENT_FIELDS)[K][F]> }
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

export function parseEvents(lines: readonly string[]): RunnerEvent[] {
  const events: RunnerEvent[] = [];
  for (const line of lines) {
    const at = line.indexOf(EVENT_PREFIX);
    if (at < 0) continue;
    try {
      const event = toEvent(JSON.parse(line.slice(at + EVENT_PREFIX.length)));
      if (event !== undefined) events.push(event);
    } catch {
      // A line cut by Livy's log buffer is not an event.
    }
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
  eventTime?: { watermark?: string };
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
