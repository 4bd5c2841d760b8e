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
  /** `start`: the pipeline already runs (use --replace). */
  alreadyRunning: 7,
  /** Livy cannot be reached. */
  livyUnreachable: 8,
  /** `start`: a query cannot resume from its checkpoint after the spec changed (see --fresh-state). */
  incompatibleCheckpoint: 9,
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
