/**
 * The driver remembers which Livy batch runs each pipeline in a small state file, so `status`,
 * `logs` and `stop` find it, and a second `start` refuses while it runs. The file can be stale
 * (batch finished, Livy restarted): callers check it against Livy.
 *
 * Beside it, `<pipeline>.lock` keeps two starts of one pipeline apart; it names the process that
 * holds it, so a lock left by a start that died (Ctrl-C, kill -9) is taken over at once.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface JobState {
  readonly pipeline: string;
  readonly batchId: number;
  readonly livyUrl: string;
  readonly target: string;
  readonly planFile: string;
  readonly stopFile: string;
  /** The staged runner jar, so the supervisor can submit the same staged plan again. */
  readonly jarFile?: string;
  readonly sinks: readonly string[];
  /** Window sinks' slide and watermark delay, for the live view's "first statistics at". */
  readonly windows?: Readonly<Record<string, { readonly slideMs: number; readonly delayMs: number }>>;
  readonly startedAt: string;
}

export const DEFAULT_STATE_DIR = ".local-stack/state";

export function stateFile(dir: string, pipeline: string): string {
  return path.join(dir, `${pipeline}.json`);
}

export function readJobState(dir: string, pipeline: string): JobState | undefined {
  const file = stateFile(dir, pipeline);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as JobState;
  } catch {
    return undefined;
  }
}

export function writeJobState(dir: string, state: JobState): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(stateFile(dir, state.pipeline), `${JSON.stringify(state, null, 2)}\n`);
}

export function clearJobState(dir: string, pipeline: string): void {
  rmSync(stateFile(dir, pipeline), { force: true });
}

export interface LockOwner {
  readonly pid: number;
  /** The machine of the process (the state folder may be shared); undefined in old lock files. */
  readonly host: string | undefined;
  readonly since: string | undefined;
}

export class LockHeldError extends Error {
  constructor(
    readonly file: string,
    readonly owner: LockOwner | undefined,
  ) {
    super(
      `${file} is held${
        owner === undefined
          ? ""
          : ` by process ${owner.pid}${owner.host === undefined ? "" : ` on ${owner.host}`}${owner.since === undefined ? "" : ` since ${owner.since}`}`
      }`,
    );
    this.name = "LockHeldError";
  }
}

/** A lock of a process on another machine cannot be checked; after this long it counts as left over. */
export const FOREIGN_LOCK_MAX_AGE_MS = 15 * 60_000;

export function lockFile(dir: string, pipeline: string): string {
  return path.join(dir, `${pipeline}.lock`);
}

function readOwner(file: string): LockOwner | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  // Locks of older versions hold only the pid, written on this machine.
  if (/^\d+\s*$/.test(text)) return { pid: Number(text.trim()), host: os.hostname(), since: undefined };
  try {
    const json = JSON.parse(text) as Partial<LockOwner>;
    return typeof json.pid === "number" ? { pid: json.pid, host: json.host, since: json.since } : undefined;
  } catch {
    return undefined;
  }
}

/** Signal 0 checks that a process exists without touching it; EPERM means it exists as another user's. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function leftOver(file: string, owner: LockOwner | undefined, alive: (pid: number) => boolean): boolean {
  if (owner !== undefined && owner.host === os.hostname()) return owner.pid !== process.pid && !alive(owner.pid);
  const written = statSync(file, { throwIfNoEntry: false });
  return written === undefined || Date.now() - written.mtimeMs > FOREIGN_LOCK_MAX_AGE_MS;
}

/**
 * Takes the pipeline's lock, or throws LockHeldError while a live process holds it. Returns the
 * function that releases it (only while it is still this process's lock).
 */
/**
 * Moves a left-over lock aside. Two starts may both find the same dead owner: the rename is
 * atomic, and a start that moved away a lock other than the one it judged (the other start's
 * fresh lock) puts it back and yields.
 */
function takeOver(file: string, judged: LockOwner | undefined): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const moved = readOwner(aside);
  if (moved?.pid !== judged?.pid || moved?.since !== judged?.since) {
    renameSync(aside, file);
    throw new LockHeldError(file, moved);
  }
  rmSync(aside, { force: true });
}

export function acquireLock(dir: string, pipeline: string, alive: (pid: number) => boolean = processAlive): () => void {
  mkdirSync(dir, { recursive: true });
  const file = lockFile(dir, pipeline);
  const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(me)}\n`, { flag: "wx" });
      return () => {
        if (readOwner(file)?.pid === me.pid) rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = readOwner(file);
      if (!leftOver(file, owner, alive)) throw new LockHeldError(file, owner);
      takeOver(file, owner);
    }
  }
  throw new LockHeldError(file, readOwner(file));
}

/**
 * The last job `start` staged for a pipeline: what the supervisor submits again when the job
 * dies. Kept apart from the job state, which a failed start clears, so that a restart that fails
 * once does not fall back to the spec on disk.
 */
export interface StagedJobRecord {
  readonly pipeline: string;
  readonly target: string;
  readonly planFile: string;
  readonly jarFile: string;
  readonly stopFile: string;
  readonly sinks: readonly string[];
  readonly windows?: JobState["windows"];
}

function stagedFile(dir: string, pipeline: string): string {
  return path.join(dir, `${pipeline}.staged.json`);
}

export function readStagedJob(dir: string, pipeline: string): StagedJobRecord | undefined {
  try {
    return JSON.parse(readFileSync(stagedFile(dir, pipeline), "utf8")) as StagedJobRecord;
  } catch {
    return undefined;
  }
}

export function writeStagedJob(dir: string, record: StagedJobRecord): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(stagedFile(dir, record.pipeline), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Written by `stop` before anything else and removed by the next submit of `start`: while it is
 * there, nothing submits the pipeline again, whatever Livy says about its last batch.
 */
function stoppedFile(dir: string, pipeline: string): string {
  return path.join(dir, `${pipeline}.stopped`);
}

export function markStopped(dir: string, pipeline: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(stoppedFile(dir, pipeline), `${new Date().toISOString()}\n`);
}

export function isStopped(dir: string, pipeline: string): boolean {
  return existsSync(stoppedFile(dir, pipeline));
}

export function clearStopped(dir: string, pipeline: string): void {
  rmSync(stoppedFile(dir, pipeline), { force: true });
}
