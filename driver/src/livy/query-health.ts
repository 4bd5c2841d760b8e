/**
 * How each query is doing, derived from the runner's events in log order (newer events come
 * later in the log, so "newer" is a position, not a clock comparison), and whether the pipeline
 * runs as it should. `status` and the foreground view show this; `status` exits on it.
 */
import type { Batch } from "./livy-client.js";
import { isQueryEvent, toProgress, type EventKind, type EventOf, type QueryEvent, type QueryProgress, type RunnerEvent } from "./runner-events.js";

export type Health =
  /** It made progress. */
  | "ok"
  /** Spark reported it idle (nothing new to read) and it never made progress. */
  | "idle"
  /** Nothing reported yet (starting, or its events left Livy's log buffer). */
  | "no-progress"
  /** Its InfluxDB write fails transiently and is retried; the query waits. */
  | "waiting"
  /** It failed; the runner restarts it from its checkpoint. */
  | "restarting"
  /** It ended with an error and nothing restarts it. */
  | "failed"
  /** It was stopped (a graceful stop in progress). */
  | "stopped";

/** Query states in which the pipeline is not running as it should. */
export const DEGRADED: ReadonlySet<Health> = new Set<Health>(["waiting", "restarting", "failed", "stopped"]);

export interface QueryHealth {
  readonly query: string;
  readonly health: Health;
  readonly progress: QueryProgress | undefined;
  readonly waiting: { readonly since: string; readonly attempts: number; readonly cause: string; readonly retryInMs: number } | undefined;
  readonly restarting: { readonly at: string; readonly attempt: number; readonly cause: string; readonly inMs: number } | undefined;
  /** Why it failed, for "failed". */
  readonly error: string | undefined;
  /** Lines InfluxDB refused since the runner started. */
  readonly refusedTotal: number;
  readonly lastRefusal:
    | {
        readonly at: string;
        readonly batchId: number;
        readonly lines: number;
        readonly status: number;
        readonly reason: string;
        readonly path: string | undefined;
      }
    | undefined;
  readonly lastWrite: { readonly at: string; readonly batchId: number; readonly lines: number } | undefined;
}

interface Found<K extends EventKind> {
  readonly index: number;
  readonly event: EventOf<K>;
}

/** The newest of the given kinds, with its position in the log (-1 when there is none). */
function newest<K extends EventKind>(events: readonly QueryEvent[], indexes: readonly number[], kinds: readonly K[]): Found<K> | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if ((kinds as readonly string[]).includes(event.event)) return { index: indexes[i]!, event: event as unknown as EventOf<K> };
  }
  return undefined;
}

const after = (a: { readonly index: number } | undefined, b: { readonly index: number } | undefined): boolean => a !== undefined && a.index > (b?.index ?? -1);

function healthOf(find: <K extends EventKind>(kinds: readonly K[]) => Found<K> | undefined): Health {
  const running = find(["query-started", "query-restarted", "query-progress", "query-idle"]);
  const restart = find(["query-restarting"]);
  // Spark's listener reports the termination asynchronously, often after the runner already
  // announced the restart: a failure does not hide a restart that follows it.
  if (after(restart, running)) return "restarting";
  const ended = find(["query-terminated", "query-stopped"]);
  if (ended !== undefined && after(ended, running)) return ended.event.event === "query-terminated" && ended.event.error !== undefined ? "failed" : "stopped";
  const wait = find(["influx-waiting"]);
  if (after(wait, find(["influx-recovered", "influx-written", "query-started", "query-restarted"]))) return "waiting";
  if (find(["query-progress"]) !== undefined) return "ok";
  return find(["query-idle"]) !== undefined ? "idle" : "no-progress";
}

export function queryHealth(query: string, events: readonly RunnerEvent[]): QueryHealth {
  const mine: QueryEvent[] = [];
  const indexes: number[] = [];
  events.forEach((event, index) => {
    if (isQueryEvent(event) && event.query === query) {
      mine.push(event);
      indexes.push(index);
    }
  });
  const find = <K extends EventKind>(kinds: readonly K[]): Found<K> | undefined => newest(mine, indexes, kinds);
  const health = healthOf(find);
  const progress = find(["query-progress"])?.event;
  const wait = find(["influx-waiting"])?.event;
  const restart = find(["query-restarting"]);
  const ended = find(["query-terminated"])?.event;
  const refusal = find(["influx-refused"])?.event;
  const written = find(["influx-written"])?.event;
  return {
    query,
    health,
    progress: progress === undefined ? undefined : toProgress(progress),
    waiting:
      health === "waiting" && wait !== undefined ? { since: wait.since, attempts: wait.attempt, cause: wait.cause, retryInMs: wait.retryInMs } : undefined,
    restarting:
      health === "restarting" && restart !== undefined
        ? { at: restart.event.at, attempt: restart.event.attempt, cause: restart.event.cause, inMs: restart.event.inMs }
        : undefined,
    error: health === "failed" ? ended?.error : undefined,
    refusedTotal: refusal?.refusedTotal ?? 0,
    lastRefusal:
      refusal === undefined
        ? undefined
        : { at: refusal.at, batchId: refusal.batchId, lines: refusal.lines, status: refusal.status, reason: refusal.reason, path: refusal.path },
    lastWrite: written === undefined ? undefined : { at: written.at, batchId: written.batchId, lines: written.lines },
  };
}

export type PipelineHealth = "healthy" | "degraded";

export interface PipelineVerdict {
  readonly health: PipelineHealth;
  /** What is not as it should be, one short phrase each. */
  readonly problems: readonly string[];
}

const PROBLEM: Partial<Record<Health, string>> = {
  waiting: "waits for InfluxDB",
  restarting: "is restarting after a failure",
  failed: "failed and is not restarted",
  stopped: "was stopped",
};

/**
 * Healthy when Livy runs the batch and no query waits, restarts, failed or stopped. A query with
 * no progress yet does not count: right after a start it is normal, and later it can only mean
 * its events left Livy's capped log buffer.
 */
export function pipelineHealth(batch: Batch, queries: readonly QueryHealth[]): PipelineVerdict {
  const problems: string[] = [];
  if (batch.state !== "running") problems.push(`Livy batch ${batch.id} is ${batch.state}, not running`);
  for (const q of queries) if (DEGRADED.has(q.health)) problems.push(`${q.query} ${PROBLEM[q.health]}`);
  // A sink whose newest batch InfluxDB refused in full writes nothing (a field type conflict
  // after a spec change, a retention policy shorter than the data): running, but not as it should.
  for (const q of queries) {
    const refusal = q.lastRefusal;
    if (refusal !== undefined && q.lastWrite !== undefined && refusal.batchId === q.lastWrite.batchId && q.lastWrite.lines === 0) {
      problems.push(`${q.query}: InfluxDB refused every point of its latest batch (${refusal.reason})`);
    }
  }
  return { health: problems.length === 0 ? "healthy" : "degraded", problems };
}
