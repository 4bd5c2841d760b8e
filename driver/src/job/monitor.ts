/** The live view of `start --foreground`, and the per-query lines `status` prints. */
import { clearJobState, readJobState, type JobState } from "../deploy/job-state.js";
import { FINAL_STATES, LivyClient, LivyError, type Batch } from "../livy/livy-client.js";
import { LogCursor } from "../livy/log-cursor.js";
import { LivyOutage } from "../livy/livy-outage.js";
import { queryHealth, type Health, type QueryHealth } from "../livy/query-health.js";
import { isNotable, parseEvents, toProgress, type QueryProgress, type RunnerEvent } from "../livy/runner-events.js";
import { firstStatisticsAt, inAbout, type WindowTiming } from "./first-statistics.js";
import { JobError, type Output } from "./errors.js";
import { liveSupervisor } from "./supervisor.js";
import { clock, elapsed, failureReason, fullLog, livyFailure, sleep } from "./session.js";

export interface FollowTiming {
  /** Between two looks at Livy. */
  readonly pollMs: number;
  /** How long Livy has been away; the view gives up (livy-unreachable) once it exceeds its limit. */
  readonly outage: LivyOutage;
}

/** The batch and its log, or undefined for the batch when Livy no longer knows it. */
export async function readBatch(livy: LivyClient, id: number): Promise<{ batch: Batch | undefined; lines: string[] }> {
  const batch = await livy.find(id);
  return { batch, lines: batch === undefined ? [] : await fullLog(livy, id) };
}

/**
 * Reads the batch for the foreground view; while Livy is away or failing, undefined (the outage
 * is recorded) until it stayed away longer than the outage limit, which ends the view (livy-unreachable).
 */
export async function readThroughOutage(livy: LivyClient, id: number, outage: LivyOutage): Promise<{ batch: Batch | undefined; lines: string[] } | undefined> {
  try {
    const read = await readBatch(livy, id);
    outage.recovered();
    return read;
  } catch (error) {
    if (!(error instanceof LivyError)) throw error;
    if (!error.unavailable) throw livyFailure(error, "job-failed");
    outage.failed(error);
    if (!outage.exceeded) return undefined;
    throw new JobError(
      "livy-unreachable",
      `Livy has not answered since ${clock(outage.since!.toISOString())} (${elapsed(outage.since!.getTime())}): ${outage.cause}`,
      `the job may still run in Spark; once Livy is back: sensor-streaming status`,
    );
  }
}

/**
 * How the foreground view ended: the job succeeded, or failed (and no supervisor brought it back),
 * or the user detached, or the interruption's handler (the demo's stop) ran.
 */
export type FollowEnd = "succeeded" | "failed" | "detached" | "interrupted";

/**
 * The foreground view: job state and every query's progress until the job ends or Ctrl-C. Ctrl-C
 * detaches (the job keeps running), or, given `whenInterrupted`, hands over to it (the demo stops the
 * pipeline gracefully).
 */
export async function follow(
  livy: LivyClient,
  first: JobState,
  states: string,
  io: Output,
  timing: FollowTiming = { pollMs: 2000, outage: new LivyOutage() },
  whenInterrupted?: (state: JobState) => Promise<void>,
): Promise<FollowEnd> {
  let state = first;
  let detached = false;
  const onInterrupt = (): void => {
    detached = true;
  };
  // With a handler for the interruption (a stop), SIGTERM interrupts too: the job is not left behind.
  const signals = whenInterrupted === undefined ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) process.once(signal, onInterrupt);
  const screen = new LiveScreen(io);
  let cursor = new LogCursor();
  let view = "";
  /** When the job is gone and a supervisor lives, waits for the job it submits and follows that one. */
  const supervisorsNextJob = async (): Promise<JobState | undefined> => {
    const next = liveSupervisor(states, state.pipeline) === undefined ? undefined : await nextJob(state, states, timing.pollMs, () => detached);
    if (next !== undefined) {
      io.err(`the supervisor submitted the pipeline again as Livy batch ${next.batchId}; following it`);
      state = next;
      cursor = new LogCursor();
    }
    return next;
  };
  try {
    while (!detached) {
      const read = await readThroughOutage(livy, state.batchId, timing.outage);
      if (read === undefined) {
        screen.show(`${view}\n  Livy not answering since ${clock(timing.outage.since!.toISOString())}, retrying: ${timing.outage.cause}`.trimStart(), []);
        await sleep(timing.pollMs);
        continue;
      }
      if (read.batch === undefined) {
        io.err(`Livy no longer knows batch ${state.batchId} (Livy restarted, or the batch ended long ago)`);
        const next = await supervisorsNextJob();
        if (detached) break;
        if (next === undefined) {
          // Not cleared: the driver may run on unseen (its heartbeat tells stop and the supervisor).
          io.err("see sensor-streaming status");
          return "failed";
        }
        continue;
      }
      view = renderStatus(state, read.batch, parseEvents(read.lines));
      screen.show(view, cursor.next(read.lines).filter(isNotable));
      if (FINAL_STATES.includes(read.batch.state)) {
        if (read.batch.state === "success") {
          clearJobState(states, state.pipeline);
          return "succeeded";
        }
        io.err(`the job ended with an error (${read.batch.state}):\n${failureReason(read.lines)}`);
        const next = await supervisorsNextJob();
        if (detached) break;
        if (next === undefined) {
          clearJobState(states, state.pipeline);
          return "failed";
        }
      }
      await sleep(timing.pollMs);
    }
  } finally {
    for (const signal of signals) process.removeListener(signal, onInterrupt);
  }
  if (whenInterrupted !== undefined) {
    await whenInterrupted(state);
    return "interrupted";
  }
  io.out(`detached; the job keeps running as Livy batch ${state.batchId}. Stop it with: sensor-streaming stop`);
  return "detached";
}

