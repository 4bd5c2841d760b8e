/** Exit codes of `sensor-streaming`, documented in the README. */
import { JobError, type JobFailure } from "../job/errors.js";
import type { FollowEnd } from "../job/monitor.js";

export const EXIT = {
  ok: 0,
  /** A bug: an unexpected exception. */
  internal: 1,
  /** The spec (or profile) has problems; every one is printed. */
  invalidSpec: 2,
  /** A file could not be read or written. */
  fileError: 3,
  /** `compile --check`: the output folder differs from what the spec compiles to. */
  stale: 4,
  /** `start`: the job did not start (Livy refused it, or Spark failed before every query ran). */
  failedToStart: 5,
  /** `start --foreground`: the job started, then ended with an error. */
  jobFailed: 6,
  /** `start`: the pipeline already runs, or another start of it is in progress (use --replace). */
  alreadyRunning: 7,
  /**
   * Livy cannot be reached, or fails (HTTP 5xx) where an answer is needed, e.g. start's "is it
   * running?" check; the foreground view gives up with it after Livy stayed away for 2 minutes.
   */
  livyUnreachable: 8,
  /** `start`: a query cannot resume from its checkpoint after the spec changed (see --fresh-state). */
  incompatibleCheckpoint: 9,
  /**
   * `status`: the pipeline is not running at all (no live Livy batch). Like `systemctl status`,
   * status fails when the service is not running as it should, so a script can alert on it.
   */
  notRunning: 10,
  /**
   * `status`: the pipeline runs but not as it should: a sink waits for InfluxDB, InfluxDB refused
   * every point of a sink's latest batch, a query is restarting after a failure (or failed, or
   * stopped), or the Livy batch is not in state running.
   */
  degraded: 11,
  /**
   * `registry validate` and `registry upload`: the registry CSV is not what the pipeline can read
   * as meant (every problem is printed, nothing is written), or the spec's registry is not CSV.
   */
  invalidRegistry: 12,
  /** Interrupted by Ctrl-C (128 + SIGINT), as shells report it. */
  interrupted: 130,
  /** Terminated by SIGTERM (128 + SIGTERM). */
  terminated: 143,
  /** Unknown command or option. */
  usage: 64,
} as const;

/** An error that ends the command with a given exit code and a message for the user. */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "ExitError";
  }
}

/** The exit code of each way the job lifecycle can fail: the one place where failures become numbers. */
export const FAILURE_EXIT: Readonly<Record<JobFailure, number>> = {
  usage: EXIT.usage,
  "invalid-plan": EXIT.invalidSpec,
  file: EXIT.fileError,
  "failed-to-start": EXIT.failedToStart,
  "job-failed": EXIT.jobFailed,
  "already-running": EXIT.alreadyRunning,
  "livy-unreachable": EXIT.livyUnreachable,
  "incompatible-checkpoint": EXIT.incompatibleCheckpoint,
};

/** A lifecycle error as the CLI ends with it; other errors pass through unchanged. */
export function asExitError(error: unknown): unknown {
  return error instanceof JobError ? new ExitError(FAILURE_EXIT[error.failure], error.message, error.hint) : error;
}

/** The foreground view's end as an exit code: only a job that failed (and was not brought back) fails the command. */
export function followEndExit(end: FollowEnd): number {
  return end === "failed" ? EXIT.jobFailed : EXIT.ok;
}
