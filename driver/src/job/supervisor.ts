/**
 * The supervisor brings a pipeline back when its Spark driver dies (killed, out of memory, the
 * machine restarted under Livy). Livy runs a batch once and Spark's client deploy mode has no
 * restart of its own, so one small process per pipeline watches the batch through Livy and, when
 * it has ended without anyone asking, submits the pipeline again. The new job resumes from the
 * checkpoints: nothing is lost, and nothing is written twice (Parquet commits per batch, InfluxDB
 * points are keyed by series and time).
 *
 * Who restarts what:
 * - a failing query: the runner restarts it alone, from its checkpoint (QuerySupervisor.java);
 * - a dead driver / ended batch: this supervisor, with capped exponential backoff;
 * - the supervisor itself: `start` launches it; it survives the terminal closing; on a machine
 *   restart, run `start` again (or a service manager's restart policy, see the README).
 * `stop` ends the supervisor first, then the job, so a stop is never undone.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { processAlive } from "../deploy/job-state.js";

export interface SupervisorRecord {
  readonly pipeline: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly logFile: string;
  /** When the process began (Linux: /proc/<pid>/stat), so a recycled pid is not taken for it. */
  readonly processStart?: string;
  readonly restarts: number;
  readonly lastRestartAt?: string;
  readonly lastCause?: string;
}

export function supervisorFile(stateDir: string, pipeline: string): string {
  return path.join(stateDir, `${pipeline}.supervisor.json`);
}

export function supervisorLog(stateDir: string, pipeline: string): string {
  return path.join(stateDir, `${pipeline}.supervisor.log`);
}

/** The start time of a process in clock ticks since boot, where /proc tells it. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22; the command name (field 2) is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The pipeline's supervisor when one is alive on this machine. */
export function liveSupervisor(stateDir: string, pipeline: string): SupervisorRecord | undefined {
  const file = supervisorFile(stateDir, pipeline);
  if (!existsSync(file)) return undefined;
  let record: SupervisorRecord;
  try {
    record = JSON.parse(readFileSync(file, "utf8")) as SupervisorRecord;
  } catch {
    return undefined;
  }
  if (record.host !== os.hostname() || !Number.isInteger(record.pid) || !processAlive(record.pid)) return undefined;
  // After a reboot the pid may belong to any other process.
  if (record.processStart !== undefined && processStart(record.pid) !== record.processStart) return undefined;
  return record;
}

export function writeSupervisorRecord(stateDir: string, record: SupervisorRecord): void {
  mkdirSync(stateDir, { recursive: true });
  const file = supervisorFile(stateDir, record.pipeline);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  // rename is atomic: a reader never sees half a record.
  renameSync(`${file}.tmp`, file);
}

export function clearSupervisorRecord(stateDir: string, pipeline: string, pid: number): void {
  const file = supervisorFile(stateDir, pipeline);
  try {
    const record = JSON.parse(readFileSync(file, "utf8")) as SupervisorRecord;
    if (record.pid === pid) rmSync(file, { force: true });
  } catch {
    // Gone already.
  }
}

/**
 * Starts a supervisor as a detached process that outlives the command that starts it (`command`:
 * the program and arguments that run `supervise` for this pipeline), unless one is alive already.
 * Its output goes to the supervisor log in the state folder.
 */
export function launchSupervisor(stateDir: string, pipeline: string, command: readonly [string, ...string[]]): SupervisorRecord | undefined {
  const running = liveSupervisor(stateDir, pipeline);
  if (running !== undefined) return running;
  mkdirSync(stateDir, { recursive: true });
  const logFile = supervisorLog(stateDir, pipeline);
  const logFd = openSync(logFile, "a");
  const [program, ...args] = command;
  const child = spawn(program, args, { detached: true, stdio: ["ignore", logFd, logFd], cwd: process.cwd(), env: process.env });
  child.unref();
  if (child.pid === undefined) return undefined;
  // Recorded now, not when the child gets to it: a `stop` right after this start must find it.
  const record: SupervisorRecord = {
    pipeline,
    pid: child.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    logFile,
    processStart: processStart(child.pid),
    restarts: 0,
  };
  writeSupervisorRecord(stateDir, record);
  return record;
}