/** Waits while the supervisor lives for the job it submits next; undefined when it gave up or the user detached. */
export async function nextJob(ended: JobState, states: string, pollMs: number, detached: () => boolean): Promise<JobState | undefined> {
  while (!detached() && liveSupervisor(states, ended.pipeline) !== undefined) {
    const now = readJobState(states, ended.pipeline);
    // Livy numbers batches from 0 again after a restart: the start time tells jobs apart.
    if (now !== undefined && (now.batchId !== ended.batchId || now.startedAt !== ended.startedAt)) return now;
    await sleep(pollMs);
  }
  return undefined;
}

/**
 * On a terminal the view is redrawn in place (cursor up, clear below); log lines that matter are
 * printed above it and stay. Elsewhere each changed view is printed once.
 */
export class LiveScreen {
  private last = "";
  private readonly terminal = process.stdout.isTTY === true;

  constructor(private readonly io: Output) {}

  show(view: string, notable: readonly string[]): void {
    if (view === this.last && notable.length === 0) return;
    if (this.terminal && this.last !== "") process.stdout.write(`\x1b[${this.last.split("\n").length}F\x1b[J`);
    for (const line of notable) this.io.out(`  log: ${line}`);
    this.io.out(view);
    this.last = view;
  }
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function cut(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function progressText(p: QueryProgress): string {
  return (
    `batch ${p.batchId}, ${p.numInputRows} rows, in ${p.inputRowsPerSecond.toFixed(1)}/s, ` +
    `processed ${p.processedRowsPerSecond.toFixed(1)}/s, ${p.batchDurationMs} ms` +
    `${p.watermark !== undefined && !p.watermark.startsWith("1970") ? `, watermark ${p.watermark}` : ""}${p.stateRows > 0 ? `, state rows ${p.stateRows}` : ""}`
  );
}

/** One phrase per health; a new health does not compile until it has its phrase. */
export const DESCRIBE: Readonly<Record<Health, (q: QueryHealth) => string>> = {
  ok: (q) => `${progressText(q.progress!)}${q.lastWrite === undefined ? "" : `, last write ${q.lastWrite.lines} lines at ${clock(q.lastWrite.at)}`}`,
  idle: () => "running, idle: nothing new to read since it started",
  "no-progress": () => "no progress yet",
  waiting: (q) => `waiting for InfluxDB since ${clock(q.waiting!.since)} (${plural(q.waiting!.attempts, "attempt")}; last: ${cut(q.waiting!.cause)})`,
  restarting: (q) => `failed, restarting (attempt ${q.restarting!.attempt}): ${cut(q.restarting!.cause)}`,
  failed: (q) => `failed: ${cut(q.error ?? "")}`,
  stopped: () => "stopped",
};

export function queryLines(q: QueryHealth, note = ""): string[] {
  const lines = [`  ${q.query.padEnd(20)} ${DESCRIBE[q.health](q)}`];
  if (q.refusedTotal > 0) lines.push(`  ${"".padEnd(20)} refused ${plural(q.refusedTotal, "line")} in total (last: ${cut(q.lastRefusal?.reason ?? "")})`);
  if (note !== "") lines.push(`  ${"".padEnd(20)} ${note}`);
  return lines;
}

/** How long after its due time the promise of the first statistics stays on the screen. */
const FIRST_STATISTICS_GRACE_MS = 60_000;

/** Query healths under which a promise of statistics means something. */
const PROMISING: ReadonlySet<Health> = new Set<Health>(["ok", "idle", "no-progress"]);

/**
 * For a window sink that has written nothing yet in this job: when its first statistics arrive
 * ("first statistics at 10:42, in about 6 minutes"), or before any reading, how long after the
 * first one at most. Said only while the log still begins with the job's start (Livy keeps the
 * last lines only: a long-running job's early writes may be gone from it) and the query runs as
 * it should; empty once it wrote, or a minute after the promised time (a backlog, or readings
 * that stopped, make the promise moot).
 */
export function firstStatisticsNote(q: QueryHealth, timing: WindowTiming | undefined, events: readonly RunnerEvent[], now = Date.now()): string {
  if (timing === undefined || !PROMISING.has(q.health) || !events.some((e) => e.event === "runner-started")) return "";
  if (events.some((e) => e.event === "influx-written" && e.query === q.query && e.lines > 0)) return "";
  const progress = events.flatMap((e) => (e.event === "query-progress" && e.query === q.query ? [toProgress(e)] : []));
  const at = firstStatisticsAt(progress, timing);
  if (at === undefined) return `first statistics at most ${duration(timing.slideMs + timing.delayMs)} after the first reading`;
  const left = at.getTime() - now;
  if (left < -FIRST_STATISTICS_GRACE_MS) return "";
  return `first statistics at ${clock(at.toISOString())}, ${inAbout(left)}`;
}

function duration(ms: number): string {
  return ms % 60_000 === 0 ? plural(ms / 60_000, "minute") : `${Math.round(ms / 1000)} s`;
}

export function renderStatus(state: JobState, batch: Batch | undefined, events: readonly RunnerEvent[]): string {
  const lines = [
    `pipeline ${state.pipeline}: Livy batch ${state.batchId} ${batch?.state ?? "gone"}, ` +
      `up ${elapsed(Date.parse(state.startedAt))}${batch?.appId ? `, ${batch.appId}` : ""}`,
  ];
  const ended = batch === undefined || FINAL_STATES.includes(batch.state);
  for (const sink of state.sinks) {
    const q = queryHealth(sink, events);
    lines.push(...queryLines(q, ended ? "" : firstStatisticsNote(q, state.windows?.[sink], events)));
  }
  return lines.join("\n");
}
