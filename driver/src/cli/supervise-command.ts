/**
 * `supervise`: watch the pipeline's Livy batch and submit it again when it has died. `start`
 * launches it in the background (unless --no-supervise); `stop` ends it before stopping the job.
 */
import os from "node:os";
import { LivyError } from "../livy/livy-client.js";
import {
  clearSupervisorRecord,
  judgeJob,
  liveSupervisor,
  processStart,
  supervise,
  supervisorLog,
  writeSupervisorRecord,
  type JobCheck,
  type SupervisedJob,
  type SupervisorRecord,
} from "../job/supervisor.js";
import { isStopped, readJobState } from "../deploy/job-state.js";
import type { Output } from "./commands.js";
import { EXIT, ExitError } from "./exit-codes.js";
import { JobError } from "../job/errors.js";
import { HeartbeatUnknown, driverHeartbeatAge, lastBatch, lastBatchEnd, liveBatch, livyClient, stateDir } from "../job/session.js";
import { resubmit } from "../job/start.js";
import { startCommand, startOptions, type StartCliOptions } from "./start-command.js";
import { loadPlan } from "./pipeline-input.js";

export async function superviseCommand(specFile: string | undefined, options: StartCliOptions, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const dir = stateDir(options);
  const other = liveSupervisor(dir, plan.pipeline);
  if (other !== undefined && other.pid !== process.pid) {
    throw new ExitError(
      EXIT.alreadyRunning,
      `pipeline ${plan.pipeline} is already supervised by process ${other.pid} (log ${other.logFile})`,
      "one supervisor per pipeline is enough; sensor-streaming stop ends it",
    );
  }
  const record: SupervisorRecord = {
    pipeline: plan.pipeline,
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    logFile: supervisorLog(dir, plan.pipeline),
    processStart: processStart(process.pid),
    restarts: 0,
  };
  writeSupervisorRecord(dir, record);
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once("SIGTERM", abort);
  process.once("SIGINT", abort);
  const log = (line: string): void => io.out(`${new Date().toISOString()} ${line}`);
  const livy = livyClient(options);
  const job: SupervisedJob = {
    pipeline: plan.pipeline,
    check: async (): Promise<JobCheck> => {
      try {
        const { batch } = await liveBatch(livy, plan.pipeline, options);
        const last = batch === undefined ? await lastBatch(livy, plan.pipeline) : undefined;
        const verdict = judgeJob({
          runningBatch: batch?.id,
          stopped: isStopped(dir, plan.pipeline),
          lastBatch: last,
          heartbeatAgeMs: batch === undefined ? await driverHeartbeatAge(plan.pipeline, options) : undefined,
        });
        return verdict.kind === "down" ? { kind: "down", why: await lastBatchEnd(livy, last) } : verdict;
      } catch (error) {
        if (error instanceof LivyError) return { kind: "unknown", why: `Livy does not answer (${error.message})` };
        // Not knowing whether a driver beats is no ground for a second one: wait, as for Livy.
        if (error instanceof HeartbeatUnknown) return { kind: "unknown", why: error.message };
        throw error;
      }
    },
    restart: async (): Promise<number> => {
      const quiet: Output = { out: log, err: log };
      try {
        // The staged plan the job ran, as it ran; a full start only when none is left.
        const again = await resubmit(plan.pipeline, startOptions(options), quiet);
        if (again !== undefined) return again.batchId;
        log("no staged plan to submit again: starting from the spec");
        await startCommand(specFile, { ...options, foreground: false, supervisedBy: process.pid, replace: false }, quiet);
      } catch (error) {
        // The job may have come back by other hands meanwhile (a `start` by a person): fine.
        if (error instanceof JobError && error.failure === "already-running") log(error.message);
        else throw error;
      }
      return readJobState(dir, plan.pipeline)?.batchId ?? -1;
    },
  };
  log(`supervising pipeline ${plan.pipeline} (pid ${process.pid}); it is submitted again whenever its job dies`);
  try {
    await supervise(job, record, (r) => writeSupervisorRecord(dir, r), log, controller.signal);
  } finally {
    process.removeListener("SIGTERM", abort);
    process.removeListener("SIGINT", abort);
    clearSupervisorRecord(dir, plan.pipeline, process.pid);
  }
  log("supervisor stopped");
  return EXIT.ok;
}