/** Ends the pipeline's supervisor (SIGTERM) and waits until it has exited; false if none ran. */
export async function stopSupervisor(stateDir: string, pipeline: string, timeoutMs = 15_000): Promise<boolean> {
  const record = liveSupervisor(stateDir, pipeline);
  if (record === undefined) return false;
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(record.pid, name);
    } catch (error) {
      // Gone meanwhile, fine; another user's process is not ours to stop.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH")
        throw new Error(`cannot stop the supervisor (pid ${record.pid}): ${(error as Error).message}`, { cause: error });
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (processAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (processAlive(record.pid)) signal("SIGKILL");
  rmSync(supervisorFile(stateDir, pipeline), { force: true });
  return true;
}

/** What the supervisor sees of the job at one look. */
export type JobCheck =
  | { readonly kind: "running"; readonly batchId: number }
  /** No job runs; `why` says what happened to the last one, for the log. */
  | { readonly kind: "down"; readonly why: string }
  /** The job ended normally (a graceful stop, or every query finished): the supervisor ends too. */
  | { readonly kind: "finished"; readonly why: string }
  /** Livy did not answer: nothing can be known or done until it does. */
  | { readonly kind: "unknown"; readonly why: string };

/** What one look at Livy, the state folder and the driver's heartbeat found. */
export interface JobFacts {
  /** The pipeline's batch Livy runs, if any. */
  readonly runningBatch: number | undefined;
  /** `stop` was asked for (and no start since). */
  readonly stopped: boolean;
  /** The pipeline's newest batch Livy remembers. */
  readonly lastBatch: { readonly id: number; readonly state: string } | undefined;
  /** How long ago the driver wrote its heartbeat. */
  readonly heartbeatAgeMs: number | undefined;
}

/** A heartbeat older than this belongs to a driver that no longer runs (it beats every 5 s). */
export const HEARTBEAT_STALE_MS = 30_000;

/**
 * The verdict on one look; "down" still needs its reason (from the last batch's log), which the
 * caller reads only then.
 */
export function judgeJob(facts: JobFacts): Exclude<JobCheck, { kind: "down" }> | { readonly kind: "down" } {
  if (facts.runningBatch !== undefined) return { kind: "running", batchId: facts.runningBatch };
  if (facts.stopped) return { kind: "finished", why: "it was stopped (sensor-streaming stop)" };
  // A job that ended well (a graceful stop, or every available-now query caught up) stays ended.
  if (facts.lastBatch?.state === "success") return { kind: "finished", why: `Livy batch ${facts.lastBatch.id} ended normally` };
  // A driver that still beats (Livy restarted under it, or its end is not final yet) must not
  // get a twin writing to the same checkpoints.
  const beat = facts.heartbeatAgeMs;
  if (beat !== undefined && beat < HEARTBEAT_STALE_MS) {
    return {
      kind: "unknown",
      why:
        `Livy shows no running job of it, but its driver wrote a heartbeat ${Math.round(beat / 1000)} s ago: ` +
        "it runs outside Livy's view (was Livy restarted?); no second driver is started while it beats",
    };
  }
  return { kind: "down" };
}

export interface SupervisedJob {
  readonly pipeline: string;
  check(): Promise<JobCheck>;
  /** Submits the job again and returns its batch id; throws with the reason when it cannot. */
  restart(): Promise<number>;
}

export interface SupervisorTiming {
  readonly pollMs: number;
  readonly firstBackoffMs: number;
  readonly maxBackoffMs: number;
  /** A job that ran this long since its last restart starts the backoff from the beginning. */
  readonly stableMs: number;
}

export const DEFAULT_TIMING: SupervisorTiming = { pollMs: 5_000, firstBackoffMs: 5_000, maxBackoffMs: 5 * 60_000, stableMs: 10 * 60_000 };

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Watches the job until `signal` aborts. When it is down, restarts it after a backoff that doubles
 * with each restart that did not last (first, 2x, 4x ... up to the cap).
 */
export async function supervise(
  job: SupervisedJob,
  record: SupervisorRecord,
  save: (record: SupervisorRecord) => void,
  log: (line: string) => void,
  signal: AbortSignal,
  timing: SupervisorTiming = DEFAULT_TIMING,
): Promise<void> {
  let current = record;
  let failures = 0;
  let lastRestart = 0;
  let inDoubt: { since: number; why: string } | undefined;
  while (!signal.aborted) {
    const seen = await job.check().catch((error: unknown): JobCheck => ({ kind: "unknown", why: (error as Error).message }));
    if (seen.kind === "unknown") {
      // Said once per stretch of doubt, and again when the reason changes.
      if (inDoubt?.why !== seen.why) log(`cannot tell whether the job runs: ${seen.why}; waiting`);
      inDoubt = { since: inDoubt?.since ?? Date.now(), why: seen.why };
    } else {
      if (inDoubt !== undefined) log(`the job's state is known again after ${Math.round((Date.now() - inDoubt.since) / 1000)} s`);
      inDoubt = undefined;
    }
    if (seen.kind === "finished") {
      log(`pipeline ${job.pipeline} is not running: ${seen.why}; nothing to restart, the supervisor ends`);
      return;
    }
    if (seen.kind === "running" && lastRestart > 0 && Date.now() - lastRestart >= timing.stableMs) failures = 0;
    if (seen.kind === "down") {
      if (lastRestart > 0 && Date.now() - lastRestart >= timing.stableMs) failures = 0;
      const backoff = Math.min(timing.firstBackoffMs * 2 ** failures, timing.maxBackoffMs);
      failures += 1;
      log(`pipeline ${job.pipeline} is not running: ${seen.why}; restarting it in ${Math.round(backoff / 1000)} s (restart ${current.restarts + 1})`);
      await sleep(backoff, signal);
      if (signal.aborted) break;
      lastRestart = Date.now();
      try {
        const batchId = await job.restart();
        log(`restarted pipeline ${job.pipeline} as Livy batch ${batchId}`);
        current = { ...current, restarts: current.restarts + 1, lastRestartAt: new Date().toISOString(), lastCause: seen.why };
      } catch (error) {
        log(`restart failed: ${(error as Error).message}`);
        current = { ...current, lastCause: `${seen.why}; the restart failed: ${(error as Error).message}` };
      }
      save(current);
      continue;
    }
    await sleep(timing.pollMs, signal);
  }
}
