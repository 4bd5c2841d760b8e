/** `start`: reads the spec and the options, starts the job (job/start.ts), then says how to follow it, or follows it in the foreground. */
import type { SupervisorRecord } from "../job/supervisor.js";
import { EXIT, ExitError, followEndExit } from "./exit-codes.js";
import { numberOption, type Output } from "./commands.js";
import { loadPlan, type SpecOptions } from "./pipeline-input.js";
import { follow } from "../job/monitor.js";
import { livyClient, pipelineArguments, stateDir, type JobOptions } from "../job/session.js";
import { startJob, type StartOptions } from "../job/start.js";
import { stopPipeline } from "../job/stop.js";

/** `start`'s options as the command line gives them. */
export interface StartCliOptions extends SpecOptions, JobOptions, Omit<StartOptions, "timeoutMs"> {
  readonly foreground?: boolean;
  /** With foreground: Ctrl-C stops the pipeline gracefully instead of detaching (the demo). */
  readonly stopOnInterrupt?: boolean;
  /** Seconds, as typed. */
  readonly timeout?: string;
}

/** The lifecycle's options from the command line's. */
export function startOptions(options: StartCliOptions): StartOptions {
  return { ...options, timeoutMs: numberOption(options.timeout ?? "300", "timeout", 1) * 1000 };
}

export function supervisionNote(supervisor: SupervisorRecord | undefined): string {
  return supervisor === undefined
    ? "  not supervised (--no-supervise): nothing submits it again if its job dies"
    : `  supervised: submitted again if its job dies (supervisor pid ${supervisor.pid}, log ${supervisor.logFile})`;
}

export async function startCommand(specFile: string | undefined, options: StartCliOptions, io: Output): Promise<number> {
  if (options.stopOnInterrupt === true && options.foreground !== true)
    throw new ExitError(EXIT.usage, "--stop-on-interrupt needs --foreground", "sensor-streaming start --foreground --stop-on-interrupt");
  const { plan } = loadPlan(specFile, options);
  const { state, supervisor } = await startJob(plan, specFile, startOptions(options), io);
  // The hints name this pipeline: without its spec they would show the default one.
  const which = pipelineArguments(specFile, options);
  if (options.foreground !== true) {
    io.out(`pipeline ${plan.pipeline} is running as Livy batch ${state.batchId}`);
    if (options.supervisedBy === undefined) io.out(supervisionNote(supervisor));
    io.out(`  follow it:  npx sensor-streaming status${which}   |   npx sensor-streaming logs -f${which}`);
    io.out(which === "" ? `  stop it:    ./stop-spark-streaming.sh  (or npx sensor-streaming stop)` : `  stop it:    npx sensor-streaming stop${which}`);
    return EXIT.ok;
  }
  const livy = livyClient(options);
  if (options.stopOnInterrupt === true) {
    io.err("Ctrl-C stops the pipeline gracefully (its running micro-batch finishes; the next start resumes from the checkpoints)");
    // Said at once, and every further Ctrl-C (or SIGTERM) while the stop runs is answered, not
    // obeyed: killing this process half way would leave the job running.
    let stopping = false;
    const onSignal = (): void => {
      io.err(stopping ? "still stopping gracefully; please wait" : "stopping gracefully: the running micro-batch finishes first");
      stopping = true;
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      // By the pipeline's name, not by reading the spec again: it may have been edited meanwhile;
      // with the stop's own default timeout, not the start's.
      const end = await follow(livy, state, stateDir(options), io, undefined, () => stopPipeline(state.pipeline, options, io));
      return followEndExit(end);
    } finally {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
  }
  io.err(`Ctrl-C detaches: the job keeps running (stop it with sensor-streaming stop${which})`);
  return followEndExit(await follow(livy, state, stateDir(options), io));
}
