/**
 * What the job lifecycle reports when it cannot do what was asked. The lifecycle speaks of what
 * went wrong (a failure kind, a message, a hint); only the CLI turns that into an exit code
 * (cli/exit-codes.ts), so the same functions serve the supervisor, the benchmark and tests.
 */
export type JobFailure =
  /** An option or target the lifecycle cannot use. */
  | "usage"
  /** The plan cannot be bound to this environment (a variable is unset). */
  | "invalid-plan"
  /** A file or folder could not be read or written. */
  | "file"
  /** The job did not start: Livy refused it, staging failed, Spark failed before every query ran. */
  | "failed-to-start"
  /** The job started, then ended with an error (or Livy refused a request about it). */
  | "job-failed"
  /** The pipeline already runs, another start of it is in progress, or a driver runs outside Livy. */
  | "already-running"
  /** Livy cannot be reached, or fails where an answer is needed. */
  | "livy-unreachable"
  /** A query cannot resume from its checkpoint after the spec changed. */
  | "incompatible-checkpoint";

export class JobError extends Error {
  constructor(
    readonly failure: JobFailure,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "JobError";
  }
}

/** Where the lifecycle writes: results to out, progress and warnings to err. Functions, not methods: they are handed on as loggers. */
export interface Output {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}
