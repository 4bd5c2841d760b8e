/**
 * The runner's event lines (prefix `SENSOR_STREAMING_EVENT `) read back from a batch's log, and
 * the per-query picture they give: last progress, rows per second, watermark, state rows.
 */

export const EVENT_PREFIX = "SENSOR_STREAMING_EVENT ";

export interface RunnerEvent {
  readonly event: string;
  readonly at?: string;
  readonly [key: string]: unknown;
}

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

export function parseEvents(lines: readonly string[]): RunnerEvent[] {
  const events: RunnerEvent[] = [];
  for (const line of lines) {
    const at = line.indexOf(EVENT_PREFIX);
    if (at < 0) continue;
    try {
      events.push(JSON.parse(line.slice(at + EVENT_PREFIX.length)) as RunnerEvent);
    } catch {
      // A line cut by Livy's log buffer is not an event.
    }
  }
  return events;
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

/** The newest progress of every query, by query name. */
export function latestProgress(events: readonly RunnerEvent[]): Map<string, QueryProgress> {
  const out = new Map<string, QueryProgress>();
  for (const event of events) {
    if (event.event !== "query-progress" || typeof event.query !== "string") continue;
    const p = event.progress as RawProgress;
    out.set(event.query, {
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
    });
  }
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

/** Queries that run: they made progress, or Spark reported them idle (nothing new to read). */
export function runningQueries(events: readonly RunnerEvent[]): Set<string> {
  const out = new Set<string>();
  for (const event of events) {
    if ((event.event === "query-progress" || event.event === "query-idle") && typeof event.query === "string") out.add(event.query);
  }
  return out;
}
