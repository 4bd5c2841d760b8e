/**
 * The driver remembers which Livy batch runs each pipeline in a small state file, so `status`,
 * `logs` and `stop` find it, and a second `start` refuses while it runs. The file can be stale
 * (batch finished, Livy restarted): callers check it against Livy.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface JobState {
  readonly pipeline: string;
  readonly batchId: number;
  readonly livyUrl: string;
  readonly target: string;
  readonly planFile: string;
  readonly stopFile: string;
  readonly sinks: readonly string[];
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
