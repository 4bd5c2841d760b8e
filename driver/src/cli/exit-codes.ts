/** Exit codes of `sensor-streaming`, documented in the README. */
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
